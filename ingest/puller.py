"""The puller: executes one sync run, LinkedIn -> ``leadsync.leads.raw``.

A run is its account's: the puller reads and records it with that account in hand
(``Database.account``), reaches LinkedIn through that account's connection (its tokens),
and every lead it publishes names the account (keyed "account:lead"), so that the import
writes it into that account only. Two accounts connected to one ad account pull the same
form each with its own run, its own watermark and its own tokens.

Guarantee: every lead LinkedIn returns for the run's window is on the raw topic (acks=all)
before the run is marked succeeded and before the form's watermark moves past it. A run
interrupted by a crash is executed again from the start of its window when its request is
redelivered; the lead-id ledger absorbs what the first attempt already published.

Errors (drawn as the client's tree, see linkedin.errors):
- ``ReconnectRequired``: the connection is marked expired/revoked (the form turns red) and the
  run fails with a sentence saying so;
- a retriable error (leadsync.errors) after the client's own retries: the run starts over
  after a pause, a bounded number of times (``RUN_RETRY``), then fails (the next tick or
  request tries again);
- any other ``LinkedInError``: the run fails with LinkedIn's message.

A run is a trace (leadsync.tracing): its log lines carry the trace id, and every record it
publishes carries the run's ``traceparent`` header, so its leads' later stages log in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.pull_window import FormPullState, Window, next_watermark, plan_window
from leadsync import metrics, tracing
from leadsync.errors import PermanentError
from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.retry import RetryPolicy
from leadsync.settings import Settings
from linkedin import LinkedInClient, LinkedInError, Owner, Page, ReconnectRequired, Rejected
from schemas.envelopes import RawLead, SyncRequest, SyncTrigger
from schemas.events import ErrorEvent
from schemas.linkedin import Lead, versioned_form
from sinks import sync_runs
from sinks.connections import PostgresTokenStore, mark_refused, reconnect_reason
from sinks.database import Database
from sinks.forms import FormToPull, advance_watermark, form_to_pull

log = logging.getLogger(__name__)

ORGANIC_LEAD_TYPES = ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")
# A run LinkedIn keeps failing (after the client's own retries, which honoured Retry-After)
# starts over twice, after 5-10 s then 10-20 s, then fails: the next tick tries again.
RUN_RETRY = RetryPolicy(max_attempts=3, base_delay_s=10.0, max_delay_s=60.0, use_retry_after=False)
GC_THRESHOLD = 50_000  # allocations between collections during a run (CPython: 700)


class RunRefused(PermanentError):
    """The form cannot be pulled as it is configured; the message says why."""


@dataclass(frozen=True)
class Target:
    state: FormPullState
    owner_urn: str
    lead_type: str | None
    connection_id: int

    def owner(self) -> Owner:
        return Owner.from_urn(self.owner_urn)

    def lead_types(self) -> tuple[str, ...]:
        return (self.lead_type,) if self.lead_type else lead_types_of(self.owner())


def lead_key(account_id: int, lead_id: str) -> bytes:
    """A raw lead's record key: the account's lead, so that one account's records of a lead
    stay in order and two accounts' copies spread over the partitions."""
    return f"{account_id}:{lead_id}".encode()


def lead_types_of(owner: Owner) -> tuple[str, ...]:
    """Every lead type an owner can have: sponsored for an ad account, else the organic ones."""
    return ("SPONSORED",) if owner.kind == "sponsoredAccount" else ORGANIC_LEAD_TYPES


@dataclass
class Progress:
    pages: int = 0
    published: int = 0
    total: int | None = None


def pull_target(form_id: int, form: FormToPull | None) -> Target:
    """What the run pulls, or :class:`RunRefused` saying why the form cannot be pulled."""
    if form is None:
        raise RunRefused(f"form {form_id} is not known")
    state = FormPullState(
        form.form_id,
        form.import_enabled,
        form.watermark,
        form.import_enabled_at,
        form.created_on_linkedin,
    )
    if not state.import_enabled:
        raise RunRefused(f"Import is off for form {form_id}: switch it on to pull its leads")
    if form.owner_urn is None or form.connection_id is None:
        raise RunRefused(
            f"form {form_id} has no LinkedIn owner or connection: run `leadsync forms discover`"
        )
    return Target(state, form.owner_urn, form.lead_type, form.connection_id)


