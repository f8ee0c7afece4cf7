"""The whole stack: real Kafka and PostgreSQL, the LinkedIn sandbox, leadsync's processes."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from leadsync.kafka.topics import ensure_topics
from leadsync.settings import Settings
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.server import ThreadedServer
from sandbox.state import SandboxState
from sinks.migrate import upgrade
from tests.integration.conftest import db, settings
from tests.integration.worker import LeadsyncProcess, Worker, settings_env
from tests.services import run_database

pytestmark = pytest.mark.integration


class Sandbox:
    """A sandbox served on a free loopback port, with its state at hand for assertions."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.server = ThreadedServer(create_app(state))
        self.url = self.server.start()
        self.control = httpx.Client(base_url=f"{self.url}/sandbox", timeout=60)

    def lead_ids(self, form_ids: set[int]) -> set[str]:
        return {
            lead.id
            for lead in self.state.store.all()
            if int(lead.form_urn.split(":")[-1].split(",")[0]) in form_ids
        }

    def close(self) -> None:
        self.control.close()
        self.server.stop()


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    config = SandboxConfig(
        seed=7,
        client_id=settings.linkedin_client_id,
        client_secret=settings.linkedin_client_secret,
    )
    running = Sandbox(SandboxState(config))
    yield running
    running.close()


@pytest.fixture(scope="module")
def stack_settings(settings: Settings, sandbox: Sandbox) -> Iterator[Settings]:
    """This module's settings: its own database and topics (e2e modules share sandbox lead
    ids and form ids, so they must not share data), pointed at this module's sandbox."""
    prefix = f"{settings.topic_prefix}-{uuid.uuid4().hex[:6]}"
    with run_database(settings.database_conninfo()) as database_url:
        module_settings = settings.model_copy(
            update={
                "database_url": SecretStr(database_url),
                "topic_prefix": prefix,
                "linkedin_api_url": f"{sandbox.url}/rest",
                "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
                "scheduler_tick_s": 0.5,
            }
        )
        upgrade(module_settings.database_conninfo())
        ensure_topics(module_settings)
        yield module_settings


def leadsync(stack_settings: Settings, *args: str, returncode: int = 0) -> str:
    """Run a leadsync command as an operator would, expecting its exit status; returns its
    output."""
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=settings_env(stack_settings),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == returncode, (
        f"leadsync {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    )
    return done.stdout


def query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` in the module's database (none for a statement without a result)."""
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def imported_and_logged(settings: Settings, *form_ids: int) -> tuple[set[str], set[str]]:
    """The lead ids of these forms in the ledger, and those in the error log."""
    forms = sorted(form_ids)
    imported = query(settings, "SELECT lead_id FROM imported_leads WHERE form_id = ANY(%s)", forms)
    logged = query(settings, "SELECT lead_id FROM error_log WHERE form_id = ANY(%s)", forms)
    return {row[0] for row in imported}, {row[0] for row in logged}


class Scheduler(LeadsyncProcess):
    """``leadsync scheduler`` as a subprocess."""

    command = "scheduler"


def wait_for_runs(
    settings: Settings,
    form_ids: set[int],
    count: int,
    timeout_s: float = 120,
    scheduler: Scheduler | None = None,
) -> list[tuple[object, ...]]:
    """Wait until the forms have ``count`` ended runs each; returns (form, status, error)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT form_id, status, error FROM sync_runs WHERE form_id = ANY(%s)"
                " AND status IN ('succeeded', 'failed') ORDER BY finished_at",
                (sorted(form_ids),),
            ).fetchall()
            per_form = {f: sum(1 for r in rows if r[0] == f) for f in form_ids}
            if all(n >= count for n in per_form.values()):
                return rows
            if time.monotonic() > deadline:
                tail = scheduler.log_tail() if scheduler else ""
                raise AssertionError(f"sync runs did not end: {rows}\n{tail}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def worker(stack_settings: Settings) -> Iterator[Worker]:
    with Worker(stack_settings) as running:
        yield running


__all__ = ["db", "settings"]
