"""What a form shows about its future, on the real database through the admin API: the
connection's refresh-token expiry (and the status's warnings), the scheduled pulls' backoff
after failures (and which forms the scheduler then finds due), and the retention warning."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg import AsyncConnection

from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.envelopes import SyncOptions, SyncTrigger
from schemas.linkedin import Lead
from sinks import sync_runs
from sinks.database import Database
from sinks.forms import register_from_leads
from tests.integration.admin_client import (
    AccountWithToken,
    admin_client,
    hold_for_session,
    new_account,
)
from tests.integration.produce import lead_for

Conn = AsyncConnection[tuple[Any, ...]]
SPONSORED = "urn:li:sponsoredAccount:1234567"
REVOKED = "the LinkedIn connection was revoked: the member must reconnect"


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings)


@pytest.fixture(scope="module")
async def client(settings: Settings, account: AccountWithToken) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings, account.token) as http:
        yield http


@pytest.fixture(scope="module")
async def pool(settings: Settings) -> AsyncIterator[Database]:
    async with Database.from_settings(settings, max_size=2) as database:
        yield database


@pytest.fixture
async def db(db: Conn, account: AccountWithToken) -> Conn:
    await hold_for_session(db, account.id)
    return db


async def _one(db: Conn, query: str, *params: Any) -> tuple[Any, ...]:
    cur = await db.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return row


async def _form(db: Conn, refresh_expires_at: datetime | None = None) -> tuple[int, int]:
    """A sponsored form with Import on, synced 25 hours ago (due), behind an active
    connection whose refresh token ends as given; (form, connection)."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [lead], auto_mappings)
    (connection_id,) = await _one(
        db,
        "INSERT INTO linkedin_connections (member_urn, access_token, access_expires_at,"
        " refresh_expires_at, updated_at) VALUES (%s, '\\x00', now() + interval '50 days', %s,"
        " now() - interval '1 day') RETURNING id",
        f"urn:li:person:{uuid.uuid4().hex[:10]}",
        refresh_expires_at,
    )
    await db.execute(
        "UPDATE forms SET owner_urn = %s, connection_id = %s, import_enabled = true,"
        " import_enabled_at = now() - interval '2 days', watermark = now() - interval '25 hours',"
        " last_synced_at = now() - interval '25 hours' WHERE id = %s",
        (SPONSORED, connection_id, form_id),
    )
    return form_id, connection_id


