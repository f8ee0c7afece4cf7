"""Sync runs: one pull of one form, scheduled or manual, recorded from request to end.

A run is created ``queued`` (at most one queued or running run per form), becomes
``running`` when the puller takes it, records its window and progress, and ends
``succeeded`` or ``failed``. What it imported is read back from the ledger, the outbox and
the error log through the run id the leads carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, errors
from psycopg.rows import dict_row

from schemas.envelopes import SyncOptions, SyncTrigger


class RunAlreadyActive(Exception):
    """The form already has a queued or running sync run."""

    def __init__(self, form_id: int, run_id: UUID) -> None:
        super().__init__(f"form {form_id} already has a sync run in progress ({run_id})")
        self.run_id = run_id


class UnknownForm(Exception):
    def __init__(self, form_id: int) -> None:
        super().__init__(f"form {form_id} is not known; discover the forms first")


@dataclass(frozen=True)
class RunStats:
    imported: int
    updated: int
    errors: int
    leads_in_ledger: int


def create_run(
    conn: Connection[Any],
    form_id: int,
    trigger: SyncTrigger,
    options: SyncOptions,
    requested_by: str | None = None,
) -> UUID:
    """Record a queued run. A manual import also resets the form's counters (product rule)."""
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM forms WHERE id = %s", (form_id,)).fetchone()
        if exists is None:
            raise UnknownForm(form_id)
        try:
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO sync_runs (form_id, trigger, reimport_existing,"
                    " restart_workflows, all_submissions, requested_by)"
                    " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                    (
                        form_id,
                        trigger.value,
                        options.reimport_existing,
                        options.restart_workflows,
                        options.all_submissions,
                        requested_by,
                    ),
                ).fetchone()
        except errors.UniqueViolation:
            active = conn.execute(
                "SELECT id FROM sync_runs WHERE form_id = %s AND status IN ('queued', 'running')",
                (form_id,),
            ).fetchone()
            raise RunAlreadyActive(form_id, active[0] if active else UUID(int=0)) from None
        if trigger is SyncTrigger.MANUAL:
            conn.execute(
                "UPDATE form_counters SET imported = 0, updated = 0, errors = 0, skipped = 0,"
                " reset_at = now() WHERE form_id = %s",
                (form_id,),
            )
    assert row is not None
    run_id: UUID = row[0]
    return run_id


def get_run(conn: Connection[Any], run_id: UUID) -> dict[str, Any] | None:
    """The run as recorded, with what it imported so far."""
    with conn.cursor(row_factory=dict_row) as cur:
        run = cur.execute("SELECT * FROM sync_runs WHERE id = %s", (run_id,)).fetchone()
    if run is None:
        return None
    stats = run_stats(conn, run_id)
    return {**run, **stats.__dict__}


def run_stats(conn: Connection[Any], run_id: UUID) -> RunStats:
    key = str(run_id)
    row = conn.execute(
        "SELECT"
        " (SELECT count(*) FROM outbox WHERE payload -> 'data' ->> 'sync_run_id' = %(k)s"
        "    AND event_type = 'com.leadsync.contact.created'),"
        " (SELECT count(*) FROM outbox WHERE payload -> 'data' ->> 'sync_run_id' = %(k)s"
        "    AND event_type = 'com.leadsync.contact.updated'),"
        " (SELECT count(*) FROM error_log WHERE sync_run_id = %(id)s),"
        " (SELECT count(*) FROM imported_leads WHERE sync_run_id = %(id)s)",
        {"k": key, "id": run_id},
    ).fetchone()
    assert row is not None
    return RunStats(*row)


def unpublished_errors(conn: Connection[Any], run_id: UUID) -> int:
    """Error-log lines of a run's leads that never reached Kafka (the puller could not read
    them): counted among its errors, not among the leads it published."""
    row = conn.execute(
        "SELECT count(*) FROM error_log WHERE sync_run_id = %s AND stage = 'pull'", (run_id,)
    ).fetchone()
    assert row is not None
    count: int = row[0]
    return count


def list_runs(conn: Connection[Any], form_id: int, limit: int = 20) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM sync_runs WHERE form_id = %s ORDER BY requested_at DESC LIMIT %s",
            (form_id, limit),
        ).fetchall()


def start_run(
    conn: Connection[Any], run_id: UUID, window_start: datetime, window_end: datetime
) -> None:
    conn.execute(
        "UPDATE sync_runs SET status = 'running', started_at = coalesce(started_at, now()),"
        " window_start = %s, window_end = %s WHERE id = %s",
        (window_start, window_end, run_id),
    )


def record_progress(
    conn: Connection[Any], run_id: UUID, pages: int, published: int, total: int | None
) -> None:
    conn.execute(
        "UPDATE sync_runs SET pages = %s, leads_published = %s,"
        " leads_total = coalesce(%s, leads_total) WHERE id = %s",
        (pages, published, total, run_id),
    )


def finish_run(conn: Connection[Any], run_id: UUID, error: str | None = None) -> None:
    conn.execute(
        "UPDATE sync_runs SET status = %s, error = %s, finished_at = now() WHERE id = %s",
        ("failed" if error else "succeeded", error, run_id),
    )
