"""The outbox relay: publishes committed contact changes to ``leadsync.contact-changes``.

Guarantee: at least once, in commit order per contact. A row is marked published only after
Kafka acknowledged its event; a crash in between re-publishes it with the same CloudEvents
id. One relay publishes at a time (a PostgreSQL session lock), whatever the number of workers.
Each event goes out with its lead's ``traceparent`` header when its row has one, and each
batch's log line names the traces it ended (leadsync.tracing).

It publishes with confluent-kafka rather than the worker's faust producer: librdkafka
batches and sends on its own threads, where faust's producer spent ~40 us of the event
loop's time per event, the loop that also imports the leads (bench/pipeline.py).
"""

from __future__ import annotations

import asyncio
import logging

from leadsync import tracing
from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.retry import RetryPolicy
from leadsync.settings import Settings
from sinks.database import Database, hold_every_account
from sinks.outbox import OUTBOX_CHANNEL, mark_published, try_become_relay, unpublished

log = logging.getLogger(__name__)

CLOUDEVENTS_JSON: list[tuple[str, str | bytes]] = [
    ("content-type", b"application/cloudevents+json; charset=utf-8")
]


async def run_relay(settings: Settings, db: Database) -> None:
    """Publish outbox rows until the worker stops (faust cancels this task)."""
    publisher = AsyncPublisher(settings, **{"linger.ms": 5})
    # Any failure pauses the relay, never ends it: the outbox keeps every row meanwhile.
    policy = RetryPolicy(
        max_attempts=None, base_delay_s=0.1, max_delay_s=settings.retry_backoff_max_s
    )
    try:
        await policy.call(
            lambda: _relay(db, publisher, settings),
            what="outbox relay paused",
            logger=log,
            retry_if=lambda _exc: True,
            fresh_after_s=settings.retry_backoff_max_s,
        )
    finally:
        # Whatever is still unacknowledged stays unpublished in the outbox: no need to wait.
        await asyncio.to_thread(publisher.close, 1.0)


async def _relay(db: Database, publisher: AsyncPublisher, settings: Settings) -> None:
    # The relay lock lives with its session: a connection of its own, closed on failure.
    async with db.dedicated() as conn:
        while not await try_become_relay(conn):  # noqa: ASYNC110 - polls PostgreSQL
            await asyncio.sleep(5.0)
        log.info("outbox relay active")
        await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        topic = settings.topics.contact_changes
        while True:
            # The relay serves every account: all of them in hand, looked up again each
            # time, so that a new account's events are not left behind.
            async with conn.transaction():
                await hold_every_account(conn)
                rows = await unpublished(conn, settings.relay_batch_size)
            if not rows:
                # Until a transaction that wrote outbox rows commits (its NOTIFY), or the
                # poll interval ends (rows written by an older leadsync, a lost wake-up).
                async for _ in conn.notifies(timeout=settings.relay_idle_s, stop_after=1):
                    break
                continue
            records = [(row.key.encode(), row.event.encode()) for row in rows]
            traces = [tracing.parse(row.traceparent) for row in rows]
            # Resolves once Kafka acknowledged every event (acks=all), else raises PublishError.
            await publisher.send_all(
                topic,
                records,
                headers=CLOUDEVENTS_JSON,
                # The relay's span of each lead's trace is the event's parent.
                record_headers=[t.child().headers() if t else None for t in traces],
            )
            async with conn.transaction():
                await hold_every_account(conn)
                await mark_published(conn, [row.id for row in rows])
            log.info(
                "relayed %d contact changes to %s",
                len(rows),
                topic,
                extra={"trace_ids": sorted({t.trace_id for t in traces if t})},
            )
