"""The error log and the error counters: written from error events (``leadsync.errors``),
read back oldest first for the CSV download.

An event names the account whose lead failed: it goes to that account's ``error_log`` and
counters (the events of a batch may be of many accounts, all in hand). An event with no
account (a record too broken to name one, a raw lead published without one, an account
deleted since) goes to ``pipeline_errors``, the operator's, not any account's.

Each line has a kind, derived from its code by the database (``leadsync_error_kind``,
migration 0010): ``configuration`` (identity not mapped or missing, a value invalid for its
field, a mapping to a field that no longer exists) is what the form's "total errors"
(``form_counters.errors``) counts; ``connection``, ``linkedin``, ``unreadable`` and
``internal`` failures are counted apart (``form_counters.<kind>_errors``), so a revoked token
does not look like a mapping mistake.

Guarantee: error events arrive at least once; each has a deterministic ``error_id``, so a
replayed event neither writes a second log line nor counts twice. A lead that fails again
with the same code (an overlapping pull, a repeated push, a manual import) is not logged or
counted again until the form's counters are reset: "total errors" counts leads, not attempts.

Reading streams through a server-side cursor, so a log of millions of lines is never held in
memory; the caller must iterate inside the connection's transaction. The newest lines are
read a page at a time, each page the lines older than the previous one's last
(:func:`latest_errors`, :class:`PageBefore`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from schemas.events import ErrorEvent

RECORD_ERRORS = """
INSERT INTO error_log (account_id, error_id, occurred_at, form_id, lead_id, stage, code,
                       message, field, origin, sync_run_id, raw_ref)
SELECT x.account_id, x.error_id, x.occurred_at, x.form_id, x.lead_id, x.stage, x.code,
       x.message, x.field, x.origin, x.sync_run_id, x.raw_ref
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, error_id uuid,
     occurred_at timestamptz, form_id bigint, lead_id text, stage text, code text,
     message text, field text, origin text, sync_run_id uuid, raw_ref jsonb)
WHERE x.lead_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM error_log e
    LEFT JOIN form_counters c ON c.account_id = e.account_id AND c.form_id = e.form_id
    WHERE e.account_id = x.account_id AND e.lead_id = x.lead_id AND e.code = x.code
      AND e.occurred_at >= coalesce(c.reset_at, '-infinity'::timestamptz))
ON CONFLICT (account_id, error_id) DO NOTHING
RETURNING account_id, form_id, kind
"""

# The kinds of error-log lines, as leadsync_error_kind (migration 0010) derives them from
# the code; form_counters counts "configuration" in errors, each other in <kind>_errors.
ERROR_KINDS = ("configuration", "connection", "linkedin", "unreadable", "internal")

COUNT_ERRORS = """
UPDATE form_counters f SET errors = f.errors + x.configuration,
    connection_errors = f.connection_errors + x.connection,
    linkedin_errors = f.linkedin_errors + x.linkedin,
    unreadable_errors = f.unreadable_errors + x.unreadable,
    internal_errors = f.internal_errors + x.internal
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, form_id bigint,
     configuration bigint, connection bigint, linkedin bigint, unreadable bigint,
     internal bigint)
WHERE f.account_id = x.account_id AND f.form_id = x.form_id
"""

RECORD_PIPELINE_ERRORS = """
INSERT INTO pipeline_errors (error_id, occurred_at, form_id, lead_id, stage, code, message,
                             origin, raw_ref)
SELECT x.error_id, x.occurred_at, x.form_id, x.lead_id, x.stage, x.code, x.message, x.origin,
       x.raw_ref
FROM jsonb_to_recordset(%s::jsonb) AS x(error_id uuid, occurred_at timestamptz,
     form_id bigint, lead_id text, stage text, code text, message text, origin text,
     raw_ref jsonb)
