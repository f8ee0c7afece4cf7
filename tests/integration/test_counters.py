"""Counters as the seed defines them, on the real broker and database, through the worker and
the admin API: "total errors" counts configuration failures only, the other kinds are counted
and logged apart; the counters reset only when an accepted manual import starts, whatever
the door (API or command line)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg import AsyncConnection

from harness.processes import Worker, leadsync
from leadsync.kafka.producing import publish_all
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.envelopes import SyncOptions, SyncTrigger
from schemas.events import ErrorEvent
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
from tests.integration.produce import envelope, lead_for, publish_raw

Conn = AsyncConnection[tuple[Any, ...]]

# Every code leadsync writes today, and its kind (the database derives it, in one place).
KINDS = {
    "identity_not_mapped": "configuration",
    "identity_missing": "configuration",
    "invalid_value": "configuration",
    "field_missing": "configuration",
    "field_not_mappable": "configuration",
    "connection_revoked": "connection",
    "connection_expired": "connection",
    "no_connection": "connection",
    "owner_not_readable": "connection",
    "connection.expiring": "connection",
    "linkedin_error": "linkedin",
    "lead_not_found": "linkedin",
    "unreadable_lead": "unreadable",
    "undecodable_record": "unreadable",
    "undecodable_notification": "unreadable",
    "undecodable_error_event": "unreadable",
    "invalid_notification": "unreadable",
    "form_version_unknown": "unreadable",
    "internal_error": "internal",
    "no_account": "internal",
    "unknown_account": "internal",
    "a_code_nobody_knows": "internal",
}


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings)


@pytest.fixture(scope="module")
async def client(settings: Settings, account: AccountWithToken) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings, account.token) as http:
        yield http


@pytest.fixture
async def db(db: Conn, account: AccountWithToken) -> Conn:
    await hold_for_session(db, account.id)
    return db


async def _form(db: Conn, *, enabled: bool = True) -> int:
    """A form discovered from the example lead (email mapped), Import as given."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [lead], auto_mappings)
    await db.execute(
        "UPDATE forms SET import_enabled = %s, import_enabled_at = CASE WHEN %s THEN now() END,"
        " watermark = CASE WHEN %s THEN now() END"
        " WHERE id = %s AND account_id = leadsync_account()",
        (enabled, enabled, enabled, form_id),
    )
    return form_id


async def _one(db: Conn, query: str, *params: Any) -> tuple[Any, ...]:
    cur = await db.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return row


def _error_event(account: int, form_id: int, lead_id: str, stage: str, code: str) -> ErrorEvent:
    """An error event as the hydrator or the puller publishes it."""
    return ErrorEvent(
        error_id=uuid.uuid5(uuid.NAMESPACE_URL, f"test:{lead_id}:{code}"),
        occurred_at=datetime.now(UTC),
        stage=stage,
        code=code,
        message=f"{code} for lead {lead_id}",
        account_id=account,
        form_id=form_id,
        lead_id=lead_id,
        origin="push",
    )


def _publish_errors(settings: Settings, *events: ErrorEvent) -> None:
    publish_all(
        settings,
        settings.topics.errors,
        [(str(e.form_id).encode(), e.model_dump_json().encode()) for e in events],
    )


async def test_each_error_code_has_its_kind(db: Conn) -> None:
    cur = await db.execute(
        "SELECT code, leadsync_error_kind(code) FROM unnest(%s::text[]) AS code", (list(KINDS),)
    )
    assert dict(await cur.fetchall()) == KINDS


