"""Sync runs: one pull of one form, scheduled or manual, recorded from request to end.

A run belongs to its form's account: every function here works on a connection with that
account in hand (``Database.account``), and row-level security keeps it to that account's
runs; the scheduler's scans (:func:`forms_due`, :func:`stale_queued_runs`) run with every
account in hand and name the account of each row.

A run is created ``queued`` (at most one queued or running run per form), becomes
``running`` when the puller takes it, records its window and progress, and ends
``succeeded`` or ``failed``. What it imported is read back from the ledger, the outbox and
the error log through the run id the leads carry.

The same rules for every door (the admin API, the command line, the scheduler):
- a run of a form whose Import is off is refused (:class:`ImportDisabled`) and records
  nothing;
- a manual import resets the form's counters once the puller takes its run (queued ->
  running, the first time): a request refused, or one Kafka did not take (its run fails
  without starting), resets nothing;
- a failed scheduled run backs off: the form is not due again before ``backoff_delay`` has
  passed (5 minutes, doubling with each failure in a row, up to the form's interval), or
  before its connection was made again; a run that succeeds ends the backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from psycopg import AsyncConnection, errors
from psycopg.rows import dict_row

from leadsync.errors import PermanentError
from schemas.envelopes import SyncOptions, SyncTrigger


class RunAlreadyActive(PermanentError):
    """The form already has a queued or running sync run."""

    def __init__(self, form_id: int, run_id: UUID) -> None:
        super().__init__(f"form {form_id} already has a sync run in progress ({run_id})")
        self.run_id = run_id


class UnknownForm(PermanentError):
    def __init__(self, form_id: int) -> None:
        super().__init__(f"form {form_id} is not known; discover the forms first")


class ImportDisabled(PermanentError):
    """The form's Import is off: a run would reset its counters and bring nothing in (the
    importer records its leads as skipped). Each door adds how to switch it on."""

    def __init__(self, form_id: int) -> None:
        super().__init__(f"Import is off for form {form_id}: switch it on first")
        self.form_id = form_id


# A failed scheduled run: the next attempt after 5 minutes, doubling with each failure in a
# row, never later than the form's interval.
FIRST_RETRY = timedelta(minutes=5)


def backoff_delay(failures: int, interval_hours: int) -> timedelta:
    """How long after its ``failures``-th failure in a row a form's scheduled pull waits."""
    interval = timedelta(hours=interval_hours)
    if failures < 1:
        return timedelta(0)
    # Past 2**20 times 5 minutes (ten years) the interval is shorter anyway.
    doubled: timedelta = FIRST_RETRY * (2 ** min(failures - 1, 20))
    return min(doubled, interval)


@dataclass(frozen=True)
class RunStats:
    imported: int
    updated: int
    errors: int
    leads_in_ledger: int


async def create_run(
    conn: AsyncConnection[Any],
    form_id: int,
    trigger: SyncTrigger,
    options: SyncOptions,
    requested_by: str | None = None,
) -> UUID:
    """Record a queued run of the form of the account in hand (the run takes that account).
    :class:`UnknownForm`, :class:`ImportDisabled` (nothing recorded) or
    :class:`RunAlreadyActive`. A manual import's counter reset comes when its run starts
    (:func:`start_run`)."""
    async with conn.transaction():
        # Shared lock: Import cannot be switched off between this check and the run.
        found = await (
            await conn.execute(
                "SELECT import_enabled FROM forms WHERE account_id = leadsync_account()"
                " AND id = %s FOR SHARE",
                (form_id,),
            )
        ).fetchone()
        if found is None:
            raise UnknownForm(form_id)
        if not found[0]:
            raise ImportDisabled(form_id)
        try:
            async with conn.transaction():
                cur = await conn.execute(
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
                )
                row = await cur.fetchone()
        except errors.UniqueViolation:
            cur = await conn.execute(
                "SELECT id FROM sync_runs WHERE form_id = %s AND status IN ('queued', 'running')",
                (form_id,),
            )
            active = await cur.fetchone()
            raise RunAlreadyActive(form_id, active[0] if active else UUID(int=0)) from None
    assert row is not None
    run_id: UUID = row[0]
    return run_id


