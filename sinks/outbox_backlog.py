"""How far the outbox relay is behind: its unpublished rows, for ``GET /metrics``.

Read with every account in hand (row-level security shows no row otherwise). The partial
index of unpublished rows (``outbox_unpublished_idx``) keeps it cheap while the relay keeps
up; a large figure is the news, and then the count costs what the backlog is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True)
class OutboxBacklog:
    rows: int
    # Age of the oldest unpublished row; None when there is none.
    oldest_age_s: float | None


async def outbox_backlog(conn: AsyncConnection[Any]) -> OutboxBacklog:
    cur = await conn.execute(
        "SELECT count(*), extract(epoch FROM now() - min(created_at))::float8"
        " FROM outbox WHERE published_at IS NULL"
    )
    row = await cur.fetchone()
    if row is None:  # an aggregate always answers one row
        return OutboxBacklog(0, None)
    return OutboxBacklog(int(row[0]), None if row[1] is None else float(row[1]))