class Puller:
    def __init__(self, settings: Settings, db: Database, publisher: AsyncPublisher) -> None:
        self.settings = settings
        self.db = db
        self.publisher = publisher

    async def execute(
        self, request: SyncRequest, on_progress: Callable[[Progress], None] | None = None
    ) -> None:
        """Run the request to its end, recording everything on its sync run."""
        settings, db = self.settings, self.db
        account_id = request.account_id
        with _fewer_collections(), tracing.traced(tracing.Trace.start()):
            async with db.account(account_id) as conn:
                status = await sync_runs.run_status(conn, request.run_id)
                form = await form_to_pull(conn, request.form_id)
            if status in (None, "succeeded", "failed"):
                return  # a redelivered request whose run already ended
            try:
                target = pull_target(request.form_id, form)
            except RunRefused as exc:
                async with db.account(account_id) as conn:
                    await sync_runs.finish_run(conn, request.run_id, str(exc))
                _count_run(request, "refused")
                return
            window = plan_window(
                target.state,
                request.trigger,
                request.options,
                datetime.now(UTC),
                timedelta(minutes=settings.pull_overlap_minutes),
                timedelta(days=settings.linkedin_retention_days),
            )
            async with db.account(account_id) as conn:
                await sync_runs.start_run(conn, request.run_id, window.start, window.end)
            log.info(
                "sync run %s of form %s (account %s) started: %s to %s",
                request.run_id,
                request.form_id,
                account_id,
                window.start.isoformat(),
                window.end.isoformat(),
            )
            error = await self._attempts(request, target, window, on_progress)
            async with db.account(account_id) as conn, conn.transaction():
                if error is None:
                    watermark = next_watermark(target.state.watermark, window)
                    await advance_watermark(conn, request.form_id, watermark)
                await sync_runs.finish_run(conn, request.run_id, error)
            _count_run(request, "failed" if error else "succeeded")
            log.info(
                "sync run %s of form %s (account %s): %s",
                request.run_id,
                request.form_id,
                account_id,
                error or "succeeded",
            )

    async def _attempts(
        self,
        request: SyncRequest,
        target: Target,
        window: Window,
        on_progress: Callable[[Progress], None] | None,
    ) -> str | None:
        """None when the run pulled its window, else why it failed."""
        try:
            await RUN_RETRY.call(
                lambda: self._pull(request, target, window, on_progress),
                what=f"sync run {request.run_id}",
                logger=log,
                retry_if=lambda exc: isinstance(exc, LinkedInError) and exc.retriable,
            )
        except ReconnectRequired:
            async with self.db.account(request.account_id) as conn:
                return reconnect_reason(await mark_refused(conn, target.connection_id))
        except LinkedInError as exc:
            if exc.retriable:
                return (
                    f"LinkedIn stayed unavailable after {RUN_RETRY.max_attempts} attempts;"
                    " will retry later"
                )
            return f"LinkedIn answered {exc.status}: {exc.message}"
        return None

    async def _pull(
        self,
        request: SyncRequest,
        target: Target,
        window: Window,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        settings = self.settings
        origin = _origin(request)
        progress = Progress()
        start_ms, end_ms = window.epoch_ms()
        owner = target.owner()
        store = PostgresTokenStore(settings, self.db, request.account_id, target.connection_id)
        async with LinkedInClient.from_settings(settings, store) as linkedin:
            for lead_type in target.lead_types():
                pages = linkedin.iter_lead_pages(
                    owner,
                    lead_type,
                    start_ms,
                    end_ms,
                    page_size=settings.pull_page_size,
                )
                # A page's records are queued, then the next page is fetched and parsed while
                # Kafka acknowledges them; a page counts as published (and its progress is
                # recorded) only once every one of its records was acknowledged.
                queued: list[tuple[asyncio.Future[Any], int, Page[Lead]]] = []
                try:
                    async for page in pages:
                        queued.append((*self._publish_page(page, request, origin), page))
                        if len(queued) > 1:
                            await self._settle_page(request, progress, on_progress, queued)
                    if queued:
                        await self._settle_page(request, progress, on_progress, queued)
                finally:
                    for acknowledged, _, _ in queued:  # the walk failed: the attempt starts over
                        acknowledged.cancel()

    async def _settle_page(
        self,
        request: SyncRequest,
        progress: Progress,
        on_progress: Callable[[Progress], None] | None,
        queued: list[tuple[asyncio.Future[Any], int, Page[Lead]]],
    ) -> None:
        """Wait for the oldest queued page's acknowledgements, then record it as published."""
        acknowledged, published, page = queued[0]
        await acknowledged
        del queued[0]
        progress.pages += 1
        progress.published += published
        metrics.LEADS_PUBLISHED_TOTAL.labels(_origin(request)).inc(published)
        progress.total = page.total
        async with self.db.account(request.account_id) as conn:
            await sync_runs.record_progress(
                conn, request.run_id, progress.pages, progress.published, progress.total
            )
        if on_progress:
            on_progress(progress)

    def _publish_page(
        self, page: Page[Lead], request: SyncRequest, origin: str
    ) -> tuple[asyncio.Future[Any], int]:
        """Queue the page's leads of the run's form; the future resolves once Kafka has every
        one of them. Returns it with the number of leads queued."""
        records = []
        for lead in page.elements:
            # The finder answers for the owner; other forms' leads belong to their own runs.
            if _form_of(lead) != request.form_id:
                continue
            raw = RawLead.model_validate(
                {
                    "lead": lead,
                    "origin": origin,
                    "account_id": request.account_id,
                    "sync_run_id": request.run_id,
                    "options": request.options,
                }
            )
            records.append((lead_key(request.account_id, lead.id), raw.to_record()))
        topics = self.settings.topics
        trace = tracing.current()
        headers = trace.headers() if trace is not None else None
        acknowledged: asyncio.Future[Any] = self.publisher.send_all(
            topics.leads_raw, records, headers
        )
        # A lead LinkedIn sent but leadsync cannot read is an error event, never only a log
        # line; the page counts as published once Kafka has those too.
        errors = [
            (
                f"{request.account_id}:{request.form_id}".encode(),
                _unreadable(r, request, origin).model_dump_json().encode(),
            )
            for r in page.rejected
            if _rejected_form(r) in (None, request.form_id)
        ]
        metrics.LEADS_RECEIVED_TOTAL.labels(origin).inc(len(records) + len(errors))
        if errors:
            log.error(
                "sync run %s: %d unreadable leads on page %d",
                request.run_id,
                len(errors),
                page.number,
            )
            acknowledged = asyncio.gather(
                acknowledged, self.publisher.send_all(topics.errors, errors, headers)
            )
        return acknowledged, len(records)


def _origin(request: SyncRequest) -> str:
    """The origin of the leads a run publishes."""
    return "schedule" if request.trigger is SyncTrigger.SCHEDULE else "manual"


def _count_run(request: SyncRequest, outcome: str) -> None:
    metrics.SYNC_RUNS_TOTAL.labels(_origin(request), outcome).inc()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a run pulls.

    Decoding and parsing a page allocates about a hundred containers per lead; at CPython's
    default threshold (a collection every 700 allocations) the collector ran some 140 times
    per page of 1,000 and cost a third of the parsing. Leads hold no reference cycles:
    reference counting frees each page once it is published, whatever the threshold.
    """
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _unreadable(rejected: Rejected, request: SyncRequest, origin: str) -> ErrorEvent:
    raw = rejected.raw if isinstance(rejected.raw, dict) else {}
    lead_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    text = json.dumps(rejected.raw, default=str)[:4096]
    return ErrorEvent(
        error_id=uuid.uuid5(uuid.NAMESPACE_URL, f"leadsync:{request.run_id}:{lead_id}:{text}"),
        occurred_at=datetime.now(UTC),
        stage="pull",
        code="unreadable_lead",
        message=f"LinkedIn returned a lead leadsync cannot read: {rejected.reason}",
        account_id=request.account_id,
        form_id=request.form_id,
        lead_id=lead_id,
        origin=origin,
        sync_run_id=request.run_id,
        raw_ref={"bytes": text, **_trace_ref()},
    )


def _trace_ref() -> dict[str, str]:
    """The run's ``traceparent`` for an error event's ``raw_ref``."""
    trace = tracing.current()
    return {tracing.TRACEPARENT: trace.traceparent} if trace is not None else {}


def _rejected_form(rejected: Rejected) -> int | None:
    """The form of a lead that could not be read, when its URN at least is readable."""
    urn = rejected.raw.get("versionedLeadGenFormUrn") if isinstance(rejected.raw, dict) else None
    try:
        return versioned_form(urn)[0] if isinstance(urn, str) else None
    except ValueError:
        return None


def _form_of(lead: Lead) -> int | None:
    try:
        return lead.form_version()[0]
    except ValueError:
        return None
