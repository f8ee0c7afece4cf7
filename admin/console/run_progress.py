"""Where a sync run stands, as the form page follows it: queued, running, importing, done.

A run ends (``succeeded`` or ``failed``) when the puller has published its leads; the
worker imports them a moment later. The page follows the run until those imports have
settled, as ``leadsync sync`` does, so that its last figures are the run's and not a
snapshot of leads still on their way: every lead it published is in the ledger or the
error log, or the count stood still for ``SETTLE_IDLE`` (a lead imported by an earlier run
is skipped without a trace in this one; without a worker nothing moves at all).

The page is stateless between polls: each answer carries the count it saw and since when
(``seen``, ``since``), and the next poll sends them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from admin.dependencies import AccountScope
from admin.models import Run
from sinks import sync_runs

Phase = Literal["queued", "running", "importing", "done"]

SETTLE_IDLE = timedelta(seconds=5)
# A run that ended longer ago than this is shown as done when a page first shows it: its
# imports have had their time (a live poll still follows one whose count is moving).
RECENT = timedelta(minutes=10)


@dataclass(frozen=True)
class RunProgress:
    run: Run
    # Leads of the run the worker has dealt with: in the ledger, or in the error log after
    # they reached Kafka.
    processed: int
    phase: Phase
    # The count seen and since when it stands still (the next poll sends them back).
    seen: int
    since: datetime

    @property
    def following(self) -> bool:
        """Whether the page keeps polling this run."""
        return self.phase != "done"


def run_phase(
    run: Run, processed: int, now: datetime, seen: int | None, since: datetime | None
) -> tuple[Phase, int, datetime]:
    """The run's phase, and the count and moment the next poll carries (``since`` without
    an offset is UTC: the page sends back what it was given, but a URL can be edited)."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if run.status in ("queued", "running"):
        return run.status, processed, now
    if processed >= run.leads_published:
        return "done", processed, now
    if seen is None or since is None:
        # The page's first sight of the ended run: follow it if it ended recently.
        recent = run.finished_at is not None and now - run.finished_at < RECENT
        return ("importing" if recent else "done"), processed, now
    if processed != seen:
        return "importing", processed, now
    return ("done" if now - since >= SETTLE_IDLE else "importing"), seen, since


async def read_progress(
    scope: AccountScope,
    run_id: UUID,
    now: datetime,
    seen: int | None = None,
    since: datetime | None = None,
) -> RunProgress | None:
    """The account's run with what it imported so far (None: no such run for it)."""
    async with scope.connection() as conn:
        row = await sync_runs.get_run(conn, run_id)
        if row is None:
            return None
        unpublished = await sync_runs.unpublished_errors(conn, run_id)
    run = Run.model_validate(row)
    processed = row["leads_in_ledger"] + row["errors"] - unpublished
    phase, seen, since = run_phase(run, processed, now, seen, since)
    return RunProgress(run, processed, phase, seen, since)
