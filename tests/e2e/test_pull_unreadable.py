"""A lead LinkedIn sends in a shape leadsync cannot read: the pull goes on, and the lead is
an error-log line of its form and run, not only a log message."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

from harness.operator import account_id_of
from harness.processes import Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from tests.e2e.conftest import imported_and_logged, query
from tests.e2e.test_pull import connected

__all__ = ["connected"]  # the fixture shared with the pull tests

FORM = 7767641  # ad account 555981424


def _hold_the_worker_while_pulling(settings: Settings, worker: Worker) -> None:
    """Stop the worker once the operator's run is recorded (before the puller can publish
    anything), and let it go a second after the run has ended: later than the command would
    have printed its counts without waiting for the imports (it looks every 0.5 s), well
    within the 5 s it waits for counts to move, and the hold well within the worker's 6 s
    Kafka session (measured: ~2 s)."""
    assert worker.process is not None

    def runs(status: str | None = None) -> list[tuple[object, ...]]:
        return query(
            settings,
            "SELECT id FROM sync_runs WHERE form_id = %s AND status = coalesce(%s, status)",
            FORM,
            status,
        )

    deadline = time.monotonic() + 60
    while not runs() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runs(), "the operator's run was never recorded"
    worker.process.send_signal(signal.SIGSTOP)
    try:
        assert imported_and_logged(settings, FORM) == (set(), set()), "held too late"
        while not runs("succeeded") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runs("succeeded"), "the run never ended"
        time.sleep(1.0)
    finally:
        worker.process.send_signal(signal.SIGCONT)


def test_an_unreadable_lead_is_logged_for_its_form_and_run_and_the_others_come_in(
    stack_settings: Settings, sandbox: Sandbox, connected: dict[str, list[int]], worker: Worker
) -> None:
    leadsync(stack_settings, "forms", "import", str(FORM), "on")
    sandbox.control.post(
        "/leads/preload", json={"count": 20, "spreadDays": 2, "formId": FORM}
    ).raise_for_status()
    expected = sandbox.lead_ids({FORM})
    broken = sorted(expected)[0]
    # LinkedIn answers with a question id that is not a number: the lead cannot be parsed.
    record = sandbox.state.store.get(broken)
    assert record is not None
    record.answers = [{"questionId": "first-name", "answerDetails": {}}]
    record._cached_for = None
    # Synced just now: the scheduler starts no run of its own beside the operator's.
    query(stack_settings, "UPDATE forms SET last_synced_at = now() WHERE id = %s", FORM)

    with Scheduler(stack_settings) as scheduler:
        # The worker is held until a moment after the puller has published everything: the
        # command's last line can then hold the imports only if it waits for them.
        assert not query(stack_settings, "SELECT 1 FROM sync_runs WHERE form_id = %s", FORM)
        with ThreadPoolExecutor(1) as pool:
            hold = pool.submit(_hold_the_worker_while_pulling, stack_settings, worker)
            out = leadsync(stack_settings, "sync", str(FORM), "--all-submissions")
            hold.result()  # its assertions count
        assert out.strip().splitlines()[-1].startswith("succeeded"), scheduler.log_tail()
        worker.settle()

    ((run_id,),) = query(
        stack_settings,
        "SELECT id FROM sync_runs WHERE form_id = %s ORDER BY requested_at DESC LIMIT 1",
        FORM,
    )
    lines = query(
        stack_settings,
        "SELECT account_id, stage, code, origin, sync_run_id FROM error_log WHERE lead_id = %s",
        broken,
    )
    # In the error log of the run's account.
    acme = account_id_of(stack_settings)
    assert lines == [(acme, "pull", "unreadable_lead", "manual", run_id)]
    imported, errors = imported_and_logged(stack_settings, FORM)
    assert broken in errors
    assert broken not in imported
    assert imported | errors == expected  # the others imported, or (invalid answers) logged
    # The unreadable lead is no configuration mistake: counted apart from "total errors".
    counted = query(
        stack_settings,
        "SELECT errors, unreadable_errors FROM form_counters WHERE form_id = %s",
        FORM,
    )
    assert counted == [(len(errors) - 1, 1)]
    # The command waited for the run's leads to be imported: its last line is the outcome,
    # not a snapshot of leads still on their way.
    ((published,),) = query(
        stack_settings, "SELECT leads_published FROM sync_runs WHERE id = %s", run_id
    )
    assert out.strip().splitlines()[-1] == (
        f"succeeded: {published} leads published, {len(imported)} contacts imported,"
        f" 0 updated, {len(errors)} errors"
    )
