"""The faust agents of the import pipeline, and the outbox relay task.

- ``import_leads`` consumes ``leadsync.leads.raw`` in batches; each batch is one database
  transaction, whatever the number of accounts its leads are of. Leads that cannot be
  imported become events on ``leadsync.errors``.
- ``record_errors`` consumes ``leadsync.errors`` into the error log and the form counters of
  each event's account (``pipeline_errors`` for the events of no account).
- the relay publishes committed contact changes (:mod:`streams.relay`).

faust's ``take_events()`` acks its events whatever happens in the loop body, so no exception
may escape it (shared/stack-notes.md): outages of PostgreSQL or Kafka are retried here, with
back-off, until they pass; a batch that fails for any other reason is split until the one
record at fault is found and reported as an error event. Nothing is skipped silently.

Every agent runs with ``concurrency=1``: with more, faust can commit an offset past an
event still being processed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import faust
import psycopg
from pydantic import ValidationError

from leadsync import metrics, tracing
from leadsync.retry import RetryPolicy
from leadsync.settings import Settings
from schemas.events import ErrorEvent
from sinks.alarms import active_alarm, raise_alarm
from sinks.context_cache import ContextCache
from sinks.database import Database
from sinks.error_log import accounts_of, record_errors
from streams.batching import take_ready
from streams.failure_window import FailureWindow
from streams.lead_batches import UNEXPECTED_CODES, ImportResult, decode, import_records
from streams.records import Record, error_headers
from streams.relay import run_relay

log = logging.getLogger(__name__)
T = TypeVar("T")

ALARM_POLL_S = 5.0


def outage_policy(settings: Settings) -> RetryPolicy:
    """How the agents wait out PostgreSQL or Kafka being away: until they are back, as no
    exception may leave an agent's loop."""
    return RetryPolicy(
        max_attempts=None, base_delay_s=0.1, max_delay_s=settings.retry_backoff_max_s
    )


