"""A LinkedIn connection's lifetime, announced before it ends (issue #13, point 6).

LinkedIn's refresh tokens end a year after the member approved leadsync (access tokens
after 60 days; a connection without a refresh token ends with its access token), and then
nothing comes in for the account until the member connects again. So each connection's end
is tracked, and announced 30, 7 and 1 days before: on the API (``GET
/api/linkedin/connections``: days left and the warning level), in the log, and as a
``connection.expiring`` event on ``leadsync.errors`` (:mod:`schemas.connection_events`),
each threshold once per connection and expiry (``connection_expiry_warnings``). A
connection first seen with 5 days left gets the 7-day warning only (the 30-day one is
counted as given). Connecting again replaces the tokens, hence the expiry: warnings start
over for the new one.

:func:`warn_expiring` is run by the scheduler once per tick (cheap: one query when nothing
is due).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg import AsyncConnection

from leadsync.settings import Settings
from schemas.connection_events import EXPIRY_THRESHOLDS_DAYS, ConnectionExpiring, tightest_threshold
from sinks.database import Database

log = logging.getLogger(__name__)

DAY_S = 86_400.0


class Publisher(Protocol):
    """What :func:`warn_expiring` publishes through (leadsync.kafka.AsyncPublisher)."""

    async def publish(self, topic: str, key: bytes, value: bytes) -> None: ...


@dataclass(frozen=True)
class ConnectionLifetime:
    """A connection, its status, and when it stops working unless its member connects
    again."""

    account_id: int
    connection_id: int
    member_urn: str | None
    member_name: str | None
    status: str
    status_reason: str | None
    # The refresh token's end; the access token's when LinkedIn gave no refresh token;
    # None when LinkedIn did not say.
    expires_at: datetime | None
    ends_with: str
    seconds_left: float | None

    @property
    def days_left(self) -> int | None:
        """Whole days left (0: less than one; never negative)."""
        if self.seconds_left is None:
            return None
        return max(0, math.floor(self.seconds_left / DAY_S))

    @property
    def warning_days(self) -> int | None:
        """The tightest threshold (30, 7, 1) the connection is within, if any."""
        if self.seconds_left is None:
            return None
        return tightest_threshold(self.seconds_left)

    @property
    def warning_level(self) -> str | None:
        """None, ``30_days``, ``7_days``, ``1_day``, or ``expired`` (its end has passed, or
        LinkedIn refused it: ``status`` says which)."""
        if self.status != "active" or (self.seconds_left is not None and self.seconds_left <= 0):
            return "expired" if self.status in ("active", "expired") else None
        days = self.warning_days
        if days is None:
            return None
        return "1_day" if days == 1 else f"{days}_days"

    def warning(self) -> str | None:
        """What the console says about it, when something is to be said."""
        who = self.member_name or self.member_urn or f"connection {self.connection_id}"
        if self.status != "active":
            return self.status_reason or f"the LinkedIn connection of {who} is {self.status}"
        level = self.warning_level
        if level is None or self.expires_at is None:
            return None
        if level == "expired":
            return (
                f"the LinkedIn connection of {who} ended on"
                f" {self.expires_at.isoformat(timespec='minutes')}: the member must connect again"
            )
        return self.details(self.warning_days or 1).message()

    def details(self, threshold_days: int) -> ConnectionExpiring:
        assert self.expires_at is not None
        return ConnectionExpiring(
            account_id=self.account_id,
            connection_id=self.connection_id,
            member_urn=self.member_urn,
            member_name=self.member_name,
            expires_at=self.expires_at,
            ends_with="access_token" if self.ends_with == "access_token" else "refresh_token",
            days_left=self.days_left or 0,
            threshold_days=threshold_days,
        )


_LIFETIMES = """
SELECT c.account_id, c.id, c.member_urn, c.member_name, c.status, c.status_reason,
       e.expires_at, e.token, extract(epoch FROM e.expires_at - now())::float8
FROM linkedin_connections c
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.refresh_token IS NULL THEN c.access_expires_at
                ELSE c.refresh_expires_at END AS expires_at,
           CASE WHEN c.refresh_token IS NULL THEN 'access_token'
                ELSE 'refresh_token' END AS token) e
