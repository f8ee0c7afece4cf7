"""The pipeline alarm: raised when most recent records fail for reasons that are not a
form's configuration, so that a bad producer or a bad deploy cannot send everything to the
error log. At most one alarm is active; processing waits while it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True)
class Alarm:
    id: int
    raised_at: datetime
    reason: str


async def raise_alarm(conn: AsyncConnection[Any], reason: str) -> None:
    await conn.execute(
        "INSERT INTO pipeline_alarms (reason) VALUES (%s)"
        " ON CONFLICT ((true)) WHERE cleared_at IS NULL DO NOTHING",
        (reason,),
    )


async def active_alarm(conn: AsyncConnection[Any]) -> Alarm | None:
    cur = await conn.execute(
        "SELECT id, raised_at, reason FROM pipeline_alarms WHERE cleared_at IS NULL"
    )
    row = await cur.fetchone()
    return Alarm(*row) if row else None


async def clear_alarm(conn: AsyncConnection[Any], cleared_by: str) -> Alarm | None:
    """Clear the active alarm (operator action); returns it, or None when none was active."""
    row = await (
        await conn.execute(
            "UPDATE pipeline_alarms SET cleared_at = now(), cleared_by = %s"
            " WHERE cleared_at IS NULL RETURNING id, raised_at, reason",
            (cleared_by,),
        )
    ).fetchone()
    return Alarm(*row) if row else None