ON CONFLICT (error_id) DO NOTHING
"""


def accounts_of(events: Iterable[ErrorEvent]) -> list[int]:
    """The accounts to hold for :func:`record_errors`."""
    return sorted({e.account_id for e in events if e.account_id is not None})


def _storable(event: ErrorEvent) -> Any:
    """The event as JSON PostgreSQL takes: a NUL (in the first bytes of an undecodable record,
    or in a message quoting them) becomes U+FFFD, as undecodable bytes already do, since
    neither text nor jsonb can hold it and the refusal would lose the whole batch."""
    return _without_nul(event.model_dump(mode="json"))


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


async def record_errors(conn: AsyncConnection[Any], events: list[ErrorEvent]) -> int:
    """Write new error events to the log and count them per (account, form); returns how
    many were new. The events' accounts (:func:`accounts_of`) must be in hand."""
    if not events:
        return 0
    wanted = accounts_of(events)
    existing: set[int] = set()
    if wanted:
        cur = await conn.execute("SELECT id FROM accounts WHERE id = ANY(%s)", (wanted,))
        existing = {row[0] for row in await cur.fetchall()}
    unique: dict[object, ErrorEvent] = {}
    orphans: list[ErrorEvent] = []
    for event in events:
        if event.account_id is None or event.account_id not in existing:
            # An account deleted since the event was published has no log to hold it.
            orphans.append(event)
            continue
        # One line per lead and code within the batch too (the statement cannot see itself).
        key = (event.account_id, event.lead_id, event.code) if event.lead_id else event.error_id
        unique.setdefault(key, event)
    new = 0
    if unique:
        rows = [_storable(e) for e in unique.values()]
        cur = await conn.execute(RECORD_ERRORS, (json.dumps(rows),))
        per_form: dict[tuple[int, int], Counter[str]] = {}
        for account_id, form_id, kind in await cur.fetchall():
            if form_id is not None:
                per_form.setdefault((account_id, form_id), Counter())[kind] += 1
        new += cur.rowcount
        if per_form:
            counts = [
                {"account_id": a, "form_id": f} | {kind: n[kind] for kind in ERROR_KINDS}
                for (a, f), n in sorted(per_form.items())
            ]
            await conn.execute(COUNT_ERRORS, (json.dumps(counts),))
    if orphans:
        rows = [_storable(e) for e in orphans]
        cur = await conn.execute(RECORD_PIPELINE_ERRORS, (json.dumps(rows),))
        new += cur.rowcount
    return new


# The CSV's columns, in order (admin.csv_export.HEADER names them).
_ROWS = """
SELECT e.occurred_at, e.form_id, f.name, e.lead_id, e.stage, e.kind, e.code, e.message,
       e.field, e.origin, e.sync_run_id
FROM error_log e LEFT JOIN forms f ON f.account_id = e.account_id AND f.id = e.form_id
WHERE (%(form_id)s::bigint IS NULL OR e.form_id = %(form_id)s)
  AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)
ORDER BY e.occurred_at, e.id
"""
_FETCH_ROWS = 2000


async def iter_errors(
    conn: AsyncConnection[Any], form_id: int | None = None, kind: str | None = None
) -> AsyncIterator[tuple[Any, ...]]:
    """Every error-log line of the accounts in hand (of one form, or of all; of one kind, or
    of all), as the CSV's cells."""
    async with conn.cursor(name="error_log_export") as cur:
        cur.itersize = _FETCH_ROWS
        await cur.execute(_ROWS, {"form_id": form_id, "kind": kind})
        async for row in cur:
            yield row


@dataclass(frozen=True)
class PageBefore:
    """The last (oldest) line of the previous page: the next page holds the lines older
    than it."""

    occurred_at: datetime
    id: int


# Newest first by (time, line id): a total order on keys that never change, so paging by
# it (keyset, never OFFSET) shows each line once however many are written meanwhile. The
# time alone bounds the scan by the (account, form or kind, time) indexes; the pair decides
# between lines of the same time.
_LATEST = """
SELECT e.id, e.occurred_at, e.form_id, e.lead_id, e.stage, e.kind, e.code, e.message,
       e.field, e.origin, e.sync_run_id
FROM error_log e
WHERE (%(form_id)s::bigint IS NULL OR e.form_id = %(form_id)s)
  AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)
  AND (%(before_at)s::timestamptz IS NULL
       OR e.occurred_at <= %(before_at)s
          AND (e.occurred_at, e.id) < (%(before_at)s, %(before_id)s::bigint))
ORDER BY e.occurred_at DESC, e.id DESC
LIMIT %(limit)s
"""


async def latest_errors(
    conn: AsyncConnection[Any],
    form_id: int | None,
    kind: str | None,
    limit: int,
    before: PageBefore | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` error-log lines of the accounts in hand (of one form and kind,
    if given; older than ``before``, if given), newest first, each with its ``id`` for the
    next page's :class:`PageBefore`."""
    params = {
        "form_id": form_id,
        "kind": kind,
        "limit": limit,
        "before_at": before.occurred_at if before else None,
        "before_id": before.id if before else None,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LATEST, params)
        return await cur.fetchall()