"""


async def connection_lifetimes(conn: AsyncConnection[Any]) -> list[ConnectionLifetime]:
    """Every connection of the accounts in hand, with its end."""
    cur = await conn.execute(_LIFETIMES + " ORDER BY c.account_id, c.id")
    return [ConnectionLifetime(*row) for row in await cur.fetchall()]


# The active connections of active accounts ending within the widest threshold, with the
# thresholds already announced for their current expiry.
_DUE = """
SELECT c.account_id, c.id, c.member_urn, c.member_name, c.status, c.status_reason,
       e.expires_at, e.token, extract(epoch FROM e.expires_at - now())::float8,
       coalesce((SELECT array_agg(w.threshold_days) FROM connection_expiry_warnings w
                 WHERE w.account_id = c.account_id AND w.connection_id = c.id
                   AND w.expires_at = e.expires_at), '{}')
FROM linkedin_connections c
JOIN accounts a ON a.id = c.account_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.refresh_token IS NULL THEN c.access_expires_at
                ELSE c.refresh_expires_at END AS expires_at,
           CASE WHEN c.refresh_token IS NULL THEN 'access_token'
                ELSE 'refresh_token' END AS token) e
WHERE c.status = 'active' AND a.status = 'active'
  AND e.expires_at <= now() + make_interval(days => %(widest)s)
ORDER BY c.account_id, c.id
"""


async def expiring_connections(
    conn: AsyncConnection[Any],
) -> list[tuple[ConnectionLifetime, set[int]]]:
    """The active connections (of active accounts) ending within 30 days, each with the
    thresholds already announced for its current expiry."""
    cur = await conn.execute(_DUE, {"widest": max(EXPIRY_THRESHOLDS_DAYS)})
    return [(ConnectionLifetime(*row[:9]), set(row[9])) for row in await cur.fetchall()]


async def remember_warnings(
    conn: AsyncConnection[Any], lifetime: ConnectionLifetime, thresholds: list[int]
) -> list[int]:
    """Record these thresholds as announced for the connection's current expiry; returns
    those not recorded before (another scheduler may have been first). The connection's
    account must be in hand."""
    cur = await conn.execute(
        "INSERT INTO connection_expiry_warnings"
        " (account_id, connection_id, expires_at, threshold_days)"
        " SELECT %s, %s, %s, t FROM unnest(%s::integer[]) AS t"
        " ON CONFLICT DO NOTHING RETURNING threshold_days",
        (lifetime.account_id, lifetime.connection_id, lifetime.expires_at, thresholds),
    )
    return sorted(row[0] for row in await cur.fetchall())


async def warn_expiring(settings: Settings, db: Database, publisher: Publisher) -> int:
    """Announce every connection whose end crossed a threshold (30, 7, 1 days) not yet
    announced for it: a log line and a ``connection.expiring`` event on the errors topic,
    one per connection (its tightest threshold crossed). Returns how many were announced.

    A threshold is recorded in the same transaction that publishes its event: an event
    Kafka did not take is announced again at the next call; one published twice (a crash
    between publishing and committing) carries the same ``error_id``."""
    async with db.every_account() as conn:
        due = await expiring_connections(conn)
    announced = 0
    for lifetime, warned in due:
        if lifetime.seconds_left is None:
            continue
        crossed = [
            t
            for t in EXPIRY_THRESHOLDS_DAYS
            if lifetime.seconds_left <= t * DAY_S and t not in warned
        ]
        if not crossed:
            continue
        async with db.account(lifetime.account_id) as conn:
            new = await remember_warnings(conn, lifetime, crossed)
            if not new:
                continue
            details = lifetime.details(min(new))
            event = details.to_error_event(datetime.now(UTC))
            log.warning(
                "account %d: LinkedIn connection %d (%s) ends in %s days, on %s"
                " (%d-day warning): the member must connect again before then",
                lifetime.account_id,
                lifetime.connection_id,
                lifetime.member_name or lifetime.member_urn,
                details.days_left,
                details.expires_at.isoformat(timespec="minutes"),
                details.threshold_days,
            )
            await publisher.publish(settings.topics.errors, b"", event.model_dump_json().encode())
        announced += 1
    return announced