async def test_total_errors_count_configuration_failures_only_and_the_rest_apart(
    settings: Settings,
    worker: Worker,
    db: Conn,
    client: httpx.AsyncClient,
    account: AccountWithToken,
) -> None:
    form_id = await _form(db)
    tag = uuid.uuid4().hex[:8]
    # Configuration: two invalid emails and a lead without one, through the import.
    invalid = [f"invalid-{n}-{tag}" for n in range(2)]
    missing = f"missing-{tag}"
    publish_raw(
        settings,
        *(
            envelope(lead_for(lead, "not-an-email", form_id=form_id), account_id=account.id)
            for lead in invalid
        ),
        envelope(lead_for(missing, "   ", form_id=form_id), account_id=account.id),
    )
    # The rest as the hydrator and the puller report them: a revoked connection (two
    # leads), a lead LinkedIn lost, one it sent unreadable, and leadsync's own failure.
    revoked = [f"revoked-{n}-{tag}" for n in range(2)]
    others = {
        f"lost-{tag}": ("hydrate", "lead_not_found"),
        f"unreadable-{tag}": ("pull", "unreadable_lead"),
        f"internal-{tag}": ("import", "internal_error"),
    }
    events = [
        _error_event(account.id, form_id, lead, "hydrate", "connection_revoked") for lead in revoked
    ]
    events += [_error_event(account.id, form_id, lead, *what) for lead, what in others.items()]
    _publish_errors(settings, *events)
    worker.settle()

    form = (await client.get(f"/api/forms/{form_id}")).json()
    assert form["counters"]["errors"] == 3
    assert form["counters"]["errors_by_kind"] == {
        "configuration": 3,
        "connection": 2,
        "linkedin": 1,
        "unreadable": 1,
        "internal": 1,
    }
    assert await _one(
        db,
        "SELECT errors, connection_errors, linkedin_errors, unreadable_errors, internal_errors"
        " FROM form_counters WHERE form_id = %s",
        form_id,
    ) == (3, 2, 1, 1, 1)

    # The same revoked lead again (the next push, a pull): logged and counted once.
    _publish_errors(
        settings,
        _error_event(account.id, form_id, revoked[0], "pull", "connection_revoked").model_copy(
            update={"error_id": uuid.uuid4()}
        ),
    )
    worker.settle()
    again = (await client.get(f"/api/forms/{form_id}")).json()["counters"]
    assert (again["errors"], again["errors_by_kind"]["connection"]) == (3, 2)

    # The error log keeps them all, each with its kind, and filters by it.
    response = await client.get(f"/api/forms/{form_id}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted((r["lead id"], r["kind"], r["code"]) for r in rows) == sorted(
        [(lead, "configuration", "invalid_value") for lead in invalid]
        + [(missing, "configuration", "identity_missing")]
        + [(lead, "connection", "connection_revoked") for lead in revoked]
        + [(lead, KINDS[code], code) for lead, (_, code) in others.items()]
    )
    connection = await client.get(f"/api/forms/{form_id}/errors.csv", params={"kind": "connection"})
    assert connection.status_code == 200
    assert f"form-{form_id}-connection-" in connection.headers["content-disposition"]
    assert sorted(r["lead id"] for r in csv.DictReader(io.StringIO(connection.text))) == revoked
    everything = await client.get("/api/errors.csv", params={"kind": "configuration"})
    lines = list(csv.DictReader(io.StringIO(everything.text)))
    assert {r["kind"] for r in lines} == {"configuration"}
    assert {r["lead id"] for r in lines if r["form id"] == str(form_id)} == {*invalid, missing}

    listed = await client.get(f"/api/forms/{form_id}/errors", params={"kind": "linkedin"})
    assert listed.status_code == 200, listed.text
    ((line,),) = [listed.json()["errors"]]
    assert (line["lead_id"], line["kind"], line["code"], line["stage"]) == (
        f"lost-{tag}",
        "linkedin",
        "lead_not_found",
        "hydrate",
    )
    newest = (await client.get(f"/api/forms/{form_id}/errors", params={"limit": 3})).json()
    assert len(newest["errors"]) == 3
    all_of_form = (await client.get(f"/api/forms/{form_id}/errors")).json()["errors"]
    assert len(all_of_form) == 8
    times = [line["occurred_at"] for line in all_of_form]
    assert times == sorted(times, reverse=True)
    for path in ("/api/errors", f"/api/forms/{form_id}/errors", "/api/errors.csv"):
        refused = await client.get(path, params={"kind": "mapping"})
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["error"] == "invalid_request"


