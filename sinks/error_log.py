"""Reading the error log back, oldest first, for the CSV download.

Rows stream through a server-side cursor, so a log of millions of lines is never held in
memory; the caller must iterate inside the connection's transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from psycopg import AsyncConnection

# The CSV's columns, in order (admin.csv_export.HEADER names them).
_ROWS = """
SELECT e.occurred_at, e.form_id, f.name, e.lead_id, e.stage, e.code, e.message, e.field,
       e.origin, e.sync_run_id
FROM error_log e LEFT JOIN forms f ON f.id = e.form_id
WHERE (%(form_id)s::bigint IS NULL OR e.form_id = %(form_id)s)
ORDER BY e.occurred_at, e.id
"""
_FETCH_ROWS = 2000


async def iter_errors(
    conn: AsyncConnection[Any], form_id: int | None = None
) -> AsyncIterator[tuple[Any, ...]]:
    """Every error-log line (of one form, or of all), as the CSV's cells."""
    async with conn.cursor(name="error_log_export") as cur:
        cur.itersize = _FETCH_ROWS
        await cur.execute(_ROWS, {"form_id": form_id})
        async for row in cur:
            yield row
