"""The faust agents of the import pipeline, and the outbox relay task.

- ``import_leads`` consumes ``leadsync.leads.raw`` in batches; each batch is one database
  transaction. Leads that cannot be imported become events on ``leadsync.errors``.
- ``record_errors`` consumes ``leadsync.errors`` into the error log and the form counters.
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
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
import psycopg
from aiokafka.errors import KafkaError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import ValidationError

from leadsync.settings import Settings
from schemas.events import ErrorEvent
from sinks.alarms import active_alarm, raise_alarm
from sinks.errors import record_errors
from streams.failure_window import FailureWindow
from streams.lead_batches import UNEXPECTED_CODES, ImportResult, Record, import_records
from streams.relay import run_relay

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL or Kafka is unreachable or went away: waiting helps. Anything else does not.
RETRIABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, KafkaError)
ALARM_POLL_S = 5.0


class Pipeline:
    """What the agents share in one worker: settings, the pool, topics, the alarm window."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.settings = settings
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_conninfo(), min_size=1, max_size=4, open=False, timeout=10
        )
        self.errors_topic = app.topic(
            settings.topics.errors, value_type=bytes, value_serializer="raw"
        )
        self.window = FailureWindow(
            settings.alarm_window_records,
            settings.alarm_failure_ratio,
            settings.alarm_min_failures,
        )

    async def retry(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await retry_while_unavailable(operation, self.settings.retry_backoff_max_s)

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
                lambda: self._with_conn(lambda c: import_records(c, records))
            )
            return result.errors
        except Exception as exc:  # unavailability never gets here: it is retried above
            failure = exc
        if len(records) > 1:
            # Bisect: the good records of the batch still go in; the bad one is isolated.
            half = len(records) // 2
            return await self._import(records[:half]) + await self._import(records[half:])
        log.error("record %s failed to import: %r", records[0].ref(), failure)
        message = f"{type(failure).__name__}: {str(failure)[:400]}"
        return [records[0].error("import", "internal_error", message, with_bytes=True)]

    async def publish_errors(self, errors: list[ErrorEvent]) -> None:
        pending = [
            await self.errors_topic.send(
                key=str(e.form_id or "").encode(), value=e.model_dump_json().encode()
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
        await self.retry(lambda: self._with_conn(lambda c: _in_transaction(c, events)))

    async def _with_conn(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        async with self.pool.connection() as conn:
            return await work(conn)


async def _in_transaction(conn: psycopg.AsyncConnection[Any], events: list[ErrorEvent]) -> int:
    async with conn.transaction():
        return await record_errors(conn, events)


def register(app: faust.App, settings: Settings) -> None:
    pipeline = Pipeline(app, settings)
    raw_topic = app.topic(settings.topics.leads_raw, value_type=bytes, value_serializer="raw")

    @app.agent(raw_topic, name="import_leads", concurrency=1)
    async def import_leads(stream: faust.StreamT[bytes]) -> None:
        await pipeline.pool.open(wait=False)
        # take_events (faust >= 0.10) is missing from faust's StreamT type.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.import_batch_size, within=settings.import_batch_window_s
        ):
            await pipeline.import_batch(records_of(events))

    @app.agent(pipeline.errors_topic, name="record_errors", concurrency=1)
    async def record_errors_agent(stream: faust.StreamT[bytes]) -> None:
        await pipeline.pool.open(wait=False)
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.import_batch_size, within=settings.import_batch_window_s
        ):
            await pipeline.record_error_events(records_of(events))

    async def relay() -> None:
        await run_relay(settings)

    app.task(relay)
    del import_leads, record_errors_agent  # registered on the app


def records_of(events: list[Any]) -> list[Record]:
    """The records of a batch from ``take_events``, with where each came from."""
    return [
        Record(e.message.value, e.message.topic, e.message.partition, e.message.offset)
        for e in events
    ]


async def retry_while_unavailable(operation: Callable[[], Awaitable[T]], backoff_max_s: float) -> T:
    """Run ``operation`` until it succeeds or fails for a reason other than availability."""
    delay = 0.1
    while True:
        try:
            return await operation()
        except RETRIABLE as exc:
            log.warning("unavailable (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff_max_s)
