"""A LinkedIn connection's end is announced before it comes: 30, 7 and 1 days before its
refresh token ends, each once, as a log line and a ``connection.expiring`` event on the
errors topic; the account sees days left and the warning level on ``GET
/api/linkedin/connections``; connecting again starts over with the new expiry.

Time is moved by moving the expiries (and what was announced for them) back together."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from psycopg import AsyncConnection
from pydantic import SecretStr

from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.settings import Settings
from schemas.connection_events import ConnectionExpiring
from schemas.events import ErrorEvent
from schemas.tokens import TokenPair
from sinks.connections import TokenCipher, mark_connection, save_connection
from sinks.database import Database
from sinks.token_expiry import warn_expiring
from tests.integration.admin_client import AccountWithToken, admin_client, new_account
from tests.integration.topics import read_topic

Conn = AsyncConnection[tuple[object, ...]]
DAY = 86_400.0


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    async with Database.from_settings(settings, max_size=2) as db:
        yield db


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[AsyncPublisher]:
    publisher = AsyncPublisher(settings)
    yield publisher
    publisher.close()


@pytest.fixture
async def account(
    settings: Settings, database: Database, publisher: AsyncPublisher
) -> AccountWithToken:
    """A new account; whatever other tests' connections had to announce is announced
    first, so that what each test counts is its own account's."""
    await warn_expiring(settings, database, publisher)
    return await new_account(settings, "expiry")


async def _connect(
    database: Database,
    settings: Settings,
    account_id: int,
    member: str,
    refresh_in_days: float | None,
    with_refresh_token: bool = True,
    access_in_days: float = 60,
) -> int:
    now = time.time()
    tokens = TokenPair(
        access_token=SecretStr(f"access-{member}"),
        access_expires_at=now + access_in_days * DAY,
        refresh_token=SecretStr(f"refresh-{member}") if with_refresh_token else None,
        refresh_expires_at=now + refresh_in_days * DAY if refresh_in_days is not None else None,
    )
    async with database.account(account_id) as conn:
        return await save_connection(
            conn,
            TokenCipher(settings),
            tokens,
            f"urn:li:person:{member}",
            member.title(),
            account_id,
        )


async def _pass_days(db: Conn, account_id: int, days: float) -> None:
    """``days`` go by for the account's connections: their ends come closer, and what was
    announced stays announced."""
    shift = days * DAY
    await db.execute(
        "UPDATE linkedin_connections SET refresh_expires_at = refresh_expires_at"
        " - make_interval(secs => %s), access_expires_at = access_expires_at"
        " - make_interval(secs => %s) WHERE account_id = %s",
        (shift, shift, account_id),
    )
    await db.execute(
        "UPDATE connection_expiry_warnings SET expires_at = expires_at"
        " - make_interval(secs => %s) WHERE account_id = %s",
        (shift, account_id),
    )


def _expiring(settings: Settings, account_id: int) -> list[ConnectionExpiring]:
    """The account's ``connection.expiring`` events on the errors topic, in order."""
    found = []
    for _key, value in read_topic(settings.kafka_bootstrap_servers, settings.topics.errors):
        event = ErrorEvent.model_validate_json(value)
        details = ConnectionExpiring.from_error_event(event)
        if details is not None and details.account_id == account_id:
            assert (event.stage, event.code, event.account_id) == (
                "connection",
                "connection.expiring",
                account_id,
            )
            assert event.message == details.message()
            found.append(details)
    return found