async def get_run(conn: AsyncConnection[Any], run_id: UUID) -> dict[str, Any] | None:
    """The run as recorded, with what it imported so far."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM sync_runs WHERE id = %s", (run_id,))
        run = await cur.fetchone()
    if run is None:
        return None
    stats = await run_stats(conn, run_id)
    return {**run, **stats.__dict__}


# What a run imported, by the run id its leads carry (indexes from migration 0003), for the
# run ``r``: the columns of RunStats.
_RUN_STATS = """
 (SELECT count(*) FROM outbox WHERE payload -> 'data' ->> 'sync_run_id' = r.id::text
    AND event_type = 'com.leadsync.contact.created') AS imported,
 (SELECT count(*) FROM outbox WHERE payload -> 'data' ->> 'sync_run_id' = r.id::text
    AND event_type = 'com.leadsync.contact.updated') AS updated,
 (SELECT count(*) FROM error_log WHERE sync_run_id = r.id) AS errors,
 (SELECT count(*) FROM imported_leads WHERE sync_run_id = r.id) AS leads_in_ledger
"""


async def run_stats(conn: AsyncConnection[Any], run_id: UUID) -> RunStats:
    cur = await conn.execute(
        f"SELECT {_RUN_STATS} FROM (SELECT %s::uuid AS id) r",
        (run_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return RunStats(*row)


async def unpublished_errors(conn: AsyncConnection[Any], run_id: UUID) -> int:
    """Error-log lines of a run's leads that never reached Kafka (the puller could not read
    them): counted among its errors, not among the leads it published."""
    cur = await conn.execute(
        "SELECT count(*) FROM error_log WHERE sync_run_id = %s AND stage = 'pull'", (run_id,)
    )
    row = await cur.fetchone()
    assert row is not None
    count: int = row[0]
    return count


async def list_runs(
    conn: AsyncConnection[Any], form_id: int, limit: int = 20, with_stats: bool = False
) -> list[dict[str, Any]]:
    """The form's latest runs, newest first; ``with_stats``, each with what it imported
    (as :func:`get_run` gives it), in the same statement."""
    stats = f", {_RUN_STATS}" if with_stats else ""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT r.*{stats} FROM sync_runs r WHERE r.form_id = %s"
            " ORDER BY r.requested_at DESC LIMIT %s",
            (form_id, limit),
        )
        return await cur.fetchall()


_RESET_COUNTERS = (
    "UPDATE form_counters SET imported = 0, updated = 0, errors = 0, skipped = 0,"
    " connection_errors = 0, linkedin_errors = 0, unreadable_errors = 0, internal_errors = 0,"
    " reset_at = now() WHERE form_id = %s"
)


async def start_run(
    conn: AsyncConnection[Any], run_id: UUID, window_start: datetime, window_end: datetime
) -> None:
    """The puller took the run. A manual import starting for the first time (not a request
    delivered again after a crash) resets the form's counters (product rule): what they show
    from then on is this import and what came since."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT form_id, trigger, started_at FROM sync_runs WHERE id = %s FOR UPDATE",
            (run_id,),
        )
        run = await cur.fetchone()
        await conn.execute(
            "UPDATE sync_runs SET status = 'running', started_at = coalesce(started_at, now()),"
            " window_start = %s, window_end = %s WHERE id = %s",
            (window_start, window_end, run_id),
        )
        if run is not None and run[1] == SyncTrigger.MANUAL.value and run[2] is None:
            await conn.execute(_RESET_COUNTERS, (run[0],))


async def record_progress(
    conn: AsyncConnection[Any], run_id: UUID, pages: int, published: int, total: int | None
) -> None:
    await conn.execute(
        "UPDATE sync_runs SET pages = %s, leads_published = %s,"
        " leads_total = coalesce(%s, leads_total) WHERE id = %s",
        (pages, published, total, run_id),
    )


