"""A revoked connection with the real scheduler and the LinkedIn sandbox: the scheduled pull
fails once and backs off (not a failed run every tick); after the backoff the next attempt
waits twice as long; the form shows the backoff, its red status and its retention warning."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from harness.processes import Scheduler, leadsync
from harness.sandboxes import Sandbox
from leadsync.api_tokens import new_token, token_hash
from leadsync.settings import Settings
from tests.e2e.conftest import query, wait_for_runs
from tests.integration.admin_client import admin_client

FORM = 7571309  # ad account 1234567 (sponsored: LinkedIn keeps its leads 90 days)
REVOKED = (
    "the LinkedIn connection was revoked: the member must reconnect (`leadsync linkedin connect`)"
)
TICKS_S = 4.0  # eight scheduler ticks of 0.5 s


def _runs(settings: Settings) -> list[tuple[object, ...]]:
    return query(
        settings,
        "SELECT trigger, status, error FROM sync_runs WHERE form_id = %s ORDER BY requested_at",
        FORM,
    )


async def test_a_revoked_connection_backs_off_instead_of_failing_every_tick(
    stack_settings: Settings, sandbox: Sandbox
) -> None:
    leadsync(stack_settings, "linkedin", "connect")
    leadsync(stack_settings, "forms", "import", str(FORM), "on")
    watermark = datetime.now(UTC) - timedelta(days=3)
    query(
        stack_settings,
        "UPDATE forms SET last_synced_at = now() - interval '25 hours', watermark = %s"
        " WHERE id = %s",
        watermark,
        FORM,
    )
    sandbox.control.post("/tokens/revoke", json={}).raise_for_status()

    with Scheduler(stack_settings) as scheduler:
        wait_for_runs(stack_settings, {FORM}, 1, scheduler=scheduler)
        await asyncio.sleep(TICKS_S)
        # One failed run, however many ticks passed: the form waits 5 minutes.
        assert _runs(stack_settings) == [("schedule", "failed", REVOKED)], scheduler.log_tail()
        ((failures, failed_at, retry_at, last_error),) = query(
            stack_settings,
            "SELECT sync_failures, sync_failed_at, sync_retry_at, sync_last_error FROM forms"
            " WHERE id = %s",
            FORM,
        )
        assert (failures, last_error) == (1, REVOKED)
        assert retry_at - failed_at == timedelta(minutes=5)

        # The five minutes pass: one more attempt, one more failure, then 10 minutes.
        query(
            stack_settings,
            "UPDATE forms SET sync_retry_at = now() - interval '1 second' WHERE id = %s",
            FORM,
        )
        wait_for_runs(stack_settings, {FORM}, 2, scheduler=scheduler)
        await asyncio.sleep(TICKS_S)
        assert _runs(stack_settings) == [("schedule", "failed", REVOKED)] * 2

    # The form, as the account's API shows it.
    token = new_token()
    query(
        stack_settings,
        "INSERT INTO account_tokens (account_id, token_sha256)"
        " SELECT id, %s FROM accounts WHERE name = %s",
        token_hash(token),
        stack_settings.account,
    )
    async with admin_client(stack_settings, token) as client:
        form = (await client.get(f"/api/forms/{FORM}")).json()
    backoff = form["sync_backoff"]
    failed_at = datetime.fromisoformat(backoff["last_failed_at"])
    assert (backoff["consecutive_failures"], backoff["last_error"]) == (2, REVOKED)
    assert datetime.fromisoformat(backoff["next_attempt_at"]) == failed_at + timedelta(minutes=10)
    assert form["status"]["color"] == "red"
    assert form["connection_status"] == "revoked"
    # The form had leads on LinkedIn before Import went on, and none was backfilled: their
    # loss comes first (before that of the leads since the last pull, 90 days after it).
    ((created,),) = query(
        stack_settings, "SELECT created_on_linkedin FROM forms WHERE id = %s", FORM
    )
    warning = form["retention_warning"]
    assert warning["cause"] == "older_submissions"
    assert datetime.fromisoformat(warning["leads_lost_from"]) == created + timedelta(days=90)
    assert created + timedelta(days=90) < watermark + timedelta(days=90)
