"""Push end to end: the sandbox POSTs signed notifications to ``leadsync ingress``, the worker
hydrates and imports them into the account that connected their owner (``acme``, the
settings' account); with lost and duplicated notifications the scheduled pull fills in.

Real broker, database and sandbox; ``leadsync ingress``, ``leadsync worker`` and (for the
last test) ``leadsync scheduler`` run as subprocesses, as an operator runs them. The
assertions read the database as its owner (no row-level security) and name the account.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from harness.children import free_port
from harness.fault_check import PIPELINE_FAILURES
from harness.operator import stats_of_run
from harness.processes import Ingress, Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from linkedin import InMemoryTokenStore, LinkedInClient, Owner
from schemas.tokens import TokenPair
from tests.e2e.conftest import query, wait_for_runs

# Sponsored forms of the sandbox (seed 7), one per test so each test counts its own leads:
# ad accounts 1234567, 577211843 and 555981424.
ONCE_FORM = 7571309
TWICE_FORM = 7410233
DELETE_FORM = 7234246
PUSH_AND_PULL_FORM = 7767641
FORMS = (ONCE_FORM, TWICE_FORM, DELETE_FORM, PUSH_AND_PULL_FORM)

# A form of the ad account only Priya Raman holds a role on: no account of these tests
# connected her, so no account connected its owner.
UNROUTED_FORM = 7074601
UNROUTED_OWNER = "urn:li:sponsoredAccount:568816085"

# Error codes that would mean the push path lost a lead, rather than the lead being invalid.
PUSH_FAILURES = PIPELINE_FAILURES


@pytest.fixture(scope="module")
def push_settings(stack_settings: Settings) -> Settings:
    port = free_port()
    return stack_settings.model_copy(
        update={
            "ingress_port": port,
            "ingress_public_url": f"http://127.0.0.1:{port}/linkedin/webhook",
        }
    )


@pytest.fixture(scope="module")
def ingress(push_settings: Settings) -> Iterator[Ingress]:
    with Ingress(push_settings) as running:
        yield running


def for_account(settings: Settings, account: str) -> Settings:
    """The settings of a process or command acting for ``account`` (LEADSYNC_ACCOUNT)."""
    return settings.model_copy(update={"account": account})


def connect(settings: Settings, sandbox: Sandbox, member: str | None = None) -> None:
    """``leadsync linkedin connect`` for the settings' account, approved on LinkedIn's page
    by ``member`` (a person URN; the demo member when None)."""
    sandbox.control.post("/signin", json={"member": member}).raise_for_status()
    try:
        out = leadsync(settings, "linkedin", "connect")
    finally:
        sandbox.control.post("/signin", json={}).raise_for_status()
    assert "tokens stored encrypted" in out, out
    # The connection is the account's (row-level security keeps it there).
    assert query(
        settings,
        "SELECT count(*) FROM linkedin_connections c JOIN accounts a ON a.id = c.account_id"
        " WHERE a.name = %s AND c.status = 'active'",
        settings.account,
    ) == [(1,)]


def account_id(settings: Settings) -> int:
    """The id of the settings' account."""
    ((found,),) = query(settings, "SELECT id FROM accounts WHERE name = %s", settings.account)
    return int(found)


