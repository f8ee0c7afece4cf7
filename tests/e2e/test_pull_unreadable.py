"""A lead LinkedIn sends in a shape leadsync cannot read: the pull goes on, and the lead is
an error-log line of its form and run, not only a log message."""

from __future__ import annotations

from leadsync.settings import Settings
from tests.e2e.conftest import Sandbox, Scheduler, leadsync, query
from tests.e2e.test_pull import connected
from tests.integration.worker import Worker

__all__ = ["connected"]  # the fixture shared with the pull tests

FORM = 7767641  # ad account 555981424


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
        out = leadsync(stack_settings, "sync", str(FORM), "--all-submissions")
        assert out.strip().splitlines()[-1].startswith("succeeded"), scheduler.log_tail()
        worker.settle()

    ((run_id,),) = query(
        stack_settings,
        "SELECT id FROM sync_runs WHERE form_id = %s ORDER BY requested_at DESC LIMIT 1",
        FORM,
    )
    lines = query(
        stack_settings,
        "SELECT stage, code, origin, sync_run_id FROM error_log WHERE lead_id = %s",
        broken,
    )
    assert lines == [("pull", "unreadable_lead", "manual", run_id)]
    imported = {
        r[0]
        for r in query(
            stack_settings, "SELECT lead_id FROM imported_leads WHERE form_id = %s", FORM
        )
    }
    errors = {
        r[0]
        for r in query(stack_settings, "SELECT lead_id FROM error_log WHERE form_id = %s", FORM)
    }
    assert broken in errors
    assert broken not in imported
    assert imported | errors == expected  # the others imported, or (invalid answers) logged
    counted = query(stack_settings, "SELECT errors FROM form_counters WHERE form_id = %s", FORM)
    assert counted == [(len(errors),)]
