"""Two accounts connected to one ad account (two LinkedIn members sharing it) each pull its
form for itself: a manual import of one account brings the form's leads into that account
only, with that account's run, through that account's connection; the other account's
import brings them into it, with its own run, and leaves the first's rows as they were."""

from __future__ import annotations

import time

import pytest

from cli.context import with_database
from harness.operator import account_id_of, ensure_account
from harness.processes import Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from sandbox.members import Member
from sinks.connections import PostgresTokenStore
from sinks.database import Database
from tests.e2e.conftest import query

# Ad account 1234567's form: the demo member manages the ad account, and Jonas Weber has a
# role on it too (sandbox/members.py).
FORM = 7571309
SECOND = "beta"


def _member(sandbox: Sandbox, first_name: str) -> Member:
    return next(m for m in sandbox.state.catalog.members.values() if m.first_name == first_name)


@pytest.fixture(scope="module")
def two_accounts(stack_settings: Settings, sandbox: Sandbox) -> tuple[Settings, Settings]:
    """acme connected the demo member, beta Jonas Weber (both discovered their forms)."""
    first = stack_settings  # LEADSYNC_ACCOUNT=acme
    ensure_account(stack_settings, SECOND)
    second = stack_settings.model_copy(update={"account": SECOND})
    out = leadsync(first, "linkedin", "connect")
    assert f"({sandbox.state.catalog.member_urn}, connection " in out, out
    jonas = _member(sandbox, "Jonas")
    # Jonas approves beta's sign-in (as his browser session would).
    sandbox.control.post("/signin", json={"member": jonas.urn}).raise_for_status()
    try:
        out = leadsync(second, "linkedin", "connect")
    finally:
        sandbox.control.post("/signin", json={}).raise_for_status()
    assert f"connected Jonas Weber ({jonas.urn}, connection " in out, out
    assert f", account {SECOND}); tokens stored encrypted" in out, out
    return first, second


def _ledger(settings: Settings) -> dict[int, set[tuple[str, object]]]:
    """(lead id, run id) of the form's ledger rows, by account."""
    rows = query(
        settings,
        "SELECT account_id, lead_id, sync_run_id FROM imported_leads WHERE form_id = %s",
        FORM,
    )
    found: dict[int, set[tuple[str, object]]] = {}
    for account_id, lead_id, run_id in rows:
        found.setdefault(account_id, set()).add((lead_id, run_id))
    return found


def _arrived(settings: Settings, account_id: int) -> set[str]:
    """The form's leads in the account: imported, or (invalid answers) in its error log."""
    rows = query(
        settings,
        "SELECT lead_id FROM imported_leads WHERE account_id = %s AND form_id = %s"
        " UNION SELECT lead_id FROM error_log WHERE account_id = %s AND form_id = %s",
        *(account_id, FORM) * 2,
    )
    return {lead_id for (lead_id,) in rows}


def _counts(settings: Settings, account_id: int) -> tuple[object, ...]:
    """What the account holds: runs, ledger rows, submissions, contacts, error-log lines."""
    ((*counts,),) = query(
        settings,
        "SELECT (SELECT count(*) FROM sync_runs WHERE account_id = a),"
        " (SELECT count(*) FROM imported_leads WHERE account_id = a),"
        " (SELECT count(*) FROM form_submissions WHERE account_id = a),"
        " (SELECT count(*) FROM contacts WHERE account_id = a),"
        " (SELECT count(*) FROM error_log WHERE account_id = a)"
        " FROM (SELECT %s::bigint AS a) AS account",
        account_id,
    )
    return tuple(counts)