def account_rows(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """``query`` whose first parameter is the settings' account id."""
    return query(settings, sql, account_id(settings), *params)


@pytest.fixture(scope="module")
def subscribed(push_settings: Settings, sandbox: Sandbox, ingress: Ingress) -> None:
    """The account connected to LinkedIn, Import on for the test forms, owners subscribed to
    the receiver (the sandbox ran the challenge against it)."""
    assert push_settings.account == "acme"
    connect(push_settings, sandbox)
    for form_id in FORMS:
        leadsync(push_settings, "forms", "import", str(form_id), "on")
    out = leadsync(push_settings, "subscribe")
    assert out.count(f"-> {push_settings.ingress_public_url}") == 3, out
    # Idempotent: a second run finds them.
    assert leadsync(push_settings, "subscribe").count("already subscribed") == 3
    hooks = sandbox.control.get("/webhooks").json()
    assert len(hooks["subscriptions"]) == 3
    assert all(c["ok"] for c in hooks["challenges"]), hooks["challenges"]


def _create_leads(sandbox: Sandbox, form_id: int, count: int, rate: float) -> set[str]:
    """Have the sandbox create leads now (each pushes CREATED); returns their ids."""
    before = sandbox.lead_ids({form_id})
    job = sandbox.control.post("/leads", json={"count": count, "rate": rate, "formId": form_id})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    deadline = time.monotonic() + 60
    while not next(j for j in sandbox.control.get("/status").json()["jobs"] if j["id"] == job_id)[
        "done"
    ]:
        assert time.monotonic() < deadline, "the sandbox did not create the leads"
        time.sleep(0.2)
    sandbox.control.post("/pushes/flush").raise_for_status()
    created = sandbox.lead_ids({form_id}) - before
    assert len(created) == count
    return created


def _pushes(sandbox: Sandbox, lead_ids: set[str]) -> list[dict[str, Any]]:
    return [p for p in sandbox.control.get("/pushes").json()["pushes"] if p["lead_id"] in lead_ids]


def _settle(worker: Worker) -> None:
    """Every notification hydrated, every lead and error event imported."""
    worker.wait_caught_up(worker.settings.topics.notifications, 120)
    worker.settle(120)


def _outcome(settings: Settings, form_id: int) -> tuple[set[str], dict[str, str]]:
    """The form's imported lead ids in the settings' account, and its lead ids in the
    account's error log with their codes."""
    imported = {
        r[0]
        for r in account_rows(
            settings,
            "SELECT lead_id FROM imported_leads WHERE account_id = %s"
            " AND form_id = %s AND erased_at IS NULL",
            form_id,
        )
    }
    errors = {
        r[0]: r[1]
        for r in account_rows(
            settings,
            "SELECT lead_id, code FROM error_log WHERE account_id = %s"
            " AND form_id = %s AND lead_id IS NOT NULL",
            form_id,
        )
    }
    return imported, errors


def _assert_each_lead_once(settings: Settings, form_id: int, expected: set[str]) -> set[str]:
    """Every lead is a contact of the settings' account with one submission, or (invalid
    answers) in the account's error log."""
    imported, errors = _outcome(settings, form_id)
    assert not PUSH_FAILURES & set(errors.values()), Counter(errors.values())
    assert not imported & set(errors), "a lead both imported and rejected"
    assert imported | set(errors) == expected, (
        f"missing {len(expected - imported - set(errors))},"
        f" unexpected {len(imported | set(errors) - expected)}"
    )
    assert len(errors) < len(expected) * 0.1, Counter(errors.values())  # ~3 % invalid answers
    # Each imported lead points at a contact that exists (contacts are unique by e-mail; a
    # person who answered twice is one contact with the later answers).
    contacts = account_rows(
        settings,
        "SELECT l.lead_id, c.id IS NOT NULL FROM imported_leads l"
        " LEFT JOIN contacts c ON c.account_id = l.account_id AND c.id = l.contact_id"
        " WHERE l.account_id = %s AND l.lead_id = ANY(%s)",
        sorted(imported),
    )
    assert len(contacts) == len(imported)
    assert all(exists for _, exists in contacts)
    # One submission per contact and form, never two rows for one lead.
    submissions = account_rows(
        settings,
        "SELECT lead_id, count(*) FROM form_submissions"
        " WHERE account_id = %s AND form_id = %s GROUP BY lead_id",
        form_id,
    )
    assert all(n == 1 for _, n in submissions)
    assert {lead_id for lead_id, _ in submissions} <= imported
    people = account_rows(
        settings,
        "SELECT count(DISTINCT contact_id) FROM imported_leads"
        " WHERE account_id = %s AND lead_id = ANY(%s)",
        sorted(imported),
    )[0][0]
    assert len(submissions) == people
    return imported


def test_a_thousand_pushed_leads_each_become_a_contact_once(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    created = _create_leads(sandbox, ONCE_FORM, 1000, rate=500)
    pushes = _pushes(sandbox, created)
    assert len(pushes) == 1000
    assert {p["outcome"] for p in pushes} == {"delivered"}
    assert {p["status"] for p in pushes} == {200}
    _settle(worker)
    imported = _assert_each_lead_once(push_settings, ONCE_FORM, created)
    # Imported by push, into the account that connected the owner and nowhere else.
    origins = query(
        push_settings,
        "SELECT DISTINCT account_id, origin FROM imported_leads WHERE lead_id = ANY(%s)",
        sorted(imported),
    )
    assert origins == [(account_id(push_settings), "push")]


def test_every_notification_delivered_twice_still_imports_each_lead_once(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    sandbox.control.patch("/config", json={"push_faults": {"duplicate_rate": 1}}).raise_for_status()
    try:
        created = _create_leads(sandbox, TWICE_FORM, 1000, rate=500)
    finally:
        sandbox.control.patch("/config", json={"push_faults": {"duplicate_rate": 0}})
    pushes = _pushes(sandbox, created)
    assert Counter(p["lead_id"] for p in pushes if p["status"] == 200) == dict.fromkeys(created, 2)
    _settle(worker)
    _assert_each_lead_once(push_settings, TWICE_FORM, created)


def test_a_deleted_notification_erases_the_submission(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    no_invalid = {"generation": {"invalid_answer_rate": 0}}
    sandbox.control.patch("/config", json=no_invalid).raise_for_status()
    try:
        created = _create_leads(sandbox, DELETE_FORM, 6, rate=50)
    finally:
        sandbox.control.patch("/config", json={"generation": {"invalid_answer_rate": 0.03}})
    _settle(worker)
    assert _assert_each_lead_once(push_settings, DELETE_FORM, created) == created

    withdrawn = sorted(created)[:2]
    for lead_id in withdrawn:
        sandbox.control.delete(f"/leads/{lead_id}").raise_for_status()
    sandbox.control.post("/pushes/flush").raise_for_status()
    deleted = [p for p in _pushes(sandbox, set(withdrawn)) if p["action"] == "DELETED"]
    assert [p["status"] for p in deleted] == [200, 200]
    _settle(worker)

    remaining = account_rows(
        push_settings,
        "SELECT lead_id FROM form_submissions WHERE account_id = %s AND form_id = %s",
        DELETE_FORM,
    )
    assert {r[0] for r in remaining} == created - set(withdrawn)
    ledger = account_rows(
        push_settings,
        "SELECT lead_id, erased_at IS NOT NULL FROM imported_leads"
        " WHERE account_id = %s AND lead_id = ANY(%s)",
        sorted(created),
    )
    assert {lead_id for lead_id, erased in ledger if erased} == set(withdrawn)


def test_dropped_and_duplicated_notifications_are_made_whole_by_the_next_scheduled_pull(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    faults = {"drop_rate": 0.2, "duplicate_rate": 0.2}
    sandbox.control.patch("/config", json={"push_faults": faults}).raise_for_status()
    try:
        created = _create_leads(sandbox, PUSH_AND_PULL_FORM, 500, rate=500)
    finally:
        sandbox.control.patch(
            "/config", json={"push_faults": {"drop_rate": 0, "duplicate_rate": 0}}
        )
    pushes = _pushes(sandbox, created)
    delivered = Counter(p["lead_id"] for p in pushes if p["status"] == 200)
    lost = created - set(delivered)
    assert 50 < len(lost) < 150, f"about 20 % dropped: {len(lost)}"
    assert 50 < sum(1 for n in delivered.values() if n == 2) < 150, "about 20 % duplicated"
    _settle(worker)
    imported, errors = _outcome(push_settings, PUSH_AND_PULL_FORM)
    assert not lost & (imported | set(errors)), "a dropped notification was imported anyway"

    # The form's first scheduled pull covers the time since Import was switched on.
    with Scheduler(push_settings) as scheduler:
        (run,) = wait_for_runs(push_settings, {PUSH_AND_PULL_FORM}, 1, scheduler=scheduler)
        assert run[1] == "succeeded", run
        _settle(worker)
    _assert_each_lead_once(push_settings, PUSH_AND_PULL_FORM, created)
    imported, errors = _outcome(push_settings, PUSH_AND_PULL_FORM)
    (run_id,) = account_rows(
        push_settings,
        "SELECT id FROM sync_runs WHERE account_id = %s AND form_id = %s",
        PUSH_AND_PULL_FORM,
    )[0]
    stats = stats_of_run(push_settings, run_id)
    # The run reports exactly the leads only it brought in: the valid ones among the lost.
    assert stats.leads_in_ledger == len(lost & imported)
    assert stats.leads_in_ledger > 40
    # The lost leads with invalid answers are in the error log under the run. (Leads the push
    # had already rejected are rejected, and logged, again by any pull covering them.)
    rejected_by_run = query(
        push_settings, "SELECT lead_id FROM error_log WHERE sync_run_id = %s", run_id
    )
    assert lost & set(errors) <= {r[0] for r in rejected_by_run}
    assert stats.errors == len(rejected_by_run)
    by_run = query(
        push_settings, "SELECT lead_id FROM imported_leads WHERE sync_run_id = %s", run_id
    )
    assert {r[0] for r in by_run} == lost & imported


def _member_urn(sandbox: Sandbox, first_name: str) -> str:
    members = sandbox.state.catalog.members
    (urn,) = [urn for urn, m in members.items() if m.first_name == first_name]
    return urn


def _subscribe_behind_leadsync(
    settings: Settings, sandbox: Sandbox, member: str, owner_urn: str
) -> None:
    """Subscribe the receiver to an owner with a member's token that leadsync never
    stored: as a subscription left behind by an account that has since gone."""
    minted = sandbox.control.post("/tokens", json={"member": member})
    assert minted.status_code == 201, minted.text
    tokens = TokenPair(
        access_token=SecretStr(minted.json()["access_token"]),
        access_expires_at=time.time() + 3600,
    )

    async def subscribe() -> None:
        store = InMemoryTokenStore(tokens)
        async with LinkedInClient.from_settings(settings, store) as linkedin:
            done = await linkedin.subscribe(
                settings.ingress_public_url, Owner.from_urn(owner_urn), "SPONSORED"
            )
            assert done.created

    asyncio.run(subscribe())


def test_a_notification_for_an_owner_no_account_connected_is_acknowledged_and_counted(
    push_settings: Settings, sandbox: Sandbox, subscribed: None, worker: Worker
) -> None:
    priya = _member_urn(sandbox, "Priya")
    _subscribe_behind_leadsync(push_settings, sandbox, priya, UNROUTED_OWNER)
    # No account's connection reads the owner (routing's source), nor holds it.
    for table, column in (("connection_owners", "owner_urn"), ("ad_accounts", "urn")):
        assert query(
            push_settings, f"SELECT count(*) FROM {table} WHERE {column} = %s", UNROUTED_OWNER
        ) == [(0,)], "an account connected the owner: the test means one that none did"

    created = _create_leads(sandbox, UNROUTED_FORM, 5, rate=50)
    pushes = _pushes(sandbox, created)
    # Acknowledged: LinkedIn got its 200 for each, so it retries nothing.
    assert [(p["outcome"], p["status"]) for p in pushes] == [("delivered", 200)] * 5
    _settle(worker)

    ((notifications, last_lead_id, last_form_id),) = query(
        push_settings,
        "SELECT notifications, last_lead_id, last_form_id FROM unrouted_owners"
        " WHERE owner_urn = %s",
        UNROUTED_OWNER,
    )
    assert notifications == 5
    assert last_lead_id in created
    assert last_form_id == UNROUTED_FORM
    assert query(push_settings, "SELECT owner_urn FROM unrouted_owners") == [(UNROUTED_OWNER,)]
    # Imported nowhere, and no account's error (nor the operator's).
    for table in ("imported_leads", "skipped_leads", "form_submissions", "error_log"):
        rows = query(
            push_settings, f"SELECT lead_id FROM {table} WHERE lead_id = ANY(%s)", sorted(created)
        )
        assert rows == [], (table, rows)
    assert query(
        push_settings,
        "SELECT count(*) FROM pipeline_errors WHERE lead_id = ANY(%s)",
        sorted(created),
    ) == [(0,)]
    assert query(push_settings, "SELECT count(*) FROM forms WHERE id = %s", UNROUTED_FORM) == [(0,)]
    # The worker's log says so, naming the owner.
    said = [
        line
        for line in worker.log_path.read_text(errors="replace").splitlines()
        if "no account connected" in line
    ]
    assert any(UNROUTED_OWNER in line for line in said), worker.log_tail()
