"""The OAuth ``state`` of a LinkedIn authorization: bound to the account that asked for it,
usable once, within ``STATE_TTL_S``. Kept only as its SHA-256, so the table gives nobody a
state to replay.

An authorization has two states, one after the other: the link's (handed out by the API,
spent when the member confirms the account on the start page) and LinkedIn's (sent to
LinkedIn then, spent by the callback). The second keeps the first's ``created_at``, so the
whole authorization lasts ``STATE_TTL_S`` from the moment the link was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection

# Time enough to sign in to LinkedIn and approve; an abandoned authorization expires.
STATE_TTL_S = 15 * 60


class StateProblem(StrEnum):
    """Why a state is refused; the value is the error code the admin API answers with."""

    UNKNOWN = "state_unknown"
    USED = "state_used"
    EXPIRED = "state_expired"
    ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class OAuthState:
    account_id: int
    account: str  # its name, shown to the member
    created_at: datetime
    problem: StateProblem | None  # None: usable


async def remember_state(
    conn: AsyncConnection[Any],
    state_sha256: bytes,
    account_id: int,
    created_at: datetime | None = None,
) -> None:
    """A new state of the account; ``created_at`` (now unless given) starts its time."""
    await conn.execute(
        "INSERT INTO oauth_states (state_sha256, account_id, created_at)"
        " VALUES (%s, %s, coalesce(%s, now()))",
        (state_sha256, account_id, created_at),
    )


async def find_state(conn: AsyncConnection[Any], state_sha256: bytes) -> OAuthState | None:
    """The state and whether it is usable (None: there is no such state). Its row stays
    locked until the transaction ends, so two requests bringing the same state cannot both
    find it unused."""
    cur = await conn.execute(
        "SELECT s.account_id, a.name, s.created_at, s.used_at IS NOT NULL,"
        # PostgreSQL's clock, the one created_at was taken with.
        " s.created_at <= now() - make_interval(secs => %s), a.status = 'active'"
        " FROM oauth_states s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.state_sha256 = %s FOR UPDATE OF s",
        (STATE_TTL_S, state_sha256),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    account_id, account, created_at, used, expired, active = row
    return OAuthState(int(account_id), str(account), created_at, _problem(used, expired, active))


def _problem(used: bool, expired: bool, active: bool) -> StateProblem | None:
    # A replayed state is said to be used even when it has expired since: that is what
    # happened to it first.
    if used:
        return StateProblem.USED
    if expired:
        return StateProblem.EXPIRED
    if not active:
        return StateProblem.ACCOUNT_DISABLED
    return None


async def spend_state(conn: AsyncConnection[Any], state_sha256: bytes) -> None:
    """Use the state up (found usable by :func:`find_state` in this transaction)."""
    await conn.execute(
        "UPDATE oauth_states SET used_at = now() WHERE state_sha256 = %s AND used_at IS NULL",
        (state_sha256,),
    )