def test_a_pull_of_one_account_writes_into_that_account_only(
    two_accounts: tuple[Settings, Settings], sandbox: Sandbox, worker: Worker
) -> None:
    first, second = two_accounts
    a, b = account_id_of(first), account_id_of(second)
    # Each account holds the form, through its own member's connection.
    held = query(
        first,
        "SELECT f.account_id, c.member_urn FROM forms f JOIN linkedin_connections c"
        " ON c.account_id = f.account_id AND c.id = f.connection_id"
        " WHERE f.id = %s ORDER BY f.account_id",
        FORM,
    )
    assert held == [(a, sandbox.state.catalog.member_urn), (b, _member(sandbox, "Jonas").urn)]
    for settings in (first, second):
        leadsync(settings, "forms", "import", str(FORM), "on")
    sandbox.control.post(
        "/leads/preload", json={"count": 40, "spreadDays": 5, "formId": FORM}
    ).raise_for_status()
    expected = sandbox.lead_ids({FORM})
    # Synced just now, in both accounts: the scheduler starts no run beside the operator's.
    query(first, "UPDATE forms SET last_synced_at = now() WHERE id = %s", FORM)
    (second_watermark,) = query(
        first, "SELECT watermark FROM forms WHERE account_id = %s AND id = %s", b, FORM
    )

    with Scheduler(first) as scheduler:
        out = leadsync(first, "sync", str(FORM), "--all-submissions")
        assert out.strip().splitlines()[-1].startswith("succeeded"), scheduler.log_tail()
        worker.settle()
        # Every lead is in the first account; the second holds nothing at all, and its
        # form is as it was (no run, counters at zero, watermark where it stood).
        assert _arrived(first, a) == expected
        assert _counts(first, b) == (0, 0, 0, 0, 0)
        assert query(
            first,
            "SELECT imported, updated, errors FROM form_counters"
            " WHERE account_id = %s AND form_id = %s",
            b,
            FORM,
        ) == [(0, 0, 0)]
        assert query(
            first, "SELECT watermark FROM forms WHERE account_id = %s AND id = %s", b, FORM
        ) == [second_watermark]
        first_ledger = _ledger(first)[a]
        first_counts = _counts(first, a)

        out = leadsync(second, "sync", str(FORM), "--all-submissions")
        assert out.strip().splitlines()[-1].startswith("succeeded"), scheduler.log_tail()
        worker.settle()

    # The second account got every lead too, once, with its own run.
    assert _arrived(second, b) == expected
    runs = query(
        first,
        "SELECT account_id, id, status FROM sync_runs WHERE form_id = %s ORDER BY account_id",
        FORM,
    )
    assert [(account_id, status) for account_id, _, status in runs] == [
        (a, "succeeded"),
        (b, "succeeded"),
    ]
    run_of = {account_id: run_id for account_id, run_id, _ in runs}
    ledger = _ledger(first)
    assert {run_id for _, run_id in ledger[a]} == {run_of[a]}
    assert {run_id for _, run_id in ledger[b]} == {run_of[b]}
    assert {lead for lead, _ in ledger[a]} == {lead for lead, _ in ledger[b]}
    # Nothing of the first account moved while the second imported.
    assert ledger[a] == first_ledger
    assert _counts(first, a) == first_counts
    # Two accounts, two contacts for each email.
    emails = query(
        first,
        "SELECT account_id, array_agg(email ORDER BY email) FROM contacts"
        " GROUP BY account_id ORDER BY account_id",
    )
    assert [account_id for account_id, _ in emails] == [a, b]
    assert emails[0][1] == emails[1][1]


def _scheduled_runs(settings: Settings, count: int, scheduler: Scheduler) -> dict[int, object]:
    """Wait until ``count`` scheduled runs of the form have ended; their ids by account (the
    runs must have succeeded)."""
    deadline = time.monotonic() + 120
    while True:
        rows = query(
            settings,
            "SELECT account_id, id, status, error FROM sync_runs WHERE form_id = %s"
            " AND trigger = 'schedule' AND status IN ('succeeded', 'failed')",
            FORM,
        )
        if len(rows) >= count:
            assert all(status == "succeeded" for _, _, status, _ in rows), rows
            return {account_id: run_id for account_id, run_id, _, _ in rows}
        assert time.monotonic() < deadline, f"{rows}\n{scheduler.log_tail()}"
        time.sleep(0.3)


