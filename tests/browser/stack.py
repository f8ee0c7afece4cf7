"""The running stack the console's browser tests drive, and what an operator does on it.

One stack per test session: its own database and topic prefix, the LinkedIn sandbox (in a
thread of this process, its state at hand), and ``leadsync worker``, ``scheduler``,
``ingress`` and ``admin`` as child processes, as an operator runs them. The sandbox pushes
its webhooks to the ingress (the subscriptions point at ``ingress_public_url``), and sends a
member who approves leadsync back to the admin's ``/oauth/linkedin/callback``.

Accounts are made fresh for each test (unique names), so tests never see each other's
data: :func:`new_account` connects the sandbox's member to one through the OAuth flow
(``leadsync linkedin connect``), which discovers its forms, and makes a console user.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from pydantic import SecretStr

from harness.children import free_port
from harness.operator import migrate
from harness.processes import (
    Admin,
    Ingress,
    Scheduler,
    Worker,
    leadsync,
    leadsync_argv,
    settings_env,
)
from harness.sandboxes import Sandbox, serving
from harness.scratch import remove_leftovers, run_database
from leadsync.kafka.topics import ensure_topics
from leadsync.settings import Settings
from sandbox.config import GenerationConfig

# The reference form of the sandbox (seed 7): "Test Form" of ad account 1234567, whose
# version 1 has the reference's three Italian questions.
TEST_FORM_ID = 7234246

T = TypeVar("T")


# The first scheduled pull of a form whose Import went on (the puller, then the worker).
FIRST_PULL_TIMEOUT_S = 120


def call_in_thread(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a thread of its own, for what runs ``asyncio.run``: Playwright's
    sync API keeps its event loop marked as running in the test's thread, where asyncio.run
    refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@dataclass(frozen=True)
class ConsoleAccount:
    """An account made for one test: its LinkedIn member connected, its forms discovered,
    and a console user who signs in with ``email`` and ``password``."""

    name: str
    id: int
    token: str  # its API token (Bearer), for what a test does through the JSON API
    email: str
    password: str
    role: str  # the console user's: admin or member
    member_urn: str  # the LinkedIn member connected to it ("" when none is)
    # Its discovered forms: id -> name (Import off, as discovery leaves them).
    forms: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BrowserStack:
    settings: Settings
    sandbox: Sandbox
    worker: Worker
    scheduler: Scheduler
    ingress: Ingress
    admin: Admin

    @property
    def console_url(self) -> str:
        return self.admin.url

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` read as the database's owner (every account's rows)."""
        with psycopg.connect(self.settings.database_conninfo(), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def leadsync(self, *args: str, stdin: str | None = None) -> str:
        """``leadsync <args>`` with the stack's settings, expected to succeed; its output."""
        if stdin is None:
            return leadsync(self.settings, *args)
        done = subprocess.run(
            leadsync_argv(*args),
            env=settings_env(self.settings),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"leadsync {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def check_running(self) -> None:
        """Fail with the log's tail of any process that has exited."""
        for process in (self.worker, self.scheduler, self.ingress, self.admin):
            process.check_running()


@contextlib.contextmanager
def running_stack(base: Settings) -> Iterator[BrowserStack]:
    """The stack on a database and a topic prefix of its own, stopped and removed after."""
    prefix = f"{base.topic_prefix}-console-{uuid.uuid4().hex[:6]}"
    admin_port, ingress_port = free_port(), free_port()
    # Every generated lead is a new person, so "N leads" means N contacts in a test.
    distinct_people = GenerationConfig(duplicate_person_rate=0)
    with (
        serving(base, generation=distinct_people) as sandbox,
        run_database(base.database_conninfo()) as database_url,
    ):
        settings = base.model_copy(
            update={
                "database_url": SecretStr(database_url),
                "topic_prefix": prefix,
                "linkedin_api_url": f"{sandbox.url}/rest",
                "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
                "admin_port": admin_port,
                "oauth_redirect_url": f"http://127.0.0.1:{admin_port}/oauth/linkedin/callback",
                "ingress_port": ingress_port,
                "ingress_public_url": f"http://127.0.0.1:{ingress_port}/linkedin/webhook",
                # Runs requested from a page start within a second.
                "scheduler_tick_s": 1.0,
                # Tests share the sandbox's Test Form, each with a fresh account: the first
                # pull after Import goes on starts at that moment, not an hour before, so an
                # account gets only the leads of its own test (earlier tests' leads are older).
                "pull_overlap_minutes": 0,
            }
        )
        migrate(settings)
        ensure_topics(settings)
        try:
            with (
                Worker(settings) as worker,
                Scheduler(settings) as scheduler,
                Ingress(settings) as ingress,
                Admin(settings) as admin,
            ):
                yield BrowserStack(settings, sandbox, worker, scheduler, ingress, admin)
        finally:
            remove_leftovers(settings, [prefix], [settings.worker_app_id])


def new_account(
    stack: BrowserStack,
    name: str | None = None,
    member: str | None = None,
    role: str = "admin",
    connect: bool = True,
) -> ConsoleAccount:
    """A fresh account (``name`` made unique), ``member`` (a person URN; the sandbox's demo
    member when None) connected through the OAuth flow, its forms discovered, and a console
    user of ``role`` (admin or member) made with ``leadsync users add``. Without
    ``connect``: no LinkedIn member and no forms yet (``member_urn`` is empty)."""
    name = f"{name or 'acct'}-{uuid.uuid4().hex[:6]}"
    created = stack.leadsync("accounts", "create", name)
    token = created.rsplit("API token (shown once, keep it now):", 1)[1].split()[0]
    email = f"{name}@example.com"
    password = secrets.token_urlsafe(18)  # 24 characters; the console asks for 12 or more
    add_user = (
        *("users", "add", "--account", name, email),
        *("--role", role, "--password-stdin"),
    )
    # The user is made while the member connects: each command starts a whole interpreter.
    with ThreadPoolExecutor(max_workers=1) as pool:
        adding = pool.submit(stack.leadsync, *add_user, stdin=password + "\n")
        if connect:
            _connect(stack, name, member)
        adding.result()
    ((account_id,),) = stack.query("SELECT id FROM accounts WHERE name = %s", name)
    members = stack.query(
        "SELECT member_urn FROM linkedin_connections WHERE account_id = %s", account_id
    )
    forms = stack.query("SELECT id, name FROM forms WHERE account_id = %s ORDER BY id", account_id)
    return ConsoleAccount(
        name=name,
        id=int(account_id),
        token=token,
        email=email,
        password=password,
        role=role,
        member_urn=str(members[0][0]) if members else "",
        forms={int(form_id): str(form_name) for form_id, form_name in forms},
    )


def _connect(stack: BrowserStack, account: str, member: str | None) -> None:
    """``leadsync linkedin connect``: the sandbox's page approves as ``member`` at once."""
    stack.sandbox.control.post("/signin", json={"member": member}).raise_for_status()
    try:
        connected = stack.leadsync("linkedin", "connect", "--account", account, "--no-browser")
    finally:
        stack.sandbox.control.post("/signin", json={}).raise_for_status()
    assert "tokens stored encrypted" in connected, connected


def enable_import(stack: BrowserStack, account: ConsoleAccount, form_id: int) -> None:
    """Import on for the account's form and LinkedIn pushing its leads to the ingress (what
    the scheduler's next tick would do; done at once here)."""
    stack.leadsync("forms", "import", str(form_id), "on", "--account", account.name)
    stack.leadsync("subscribe", "--account", account.name)


def enable_test_form(stack: BrowserStack, account: ConsoleAccount) -> None:
    """Import on for the account's Test Form, and its first scheduled pull done: that pull
    starts an overlap before the moment Import went on, so it brings the leads other tests
    left in the sandbox's Test Form within the last hour. Once it is imported, the account's
    contacts change only with the leads the test makes."""
    enable_import(stack, account, TEST_FORM_ID)
    deadline = time.monotonic() + FIRST_PULL_TIMEOUT_S
    while not stack.query(
        "SELECT 1 FROM sync_runs WHERE account_id = %s AND form_id = %s"
        " AND status IN ('succeeded', 'failed')",
        account.id,
        TEST_FORM_ID,
    ):
        stack.check_running()
        assert time.monotonic() < deadline, "the first scheduled pull did not end"
        time.sleep(0.3)
    stack.worker.settle(FIRST_PULL_TIMEOUT_S)


def create_leads(stack: BrowserStack, form_id: int, count: int = 1, **options: Any) -> list[str]:
    """Leads that people leave in the form now, at the sandbox (each pushes CREATED to the
    ingress when the form's owner is subscribed); their ids. ``options``: the sandbox's
    ``testLead`` or ``invalidAnswers``."""
    made = stack.sandbox.control.post("/leads", json={"count": count, "formId": form_id, **options})
    assert made.status_code == 201, made.text
    stack.sandbox.control.post("/pushes/flush").raise_for_status()
    ids: list[str] = made.json()["ids"]
    return ids


def wait_for_leads(
    stack: BrowserStack, account: ConsoleAccount, lead_ids: list[str], timeout_s: float = 90
) -> None:
    """Wait until the worker has dealt with these leads for the account: each imported or in
    its error log."""
    stack.worker.wait_caught_up(stack.settings.topics.notifications, timeout_s)
    stack.worker.settle(timeout_s)
    deadline = time.monotonic() + timeout_s
    wanted = set(lead_ids)
    while True:
        done = stack.query(
            "SELECT lead_id FROM imported_leads WHERE account_id = %s AND lead_id = ANY(%s)"
            " UNION SELECT lead_id FROM error_log WHERE account_id = %s AND lead_id = ANY(%s)",
            account.id,
            list(wanted),
            account.id,
            list(wanted),
        )
        missing = wanted - {row[0] for row in done}
        if not missing:
            return
        stack.check_running()
        if time.monotonic() > deadline:
            raise AssertionError(
                f"leads not dealt with in {timeout_s:.0f} s: {sorted(missing)}\n"
                + stack.worker.log_tail()
            )
        time.sleep(0.3)