async def finish_run(conn: AsyncConnection[Any], run_id: UUID, error: str | None = None) -> None:
    """End the run. A scheduled run that failed puts its form in backoff (one more failure
    in a row; the next attempt after :func:`backoff_delay`); any run that succeeded ends the
    form's backoff."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE sync_runs SET status = %s, error = %s, finished_at = now() WHERE id = %s"
            " RETURNING form_id, trigger",
            ("failed" if error else "succeeded", error, run_id),
        )
        run = await cur.fetchone()
        if run is None:
            return
        form_id, trigger = run
        if error is None:
            await conn.execute(
                "UPDATE forms SET sync_failures = 0, sync_retry_at = NULL, sync_last_error = NULL"
                " WHERE id = %s AND (sync_failures > 0 OR sync_retry_at IS NOT NULL)",
                (form_id,),
            )
        elif trigger == SyncTrigger.SCHEDULE.value:
            cur = await conn.execute(
                "SELECT sync_failures, sync_interval_hours FROM forms WHERE id = %s FOR UPDATE",
                (form_id,),
            )
            form = await cur.fetchone()
            if form is None:
                return
            failures = form[0] + 1
            await conn.execute(
                "UPDATE forms SET sync_failures = %s, sync_failed_at = now(),"
                " sync_retry_at = now() + %s, sync_last_error = %s WHERE id = %s",
                (failures, backoff_delay(failures, form[1]), error, form_id),
            )


async def run_status(conn: AsyncConnection[Any], run_id: UUID) -> str | None:
    """The run's status alone (``get_run`` also counts what it imported)."""
    cur = await conn.execute("SELECT status FROM sync_runs WHERE id = %s", (run_id,))
    row = await cur.fetchone()
    return str(row[0]) if row else None


_SCHEDULER_LOCK_ID = 0x7363686564  # "sched"


async def try_lead_scheduling(conn: AsyncConnection[Any]) -> bool:
    """Take the schedulers' leadership for this session (a dedicated connection): exactly one
    scheduler schedules; another takes over when the leader's session ends."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_SCHEDULER_LOCK_ID,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def still_leading(conn: AsyncConnection[Any]) -> None:
    """Raise if the leader's session is gone (its lock went with it)."""
    await conn.execute("SELECT 1")


# Disabled accounts are not pulled for: their data stays, nothing new comes in. A form in
# backoff waits for its retry time, unless its connection was made again (or its tokens
# renewed) since the last failure.
_DUE_FORMS = """
SELECT f.account_id, f.id FROM forms f
JOIN accounts a ON a.id = f.account_id AND a.status = 'active'
LEFT JOIN linkedin_connections lc ON lc.account_id = f.account_id AND lc.id = f.connection_id
WHERE f.import_enabled AND f.periodic_sync AND f.connection_id IS NOT NULL
  AND (f.last_synced_at IS NULL
       OR f.last_synced_at + make_interval(hours => f.sync_interval_hours) <= now())
  AND (f.sync_retry_at IS NULL OR f.sync_retry_at <= now()
       OR (lc.status = 'active' AND lc.updated_at > f.sync_failed_at))
  AND NOT EXISTS (SELECT 1 FROM sync_runs r
                  WHERE r.account_id = f.account_id AND r.form_id = f.id
                    AND r.status IN ('queued', 'running'))
ORDER BY f.account_id, f.id
"""


class AccountForm(NamedTuple):
    account_id: int
    form_id: int


async def forms_due(conn: AsyncConnection[Any]) -> list[AccountForm]:
    """Forms with Import and Periodic sync on whose interval (and backoff) has passed and no
    run active, of the accounts in hand (the scheduler holds them all)."""
    cur = await conn.execute(_DUE_FORMS)
    return [AccountForm(account_id, form_id) for account_id, form_id in await cur.fetchall()]


@dataclass(frozen=True)
class QueuedRun:
    run_id: UUID
    account_id: int
    form_id: int
    trigger: SyncTrigger
    options: SyncOptions


async def stale_queued_runs(conn: AsyncConnection[Any]) -> list[QueuedRun]:
    """Runs queued over two minutes ago, whose request may have been lost (a crash between
    recording the run and publishing it), of the accounts in hand: the scheduler publishes
    them again, and the puller ignores a request whose run already ended."""
    cur = await conn.execute(
        "SELECT id, account_id, form_id, trigger, reimport_existing, restart_workflows,"
        " all_submissions FROM sync_runs"
        " WHERE status = 'queued' AND requested_at < now() - interval '2 minutes'"
    )
    return [
        QueuedRun(
            run_id,
            account_id,
            form_id,
            SyncTrigger(trigger),
            SyncOptions(
                reimport_existing=reimport,
                restart_workflows=restart,
                all_submissions=all_submissions,
            ),
        )
        for (
            run_id,
            account_id,
            form_id,
            trigger,
            reimport,
            restart,
            all_submissions,
        ) in await cur.fetchall()
    ]
