"""Pulling from the LinkedIn sandbox: scheduled pulls, throttling, token expiry and revocation,
all for the account the operator acts for (LEADSYNC_ACCOUNT=acme)."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest

from harness.operator import account_id_of
from harness.processes import Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from harness.tcp_proxy import TcpProxy, database_through
from leadsync.settings import Settings
from tests.e2e.conftest import imported_and_logged, query, wait_for_runs
from tests.faults.flow import LogWatch


@pytest.fixture(scope="module")
def connected(stack_settings: Settings, sandbox: Sandbox) -> dict[str, list[int]]:
    """The operator connected LinkedIn (OAuth against the sandbox) and discovered the forms;
    returns the sponsored forms by ad account."""
    out = leadsync(stack_settings, "linkedin", "connect")
    member = sandbox.state.catalog.member_urn
    assert f"connected Demo Member ({member}, connection " in out, out
    assert ", account acme); tokens stored encrypted" in out
    # LinkedIn (OpenID Connect userinfo) named the member; no placeholder is stored; the
    # connection is the account's.
    assert query(
        stack_settings,
        "SELECT a.name, c.member_urn, c.member_name, c.status FROM linkedin_connections c"
        " JOIN accounts a ON a.id = c.account_id",
    ) == [("acme", member, "Demo Member", "active")]
    # Discovery recorded the forms in that account.
    assert query(stack_settings, "SELECT DISTINCT account_id FROM forms") == [
        (account_id_of(stack_settings),)
    ]
    rows = query(
        stack_settings,
        "SELECT owner_urn, id FROM forms WHERE owner_urn LIKE 'urn:li:sponsoredAccount:%%'"
        " AND connection_id IS NOT NULL AND state = 'PUBLISHED' ORDER BY owner_urn, id",
    )
    by_account: dict[str, list[int]] = {}
    for owner, form_id in rows:
        by_account.setdefault(owner, []).append(form_id)
    assert len(by_account) >= 2, f"the sandbox should offer two ad accounts: {rows}"
    return by_account


# In the sandbox (seed 7), form 7410233 of ad account 577211843 has had version 3 for 30 days
# and version 2 for 150; form 7571309 belongs to ad account 1234567.
MULTI_VERSION_FORM = 7410233
OTHER_ACCOUNT_FORM = 7571309


def _two_forms(connected: dict[str, list[int]]) -> set[int]:
    """Two forms of two ad accounts, one of them with leads of two versions."""
    owners = {f: a for a, forms in connected.items() for f in forms}
    assert owners[MULTI_VERSION_FORM] != owners[OTHER_ACCOUNT_FORM]
    return {MULTI_VERSION_FORM, OTHER_ACCOUNT_FORM}


def test_scheduled_pull_imports_every_lead_once_and_an_overlapping_pull_nothing_new(
    stack_settings: Settings, sandbox: Sandbox, connected: dict[str, list[int]], worker: Worker
) -> None:
    forms = _two_forms(connected)
    for form_id in forms:
        leadsync(stack_settings, "forms", "import", str(form_id), "on")
    # The last pull was 60 days ago: the next one covers the leads since then.
    query(
        stack_settings,
        "UPDATE forms SET watermark = now() - interval '60 days' WHERE id = ANY(%s)",
        sorted(forms),
    )
    for form_id in forms:
        sandbox.control.post(
            "/leads/preload", json={"count": 60, "spreadDays": 45, "formId": form_id}
        ).raise_for_status()
    expected = sandbox.lead_ids(forms)

    with Scheduler(stack_settings) as scheduler:
        runs = wait_for_runs(stack_settings, forms, 1, scheduler=scheduler)
        assert all(status == "succeeded" for _, status, _ in runs), runs
        worker.settle()
        imported, errors = imported_and_logged(stack_settings, *forms)
        # Every lead is either imported or, if its answers are invalid, in the error log.
        assert imported | errors == expected
        assert not imported & errors
        # The runs, the ledger and the contacts are the account's.
        acme = account_id_of(stack_settings)
        for table in ("sync_runs", "imported_leads", "form_submissions"):
            assert query(
                stack_settings,
                f"SELECT DISTINCT account_id FROM {table} WHERE form_id = ANY(%s)",
                sorted(forms),
            ) == [(acme,)], table
        versions = query(
            stack_settings,
            "SELECT DISTINCT form_id, form_version FROM form_submissions WHERE form_id = ANY(%s)",
            sorted(forms),
        )
        assert len(versions) >= 3, f"leads of two versions of a form expected: {versions}"
        submissions = query(
            stack_settings,
            "SELECT count(*), count(DISTINCT lead_id) FROM form_submissions"
            " WHERE form_id = ANY(%s)",
            sorted(forms),
        )
        contacts_before = query(stack_settings, "SELECT count(*) FROM contacts")

        # Two hours later the next scheduled pull overlaps the first window: nothing new.
        query(
            stack_settings,
            "UPDATE forms SET last_synced_at = now() - interval '25 hours' WHERE id = ANY(%s)",
            sorted(forms),
        )
        wait_for_runs(stack_settings, forms, 2, scheduler=scheduler)
        worker.settle()
    second = query(
        stack_settings,
        "SELECT r.leads_published, (SELECT count(*) FROM imported_leads l"
        "   WHERE l.sync_run_id = r.id) FROM sync_runs r"
        " WHERE r.form_id = ANY(%s) ORDER BY r.requested_at DESC LIMIT 2",
        sorted(forms),
    )
    assert all(imported_by_run == 0 for _, imported_by_run in second), second
    assert query(stack_settings, "SELECT count(*) FROM contacts") == contacts_before
    assert (
        query(
            stack_settings,
            "SELECT count(*), count(DISTINCT lead_id) FROM form_submissions"
            " WHERE form_id = ANY(%s)",
            sorted(forms),
        )
        == submissions
    )


def test_a_429_storm_slows_the_pull_down_but_loses_nothing(
    stack_settings: Settings, sandbox: Sandbox, connected: dict[str, list[int]], worker: Worker
) -> None:
    form_id = 7767641  # ad account 555981424
    leadsync(stack_settings, "forms", "import", str(form_id), "on")
    sandbox.control.post(
        "/leads/preload", json={"count": 150, "spreadDays": 5, "formId": form_id}
    ).raise_for_status()
    expected = sandbox.lead_ids({form_id})
    # Synced just now: the scheduler starts no run of its own for the operator's to wait on.
    query(stack_settings, "UPDATE forms SET last_synced_at = now() WHERE id = %s", form_id)
    # Small pages, so that the pull makes enough requests for the storm to hit some of them
    # (one page of 1,000 escapes a 35 % throttle two times in three).
    small_pages = stack_settings.model_copy(update={"pull_page_size": 10})
    sandbox.control.patch("/config", json={"faults": {"throttle_rate": 0.35}}).raise_for_status()
    try:
        with Scheduler(small_pages) as scheduler:
            out = leadsync(small_pages, "sync", str(form_id), "--all-submissions")
            assert out.strip().splitlines()[-1].startswith("succeeded"), scheduler.log_tail()
            worker.settle()
        # The storm was real: the puller was refused and waited before asking again.
        log = scheduler.log_path.read_text(errors="replace")
        assert ": 429 on attempt 1/5; retrying in" in log, scheduler.log_tail()
    finally:
        sandbox.control.patch("/config", json={"faults": {"throttle_rate": 0}})
    imported, errors = imported_and_logged(stack_settings, form_id)
    assert imported | errors == expected
    assert not imported & errors


def test_postgresql_away_while_a_run_executes_pauses_it_and_the_scheduler_carries_on(
    stack_settings: Settings, sandbox: Sandbox, connected: dict[str, list[int]], worker: Worker
) -> None:
    """The scheduler reaches PostgreSQL through a proxy that is cut just as an import is
    requested: the run waits (the process does not end, its health endpoint keeps
    answering) and ends once PostgreSQL is back, with every lead imported."""
    form_id = 7767641
    leadsync(stack_settings, "forms", "import", str(form_id), "on")
    query(stack_settings, "UPDATE forms SET last_synced_at = now() WHERE id = %s", form_id)
    server = urlsplit(stack_settings.database_conninfo())
    assert server.hostname is not None
    assert server.port is not None
    with TcpProxy(server.hostname, server.port) as proxy:
        proxied = database_through(stack_settings, proxy)
        with Scheduler(proxied) as scheduler:
            scheduler.wait_until_ready()
            watch = LogWatch(scheduler)
            proxy.outage()
            outcome: list[str] = []
            # The operator's command reaches PostgreSQL directly: only the scheduler is cut.
            operator = threading.Thread(
                target=lambda: outcome.append(leadsync(stack_settings, "sync", str(form_id))),
            )
            operator.start()
            watch.wait_for(" paused: ", 60)
            scheduler.check_running()
            proxy.recover()
            operator.join(180)
            assert outcome, f"leadsync sync did not end:\n{scheduler.log_tail()}"
            assert outcome[0].strip().splitlines()[-1].startswith("succeeded"), outcome[0]
            scheduler.check_running()
            worker.settle()
    expected = sandbox.lead_ids({form_id})
    imported, errors = imported_and_logged(stack_settings, form_id)
    assert imported | errors == expected
    assert not imported & errors


def test_an_expired_access_token_is_refreshed_without_the_operator(
    stack_settings: Settings, sandbox: Sandbox, connected: dict[str, list[int]], worker: Worker
) -> None:
    form_id = OTHER_ACCOUNT_FORM
    leadsync(stack_settings, "forms", "import", str(form_id), "on")
    before = query(stack_settings, "SELECT access_token FROM linkedin_connections")
    sandbox.control.post("/clock/advance", json={"seconds": 61 * 86_400}).raise_for_status()
    with Scheduler(stack_settings):
        out = leadsync(stack_settings, "sync", str(form_id))
    assert out.strip().splitlines()[-1].startswith("succeeded"), out
    after = query(stack_settings, "SELECT access_token, status FROM linkedin_connections")
    assert after[0][1] == "active"
    assert after[0][0] != before[0][0], "the access token should have been refreshed and stored"


def test_a_revoked_connection_fails_the_pull_and_says_why(
    stack_settings: Settings, sandbox: Sandbox, connected: dict[str, list[int]], worker: Worker
) -> None:
    form_id = OTHER_ACCOUNT_FORM
    leadsync(stack_settings, "forms", "import", str(form_id), "on")
    sandbox.control.post("/tokens/revoke", json={}).raise_for_status()
    with Scheduler(stack_settings):
        done = leadsync(stack_settings, "sync", str(form_id), returncode=1)
    assert "reconnect" in done
    ((status, reason),) = query(
        stack_settings, "SELECT status, status_reason FROM linkedin_connections"
    )
    assert status == "revoked"
    assert "reconnect" in reason
    ((run_status, run_error),) = query(
        stack_settings,
        "SELECT status, error FROM sync_runs WHERE form_id = %s ORDER BY requested_at DESC LIMIT 1",
        form_id,
    )
    assert run_status == "failed"
    assert "reconnect" in run_error