async def test_each_threshold_is_announced_once_per_connection(
    settings: Settings,
    database: Database,
    publisher: AsyncPublisher,
    account: AccountWithToken,
    db: Conn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    far = await _connect(database, settings, account.id, "far", 40)
    month = await _connect(database, settings, account.id, "month", 29.5)
    week = await _connect(database, settings, account.id, "week", 5.5)
    day = await _connect(database, settings, account.id, "day", 0.5)
    # No refresh token: the access token's end is the connection's.
    access = await _connect(
        database, settings, account.id, "access", None, with_refresh_token=False, access_in_days=20
    )
    # Refused by LinkedIn already: nothing more to announce.
    revoked = await _connect(database, settings, account.id, "revoked", 3)
    async with database.account(account.id) as conn:
        await mark_connection(conn, revoked, "revoked", "revoked by the member")

    with caplog.at_level(logging.WARNING, logger="sinks.token_expiry"):
        assert await warn_expiring(settings, database, publisher) == 4
    events = _expiring(settings, account.id)
    assert sorted((e.connection_id, e.threshold_days, e.days_left) for e in events) == sorted(
        [(month, 30, 29), (week, 7, 5), (day, 1, 0), (access, 30, 19)]
    )
    assert {e.ends_with for e in events if e.connection_id == access} == {"access_token"}
    assert {e.member_name for e in events} == {"Month", "Week", "Day", "Access"}
    said = [r.getMessage() for r in caplog.records if r.name == "sinks.token_expiry"]
    assert len(said) == 4
    assert any(f"LinkedIn connection {week} (Week) ends in 5 days" in line for line in said), said

    # Each once: nothing new the next tick, nor the one after.
    assert await warn_expiring(settings, database, publisher) == 0
    assert await warn_expiring(settings, database, publisher) == 0
    assert len(_expiring(settings, account.id)) == 4

    # 24 days later: "month" crosses 7 (not 30 again), "week" crosses 1, "far" crosses 30;
    # "day" and "access" ended meanwhile (warned at 1 already; access crosses 7 and 1 at once:
    # one event, its tightest).
    await _pass_days(db, account.id, 24)
    assert await warn_expiring(settings, database, publisher) == 4
    later = _expiring(settings, account.id)[4:]
    assert sorted((e.connection_id, e.threshold_days) for e in later) == sorted(
        [(month, 7), (week, 1), (far, 30), (access, 1)]
    )
    assert await warn_expiring(settings, database, publisher) == 0
    assert far not in {e.connection_id for e in _expiring(settings, account.id)[:4]}


async def test_the_account_sees_each_connections_days_left_and_warning(
    settings: Settings, database: Database, account: AccountWithToken
) -> None:
    far = await _connect(database, settings, account.id, "far", 200)
    week = await _connect(database, settings, account.id, "week", 6.5)
    gone = await _connect(database, settings, account.id, "gone", -1)
    async with admin_client(settings, token=account.token) as api:
        answer = await api.get("/api/linkedin/connections")
    assert answer.status_code == 200, answer.text
    rows = {c["id"]: c for c in answer.json()["connections"]}
    assert set(rows) == {far, week, gone}
    assert (rows[far]["days_left"], rows[far]["warning_level"], rows[far]["warning"]) == (
        199,
        None,
        None,
    )
    assert (rows[week]["days_left"], rows[week]["warning_level"]) == (6, "7_days")
    assert rows[week]["warning"].startswith("the LinkedIn connection of Week")
    assert "ends in 6 days" in rows[week]["warning"]
    assert rows[week]["status"] == "active"
    assert rows[week]["refresh_expires_at"] == rows[week]["expires_at"]
    assert rows[week]["ends_with"] == "refresh_token"
    assert (rows[gone]["days_left"], rows[gone]["warning_level"]) == (0, "expired")
    # Another account sees none of them.
    other = await new_account(settings, "expiry-other")
    async with admin_client(settings, token=other.token) as api:
        assert (await api.get("/api/linkedin/connections")).json() == {"connections": []}


async def test_connecting_again_starts_over_with_the_new_expiry(
    settings: Settings,
    database: Database,
    publisher: AsyncPublisher,
    account: AccountWithToken,
) -> None:
    first = await _connect(database, settings, account.id, "member", 3)
    assert await warn_expiring(settings, database, publisher) == 1
    # The member connects again: a new refresh token, a year long.
    again = await _connect(database, settings, account.id, "member", 365)
    assert again == first
    async with admin_client(settings, token=account.token) as api:
        (row,) = (await api.get("/api/linkedin/connections")).json()["connections"]
    assert (row["days_left"], row["warning_level"]) == (364, None)
    assert await warn_expiring(settings, database, publisher) == 0
    # ...and that one too comes to its end some day: announced anew.
    again = await _connect(database, settings, account.id, "member", 6)
    assert await warn_expiring(settings, database, publisher) == 1
    events = _expiring(settings, account.id)
    assert [(e.connection_id, e.threshold_days) for e in events] == [(first, 7), (first, 7)]
    assert events[0].expires_at != events[1].expires_at
    assert events[0].error_id() != events[1].error_id()


async def test_a_disabled_accounts_connections_are_not_announced(
    settings: Settings,
    database: Database,
    publisher: AsyncPublisher,
    account: AccountWithToken,
    db: Conn,
) -> None:
    await _connect(database, settings, account.id, "member", 2)
    await db.execute(
        "UPDATE accounts SET status = 'disabled', disabled_at = now() WHERE id = %s",
        (account.id,),
    )
    assert await warn_expiring(settings, database, publisher) == 0
    assert _expiring(settings, account.id) == []


def test_the_event_id_is_stable_for_a_connection_expiry_and_threshold() -> None:
    details = ConnectionExpiring(
        account_id=1,
        connection_id=2,
        expires_at=datetime(2027, 1, 1, tzinfo=UTC),
        days_left=6,
        threshold_days=7,
    )
    event = details.to_error_event(datetime.now(UTC))
    assert event.error_id == details.error_id()
    assert json.loads(event.model_dump_json())["raw_ref"]["event"] == "connection.expiring"
    assert uuid.UUID(str(event.error_id)).version == 5


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_prometheus_reads_the_first_end_and_the_connections_ending(
    settings: Settings, database: Database, account: AccountWithToken
) -> None:
    ending = 'leadsync_linkedin_connections_ending{within_days="1"}'
    async with admin_client(settings) as api:
        before = (await api.get("/metrics")).text
    await _connect(database, settings, account.id, "soon", 0.5)
    async with admin_client(settings) as api:
        answer = await api.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert _metric(answer.text, ending) == (_metric(before, ending) or 0) + 1
    first_end = _metric(answer.text, "leadsync_linkedin_token_first_end_seconds")
    assert first_end is not None
    assert first_end <= 0.5 * DAY
    assert "urn:li:person" not in answer.text  # no member, account or connection labels