class BatchImporter:
    """The work of the import and error agents on one batch: import it in one transaction,
    publish what failed as error events, keep the pipeline alarm's window."""

    def __init__(self, app: faust.App, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.outages = outage_policy(settings)
        self.errors_topic = app.topic(
            settings.topics.errors, value_type=bytes, value_serializer="raw"
        )
        # Forms' import contexts between batches (checked against the database each time).
        self.contexts = ContextCache()
        self.window = FailureWindow(
            settings.alarm_window_records,
            settings.alarm_failure_ratio,
            settings.alarm_min_failures,
        )

    async def retry(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await self.outages.call(operation, what="import pipeline", logger=log)

    async def import_batch(self, records: list[Record]) -> None:
        await self.wait_while_alarm()
        errors = await self._import(records)
        unexpected = sum(1 for e in errors if e.code in UNEXPECTED_CODES)
        if self.window.add(len(records), unexpected):
            reason = self.window.describe()
            log.critical(
                "PIPELINE ALARM: %s; processing stops until `leadsync alarm clear`", reason
            )
            await self.retry(lambda: self._with_conn(lambda c: raise_alarm(c, reason)))
            self.window.reset()
            await self.wait_while_alarm()
        if errors:
            await self.retry(lambda: self.publish_errors(errors))

    async def _import(self, records: list[Record]) -> list[ErrorEvent]:
        try:
            result: ImportResult = await self.retry(
                lambda: self._with_conn(lambda c: import_records(c, records, self.contexts))
            )
            return result.errors
        except Exception as exc:  # unavailability never gets here: it is retried above
            failure = exc
        if len(records) > 1:
            # Bisect: the good records of the batch still go in; the bad one is isolated.
            half = len(records) // 2
            return await self._import(records[:half]) + await self._import(records[half:])
        log.error("record %s failed to import: %r", records[0].ref(), failure)
        return [_internal_error(records[0], failure)]

    async def publish_errors(self, errors: list[ErrorEvent]) -> None:
        pending = [
            await self.errors_topic.send(
                key=str(e.form_id or "").encode(),
                value=e.model_dump_json().encode(),
                headers=error_headers(e),
            )
            for e in errors
        ]
        await asyncio.gather(*pending)

    async def wait_while_alarm(self) -> None:
        while alarm := await self.retry(lambda: self._with_conn(active_alarm)):
            log.critical(
                "PIPELINE ALARM since %s: %s; waiting for `leadsync alarm clear`",
                alarm.raised_at,
                alarm.reason,
            )
            await asyncio.sleep(ALARM_POLL_S)

    async def record_error_events(self, records: list[Record]) -> None:
        events = []
        for record in records:
            try:
                events.append(ErrorEvent.model_validate_json(record.value))
            except ValidationError as exc:  # even a broken error event is kept
                message = " ".join(str(exc).splitlines()[:2])[:400]
                events.append(
                    record.error("errors", "undecodable_error_event", message, with_bytes=True)
                )
        await self.retry(lambda: self._record(events))
        log.info(
            "recorded %d error events: %s",
            len(events),
            ", ".join(sorted({f"{e.stage}/{e.code}" for e in events})),
            extra={"trace_ids": sorted({r.trace.trace_id for r in records if r.trace})},
        )
        for event in events:
            stage, code = metrics.bounded(event.stage), metrics.bounded(event.code)
            metrics.ERRORS_RECORDED_TOTAL.labels(stage, code).inc()

    async def _record(self, events: list[ErrorEvent]) -> int:
        """Into the log of each event's account, all of them in hand, in one transaction.
        An event PostgreSQL refuses (a value out of its types' range, text it cannot hold)
        must not take the batch with it (an exception leaving the agent loses it): the
        events are then written one by one, and one still refused is kept without the
        details it was refused for."""
        try:
            async with self.db.accounts(accounts_of(events)) as conn:
                return await record_errors(conn, events)
        except psycopg.DataError:
            if len(events) == 1:
                return await self._record_without_details(events[0])
        return sum([await self._record([event]) for event in events])

    async def _record_without_details(self, event: ErrorEvent) -> int:
        try:
            async with self.db.accounts(accounts_of([event])) as conn:
                bare = _without_details(event)
                log.error(
                    "error event %s refused by PostgreSQL: stored without its details: %s",
                    event.error_id,
                    event.model_dump_json()[:2000],
                )
                return await record_errors(conn, [bare])
        except psycopg.DataError:
            log.exception("error event %s cannot be stored at all", event.error_id)
            return 0

    async def _with_conn(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        async with self.db.connection() as conn:
            return await work(conn)


def _without_details(event: ErrorEvent) -> ErrorEvent:
    """The event reduced to what PostgreSQL always takes: its id, time, stage, code and
    account (the operator's log when the account is out of range), and a message that says
    so; the full event is in the worker's log line."""
    account = (
        event.account_id if event.account_id is not None and 0 < event.account_id < 2**63 else None
    )
    return event.model_copy(
        update={
            "message": "stored without its details, which PostgreSQL refused (the worker's"
            " log has the whole event)",
            "account_id": account,
            "form_id": None,
            "lead_id": None,
            "field": None,
            "origin": None,
            "sync_run_id": None,
            "raw_ref": None,
            "stage": event.stage[:100],
            "code": event.code[:100],
        }
    )


def _internal_error(record: Record, failure: Exception) -> ErrorEvent:
    """The error of a record that failed for a reason of its own: on its lead and its
    account's log when the record tells them (the operator's log otherwise)."""
    message = f"{type(failure).__name__}: {str(failure)[:400]}"
    leads = decode([record]).leads
    if leads:
        raw = leads[0][1]
        form_id, _ = raw.lead.form_version()
        return record.error("import", "internal_error", message, raw, form_id=form_id,
                            with_bytes=True)  # fmt: skip
    return record.error("import", "internal_error", message, with_bytes=True)


def register(app: faust.App, settings: Settings, db: Database) -> None:
    importer = BatchImporter(app, settings, db)
    raw_topic = app.topic(settings.topics.leads_raw, value_type=bytes, value_serializer="raw")

    @app.agent(raw_topic, name="import_leads", concurrency=1)
    async def import_leads(stream: faust.StreamT[bytes]) -> None:
        async for records in batches(stream, settings):
            await importer.import_batch(records)

    @app.agent(importer.errors_topic, name="record_errors", concurrency=1)
    async def record_errors_agent(stream: faust.StreamT[bytes]) -> None:
        async for records in batches(stream, settings):
            await importer.record_error_events(records)

    async def relay() -> None:
        await run_relay(settings, db)

    app.task(relay)
    del import_leads, record_errors_agent  # registered on the app


async def batches(stream: faust.StreamT[bytes], settings: Settings) -> AsyncIterator[list[Record]]:
    """The stream's records in batches of up to ``import_batch_size``, each with where it
    came from and its span of the trace its headers carry; a batch closes once the stream
    has been quiet for ``import_batch_idle_s``, and at the latest ``import_batch_window_s``
    after its first record (:func:`streams.batching.take_ready`)."""
    async for events in take_ready(
        stream,
        settings.import_batch_size,
        within=settings.import_batch_window_s,
        idle_s=settings.import_batch_idle_s,
    ):
        yield [
            Record(
                e.message.value or b"",  # a tombstone: undecodable, logged
                e.message.topic,
                e.message.partition,
                e.message.offset,
                tracing.following(tracing.from_headers(e.message.headers)),
            )
            for e in events
        ]
