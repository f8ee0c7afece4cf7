"""The faust agents of the import pipeline.

``import_leads`` consumes ``leadsync.leads.raw`` in batches; each batch is one database
transaction. faust's ``take_events()`` acks its events whatever happens in the loop body,
so no exception may escape it (shared/stack-notes.md): database outages are retried here,
with back-off, until they pass; a batch that fails for any other reason is split until the
one record at fault is found and written to the error log. Nothing is skipped silently.

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
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from leadsync.settings import Settings
from sinks.errors import record_internal_error
from streams.importer import Record, import_records

log = logging.getLogger(__name__)
T = TypeVar("T")

# The database is unreachable or went away: waiting helps. Anything else does not.
RETRIABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def register(app: faust.App, settings: Settings) -> None:
    raw_topic = app.topic(
        settings.topics.leads_raw, key_type=bytes, value_type=bytes, value_serializer="raw"
    )
    pool = AsyncConnectionPool(
        settings.database_conninfo(), min_size=1, max_size=2, open=False, timeout=10
    )

    @app.agent(raw_topic, name="import_leads", concurrency=1)
    async def import_leads(stream: faust.StreamT[bytes]) -> None:
        await pool.open(wait=False)
        try:
            # take_events (faust >= 0.10) is missing from faust's StreamT type.
            async for events in stream.take_events(  # type: ignore[attr-defined]
                settings.import_batch_size, within=settings.import_batch_window_s
            ):
                records = [
                    Record(e.message.value, e.message.topic, e.message.partition, e.message.offset)
                    for e in events
                ]
                await _import(pool, records, settings)
        finally:
            await pool.close()


async def _import(
    pool: AsyncConnectionPool[Any], records: list[Record], settings: Settings
) -> None:
    try:
        await retry_while_unavailable(
            lambda: _import_once(pool, records), settings.retry_backoff_max_s
        )
        return
    except Exception as exc:  # unavailability never gets here: it is retried above
        failure = exc
    if len(records) > 1:
        # Bisect: the good records of the batch still go in; the bad one is isolated.
        half = len(records) // 2
        await _import(pool, records[:half], settings)
        await _import(pool, records[half:], settings)
        return
    log.error(
        "record %s failed to import (%r); writing it to the error log", records[0].ref(), failure
    )
    await retry_while_unavailable(
        lambda: _report(pool, records[0], failure), settings.retry_backoff_max_s
    )


async def _import_once(pool: AsyncConnectionPool[Any], records: list[Record]) -> None:
    async with pool.connection() as conn:
        await import_records(conn, records)


async def _report(pool: AsyncConnectionPool[Any], record: Record, failure: Exception) -> None:
    async with pool.connection() as conn:
        await record_internal_error(conn, record.raw_ref(), failure)


async def retry_while_unavailable(operation: Callable[[], Awaitable[T]], backoff_max_s: float) -> T:
    """Run ``operation`` until it succeeds or fails for a reason other than availability."""
    delay = 0.1
    while True:
        try:
            return await operation()
        except RETRIABLE as exc:
            log.warning("database unavailable (%s); retrying in %.1f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff_max_s)
