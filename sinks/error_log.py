"""The error log and the error counters: written from error events (``leadsync.errors``),
read back oldest first for the CSV download.

Guarantee: error events arrive at least once; each has a deterministic ``error_id``, so a
replayed event neither writes a second log line nor counts twice. A lead that fails again
with the same code (an overlapping pull, a repeated push, a manual import) is not logged or
counted again until the form's counters are reset: "total errors" counts leads, not attempts.

Reading streams through a server-side cursor, so a log of millions of lines is never held in
memory; the caller must iterate inside the connection's transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from psycopg import AsyncConnection

from schemas.events import ErrorEvent

RECORD_ERRORS = """
INSERT INTO error_log (error_id, occurred_at, form_id, lead_id, stage, code, message, field,
                       origin, sync_run_id, raw_ref)
SELECT x.error_id, x.occurred_at, x.form_id, x.lead_id, x.stage, x.code, x.message, x.field,
       x.origin, x.sync_run_id, x.raw_ref
FROM jsonb_to_recordset(%s::jsonb) AS x(error_id uuid, occurred_at timestamptz, form_id bigint,
     lead_id text, stage text, code text, message text, field text, origin text,
     sync_run_id uuid, raw_ref jsonb)
WHERE x.lead_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM error_log e LEFT JOIN form_counters c ON c.form_id = e.form_id
    WHERE e.lead_id = x.lead_id AND e.code = x.code
      AND e.occurred_at >= coalesce(c.reset_at, '-infinity'::timestamptz))
ON CONFLICT (account_id, error_id) DO NOTHING
RETURNING form_id
"""

COUNT_ERRORS = """
UPDATE form_counters f SET errors = f.errors + x.n
FROM jsonb_to_recordset(%s::jsonb) AS x(form_id bigint, n bigint)
WHERE f.form_id = x.form_id
"""


async def record_errors(conn: AsyncConnection[Any], events: list[ErrorEvent]) -> int:
    """Write new error events to the log and count them per form; returns how many were new."""
    if not events:
        return 0
    unique: dict[object, ErrorEvent] = {}
    for event in events:
        # One line per lead and code within the batch too (the statement cannot see itself).
        key = (event.lead_id, event.code) if event.lead_id else event.error_id
        unique.setdefault(key, event)
    rows = [e.model_dump(mode="json") for e in unique.values()]
    cur = await conn.execute(RECORD_ERRORS, (json.dumps(rows),))
    per_form = Counter(row[0] for row in await cur.fetchall() if row[0] is not None)
    if per_form:
        counts = [{"form_id": form_id, "n": n} for form_id, n in per_form.items()]
        await conn.execute(COUNT_ERRORS, (json.dumps(counts),))
    return cur.rowcount


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