async def _set_counters(db: Conn, form_id: int) -> datetime:
    await db.execute(
        "UPDATE form_counters SET imported = 5, updated = 2, errors = 1, skipped = 4,"
        " connection_errors = 3, reset_at = now() - interval '1 day' WHERE form_id = %s",
        (form_id,),
    )
    (reset_at,) = await _one(db, "SELECT reset_at FROM form_counters WHERE form_id = %s", form_id)
    return reset_at  # type: ignore[no-any-return]


COUNTERS = (
    "SELECT imported, updated, errors, skipped, connection_errors, reset_at FROM form_counters"
    " WHERE form_id = %s"
)


async def test_a_form_with_import_off_is_refused_alike_by_the_api_and_the_command_line(
    settings: Settings, db: Conn, client: httpx.AsyncClient, account: AccountWithToken
) -> None:
    form_id = await _form(db, enabled=False)
    reset_at = await _set_counters(db, form_id)

    response = await client.post(f"/api/forms/{form_id}/imports", json={})
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "import_disabled"
    assert response.json()["message"] == (
        f"Import is off for form {form_id}: switch it on first"
        " (PATCH /api/forms/{id} with import_enabled true)"
    )

    said = leadsync(
        settings, "sync", str(form_id), "--account", account.name, returncode=1, stderr=True
    )
    assert said.strip() == (
        f"Import is off for form {form_id}: switch it on first"
        f" (`leadsync forms import {form_id} on`)"
    )
    # Neither recorded a run nor reset anything.
    assert await _one(db, "SELECT count(*) FROM sync_runs WHERE form_id = %s", form_id) == (0,)
    assert await _one(db, COUNTERS, form_id) == (5, 2, 1, 4, 3, reset_at)


async def test_counters_reset_once_when_an_accepted_manual_import_starts(
    settings: Settings, db: Conn, client: httpx.AsyncClient, account: AccountWithToken
) -> None:
    form_id = await _form(db)
    reset_at = await _set_counters(db, form_id)

    response = await client.post(f"/api/forms/{form_id}/imports", json={})
    assert response.status_code == 202, response.text
    run_id = uuid.UUID(response.json()["id"])
    # Queued: the puller has not taken it yet, the counters stand.
    assert await _one(db, COUNTERS, form_id) == (5, 2, 1, 4, 3, reset_at)

    now = datetime.now(UTC)
    async with Database.from_settings(settings, max_size=1) as pool:
        async with pool.account(account.id) as conn:
            await sync_runs.start_run(conn, run_id, now - timedelta(hours=1), now)
        counters = await _one(db, COUNTERS, form_id)
        assert counters[:5] == (0, 0, 0, 0, 0)
        assert counters[5] > reset_at
        form = (await client.get(f"/api/forms/{form_id}")).json()["counters"]
        assert form["reset_at"] is not None
        assert datetime.fromisoformat(form["reset_at"]) == counters[5]

        # The request delivered again after a crash starts the same run again: no reset.
        await db.execute("UPDATE form_counters SET imported = 2 WHERE form_id = %s", (form_id,))
        async with pool.account(account.id) as conn:
            await sync_runs.start_run(conn, run_id, now - timedelta(hours=1), now)
        assert await _one(db, COUNTERS, form_id) == (2, 0, 0, 0, 0, counters[5])

        # A scheduled run starting resets nothing.
        async with pool.account(account.id) as conn:
            await sync_runs.finish_run(conn, run_id)
            scheduled = await sync_runs.create_run(
                conn, form_id, SyncTrigger.SCHEDULE, SyncOptions()
            )
            await sync_runs.start_run(conn, scheduled, now - timedelta(hours=1), now)
        assert await _one(db, COUNTERS, form_id) == (2, 0, 0, 0, 0, counters[5])