async def _get(client: httpx.AsyncClient, form_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/forms/{form_id}")
    assert response.status_code == 200, response.text
    form: dict[str, Any] = response.json()
    return form


# -- the refresh token ---------------------------------------------------------------------


@pytest.mark.parametrize(("days", "warning"), [(25, 30), (6, 7), (0.5, 1)])
async def test_the_form_shows_the_refresh_token_expiry_and_warns_before_it(
    client: httpx.AsyncClient, db: Conn, days: float, warning: int
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0)
    form_id, _ = await _form(db, expires)
    form = await _get(client, form_id)
    assert datetime.fromisoformat(form["connection_refresh_expires_at"]) == expires
    assert form["status"]["color"] == "yellow"
    reason = form["status"]["reason"]
    assert reason.startswith(
        f"The LinkedIn connection's refresh token expires on {expires:%Y-%m-%d %H:%M} UTC (in "
    )
    assert reason.endswith(f"; the {warning}-day warning): reconnect LinkedIn before then.")


async def test_a_refresh_token_far_off_is_green_and_an_ended_one_red(
    client: httpx.AsyncClient, db: Conn
) -> None:
    far, _ = await _form(db, datetime.now(UTC) + timedelta(days=31))
    assert (await _get(client, far))["status"]["color"] == "green"
    ended_at = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    ended, _ = await _form(db, ended_at)
    form = await _get(client, ended)
    assert form["connection_status"] == "active"  # nobody tried it yet: still red
    assert form["status"] == {
        "color": "red",
        "reason": f"The LinkedIn connection's refresh token expired on"
        f" {ended_at:%Y-%m-%d %H:%M} UTC: nothing can be pulled or fetched."
        " Reconnect LinkedIn to resume the periodic sync.",
    }


# -- the scheduled pulls' backoff ---------------------------------------------------------


async def _due(pool: Database, form_id: int) -> bool:
    async with pool.every_account() as conn:
        return any(due.form_id == form_id for due in await sync_runs.forms_due(conn))


async def _scheduled_run_fails(pool: Database, account: int, form_id: int, error: str) -> None:
    async with pool.account(account) as conn:
        run_id = await sync_runs.create_run(conn, form_id, SyncTrigger.SCHEDULE, SyncOptions())
        await sync_runs.finish_run(conn, run_id, error)


async def test_a_failed_scheduled_run_backs_off_doubling_and_a_success_ends_it(
    client: httpx.AsyncClient, db: Conn, pool: Database, account: AccountWithToken
) -> None:
    form_id, connection_id = await _form(db, datetime.now(UTC) + timedelta(days=300))
    await db.execute(
        "UPDATE linkedin_connections SET status = 'revoked', status_reason = %s WHERE id = %s",
        (REVOKED, connection_id),
    )
    assert await _due(pool, form_id)
    assert (await _get(client, form_id))["sync_backoff"] is None

    await _scheduled_run_fails(pool, account.id, form_id, REVOKED)
    form = await _get(client, form_id)
    backoff = form["sync_backoff"]
    failed_at = datetime.fromisoformat(backoff["last_failed_at"])
    assert timedelta(0) <= datetime.now(UTC) - failed_at < timedelta(minutes=1)
    assert (backoff["consecutive_failures"], backoff["last_error"]) == (1, REVOKED)
    assert datetime.fromisoformat(backoff["next_attempt_at"]) == failed_at + timedelta(minutes=5)
    # Not due again at the next tick: the failure waits its 5 minutes.
    assert not await _due(pool, form_id)

    # Five minutes later: due, fails again, waits 10.
    await db.execute(
        "UPDATE forms SET sync_retry_at = now() - interval '1 second' WHERE id = %s", (form_id,)
    )
    assert await _due(pool, form_id)
    await _scheduled_run_fails(pool, account.id, form_id, REVOKED)
    backoff = (await _get(client, form_id))["sync_backoff"]
    failed_at = datetime.fromisoformat(backoff["last_failed_at"])
    assert backoff["consecutive_failures"] == 2
    assert datetime.fromisoformat(backoff["next_attempt_at"]) == failed_at + timedelta(minutes=10)
    assert not await _due(pool, form_id)
    assert await _one(
        db,
        "SELECT count(*) FILTER (WHERE status = 'failed'), count(*) FROM sync_runs"
        " WHERE form_id = %s",
        form_id,
    ) == (2, 2)

    # A failed manual import neither adds a failure nor moves the next attempt.
    async with pool.account(account.id) as conn:
        manual = await sync_runs.create_run(conn, form_id, SyncTrigger.MANUAL, SyncOptions())
        await sync_runs.finish_run(conn, manual, REVOKED)
    assert (await _get(client, form_id))["sync_backoff"] == backoff

    # Never longer than the form's interval: a 1-hour form after 5 failures waits 1 hour.
    await db.execute(
        "UPDATE forms SET sync_interval_hours = 1, sync_failures = 4,"
        " sync_retry_at = now() - interval '1 second' WHERE id = %s",
        (form_id,),
    )
    await _scheduled_run_fails(pool, account.id, form_id, REVOKED)
    backoff = (await _get(client, form_id))["sync_backoff"]
    failed_at = datetime.fromisoformat(backoff["last_failed_at"])
    assert backoff["consecutive_failures"] == 5
    assert datetime.fromisoformat(backoff["next_attempt_at"]) == failed_at + timedelta(hours=1)

    # The member connects again: the form is due at once, whatever the backoff said.
    await db.execute(
        "UPDATE linkedin_connections SET status = 'active', status_reason = NULL,"
        " updated_at = now() + interval '1 second' WHERE id = %s",
        (connection_id,),
    )
    assert await _due(pool, form_id)
    async with pool.account(account.id) as conn:
        run_id = await sync_runs.create_run(conn, form_id, SyncTrigger.SCHEDULE, SyncOptions())
        await sync_runs.finish_run(conn, run_id)
    assert (await _get(client, form_id))["sync_backoff"] is None
    assert await _one(
        db,
        "SELECT sync_failures, sync_retry_at, sync_last_error FROM forms WHERE id = %s",
        form_id,
    ) == (0, None, None)


# -- retention ---------------------------------------------------------------------------


async def test_a_form_switched_on_with_older_leads_shows_when_they_are_lost_until_backfilled(
    client: httpx.AsyncClient, db: Conn, pool: Database, account: AccountWithToken
) -> None:
    form_id, _ = await _form(db, datetime.now(UTC) + timedelta(days=300))
    assert (await _get(client, form_id))["retention_warning"] is None
    # A lead was pushed 80 days ago while Import was off: LinkedIn deletes it in 10 days.
    submitted = (datetime.now(UTC) - timedelta(days=80)).replace(microsecond=0)
    await db.execute(
        "INSERT INTO skipped_leads (lead_id, form_id, origin, submitted_at)"
        " VALUES (%s, %s, 'push', %s)",
        (f"skipped-{uuid.uuid4().hex[:8]}", form_id, submitted),
    )
    warning = (await _get(client, form_id))["retention_warning"]
    lost = submitted + timedelta(days=90)
    assert warning["cause"] == "older_submissions"
    assert datetime.fromisoformat(warning["leads_lost_from"]) == lost
    assert f"they are lost from {lost:%Y-%m-%d %H:%M} UTC." in warning["reason"]

    # A manual import of all submissions ran since: nothing is left behind.
    async with pool.account(account.id) as conn:
        run_id = await sync_runs.create_run(
            conn, form_id, SyncTrigger.MANUAL, SyncOptions(all_submissions=True)
        )
        now = datetime.now(UTC)
        await sync_runs.start_run(conn, run_id, now - timedelta(days=90), now)
        await sync_runs.finish_run(conn, run_id)
    assert (await _get(client, form_id))["retention_warning"] is None


async def test_a_broken_connection_shows_when_the_leads_since_the_last_pull_are_lost(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id, connection_id = await _form(db, datetime.now(UTC) + timedelta(days=300))
    watermark = (datetime.now(UTC) - timedelta(days=60)).replace(microsecond=0)
    await db.execute("UPDATE forms SET watermark = %s WHERE id = %s", (watermark, form_id))
    assert (await _get(client, form_id))["retention_warning"] is None
    await db.execute(
        "UPDATE linkedin_connections SET status = 'revoked' WHERE id = %s", (connection_id,)
    )
    warning = (await _get(client, form_id))["retention_warning"]
    assert warning["cause"] == "pulls_blocked"
    assert datetime.fromisoformat(warning["leads_lost_from"]) == watermark + timedelta(days=90)