def test_the_scheduler_pulls_the_form_of_each_account_for_that_account(
    two_accounts: tuple[Settings, Settings], sandbox: Sandbox, worker: Worker
) -> None:
    first, second = two_accounts
    a, b = account_id_of(first), account_id_of(second)
    for settings in (first, second):
        leadsync(settings, "forms", "import", str(FORM), "on")
    known = sandbox.lead_ids({FORM})
    sandbox.control.post(
        "/leads/preload", json={"count": 12, "spreadDays": 1, "formId": FORM}
    ).raise_for_status()
    new = sandbox.lead_ids({FORM}) - known
    # Due in both accounts: never synced on schedule, the last pull two days ago.
    query(
        first,
        "UPDATE forms SET last_synced_at = NULL, watermark = now() - interval '2 days'"
        " WHERE id = %s",
        FORM,
    )
    with Scheduler(first) as scheduler:
        runs = _scheduled_runs(first, 2, scheduler)
        worker.settle()
    assert set(runs) == {a, b}  # one run in each account
    for settings, account_id in ((first, a), (second, b)):
        assert new <= _arrived(settings, account_id)
        ledger = _ledger(settings)[account_id]
        assert {run for lead, run in ledger if lead in new} <= {runs[account_id]}
    assert query(
        first,
        "SELECT account_id, last_synced_at > now() - interval '5 minutes' FROM forms"
        " WHERE id = %s ORDER BY account_id",
        FORM,
    ) == [(a, True), (b, True)]


def _access_token(settings: Settings, account_id: int) -> str:
    """The account's stored LinkedIn access token, as the puller would load it."""

    async def load(db: Database) -> str:
        async with db.account(account_id) as conn:
            cur = await conn.execute("SELECT id FROM linkedin_connections")
            ((connection_id,),) = await cur.fetchall()
        tokens = await PostgresTokenStore(settings, db, account_id, connection_id).load()
        assert tokens is not None
        return tokens.access_token.get_secret_value()

    return with_database(settings, load)


def test_each_account_pulls_through_its_own_connection(
    two_accounts: tuple[Settings, Settings], sandbox: Sandbox, worker: Worker
) -> None:
    first, second = two_accounts
    a, b = account_id_of(first), account_id_of(second)
    for settings in (first, second):
        leadsync(settings, "forms", "import", str(FORM), "on")
    query(first, "UPDATE forms SET last_synced_at = now() WHERE id = %s", FORM)
    # Jonas revokes leadsync (the second account's member): the second account's pull
    # fails and says so; the first account's pull goes on with the demo member's tokens.
    revoked = sandbox.control.post("/tokens/revoke", json={"token": _access_token(second, b)})
    assert revoked.json() == {"revoked": 1}
    with Scheduler(first):
        failed = leadsync(second, "sync", str(FORM), returncode=1)
        assert "reconnect" in failed
        out = leadsync(first, "sync", str(FORM))
        assert out.strip().splitlines()[-1].startswith("succeeded"), out
    assert query(
        first,
        "SELECT account_id, status FROM linkedin_connections ORDER BY account_id",
    ) == [(a, "active"), (b, "revoked")]


def test_a_disabled_account_is_not_pulled_on_schedule(
    two_accounts: tuple[Settings, Settings], worker: Worker
) -> None:
    first, second = two_accounts
    a, b = account_id_of(first), account_id_of(second)
    leadsync(first, "accounts", "disable", SECOND)
    before = query(first, "SELECT count(*) FROM sync_runs WHERE account_id = %s", b)
    query(first, "UPDATE forms SET last_synced_at = NULL WHERE id = %s", FORM)  # due in both
    scheduled = "SELECT count(*) FROM sync_runs WHERE trigger = 'schedule' AND account_id = %s"
    (already,) = query(first, scheduled, a)
    with Scheduler(first) as scheduler:
        # The active account's run comes; then a few ticks more for the other's to show.
        _scheduled_runs(first, 3, scheduler)
        time.sleep(5 * first.scheduler_tick_s)
    assert query(first, scheduled, a) == [(already[0] + 1,)]
    assert query(first, "SELECT count(*) FROM sync_runs WHERE account_id = %s", b) == before
