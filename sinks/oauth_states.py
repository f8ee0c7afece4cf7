"""The OAuth ``state`` of a LinkedIn authorization: bound to the account that asked for it,
usable once, within ``STATE_TTL_S``. Kept only as its SHA-256, so the table gives nobody a
state to replay."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

# Time enough to sign in to LinkedIn and approve; an abandoned authorization expires.
STATE_TTL_S = 15 * 60


async def remember_state(conn: AsyncConnection[Any], state_sha256: bytes, account_id: int) -> None:
    await conn.execute(
        "INSERT INTO oauth_states (state_sha256, account_id) VALUES (%s, %s)",
        (state_sha256, account_id),
    )


async def take_state(conn: AsyncConnection[Any], state_sha256: bytes) -> tuple[int, str] | None:
    """The account (id, name) of an unused, unexpired state, which is used up by this call;
    None for a state unknown, replayed or expired (or of an account since disabled)."""
    cur = await conn.execute(
        "UPDATE oauth_states s SET used_at = now() FROM accounts a"
        " WHERE s.state_sha256 = %s AND s.used_at IS NULL"
        " AND s.created_at > now() - make_interval(secs => %s)"
        " AND a.id = s.account_id AND a.status = 'active'"
        " RETURNING s.account_id, a.name",
        (state_sha256, STATE_TTL_S),
    )
    row = await cur.fetchone()
    return (int(row[0]), str(row[1])) if row else None
