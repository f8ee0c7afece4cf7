"""``leadsync scheduler``: periodic syncs and the execution of every sync request.

Two loops in one process:
- the **schedule** (leader only): every tick, each form with Import and Periodic sync on
  whose interval has passed gets a sync run and a request on ``leadsync.sync-requests``.
  Exactly one scheduler schedules at a time: the leader holds a PostgreSQL session lock, and
  another takes over when its connection dies.
- the **puller**: consumes ``leadsync.sync-requests`` (manual and scheduled alike) and
  executes each run; the request's offset is committed only after its run ended, so a
  crash mid-run delivers it again and the run is resumed from the start of its window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaException, Message

from ingest.puller import Puller
from ingest.subscriptions import ensure_subscriptions
from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.settings import Settings
from schemas.envelopes import SyncOptions, SyncRequest, SyncTrigger
from sinks import sync_runs

log = logging.getLogger(__name__)

_LEADER_LOCK_ID = 0x7363686564  # "sched"
SUBSCRIPTION_ROUND_S = 3600.0

DUE_FORMS = """
SELECT f.id FROM forms f
WHERE f.import_enabled AND f.periodic_sync AND f.connection_id IS NOT NULL
  AND (f.last_synced_at IS NULL
       OR f.last_synced_at + make_interval(hours => f.sync_interval_hours) <= now())
  AND NOT EXISTS (SELECT 1 FROM sync_runs r
                  WHERE r.form_id = f.id AND r.status IN ('queued', 'running'))
ORDER BY f.id
"""

# A run queued this long ago whose request may have been lost (crash between recording the
# run and publishing it): its request is published again; the puller ignores duplicates.
STALE_QUEUED = (
    "SELECT id, form_id, trigger, reimport_existing, restart_workflows, all_submissions"
    " FROM sync_runs WHERE status = 'queued' AND requested_at < now() - interval '2 minutes'"
)


async def request_run(
    settings: Settings,
    publisher: AsyncPublisher,
    run_id: Any,
    form_id: int,
    trigger: SyncTrigger,
    options: SyncOptions,
) -> None:
    request = SyncRequest(run_id=run_id, form_id=form_id, trigger=trigger, options=options)
    await publisher.publish(settings.topics.sync_requests, request.key(), request.to_record())


async def schedule_forever(settings: Settings, publisher: AsyncPublisher) -> None:
    while True:
        try:
            with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
                while not _try_lead(conn):  # noqa: ASYNC110 - polls PostgreSQL
                    await asyncio.sleep(settings.scheduler_tick_s)
                log.info("this scheduler is the leader")
                subscribed: set[tuple[str, str]] = set()
                round_started = time.monotonic()
                while True:
                    await _tick(conn, settings, publisher)
                    # A form switched on since the last tick gets its push subscription;
                    # every hour all owners are checked again (and failures retried).
                    if time.monotonic() - round_started > SUBSCRIPTION_ROUND_S:
                        subscribed.clear()
                        round_started = time.monotonic()
                    await ensure_subscriptions(settings, conn, subscribed)
                    await asyncio.sleep(settings.scheduler_tick_s)
        except (psycopg.OperationalError, KafkaException) as exc:
            log.warning("scheduler paused (%s); retrying", exc)
            await asyncio.sleep(min(settings.scheduler_tick_s, 10.0))


def _try_lead(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LEADER_LOCK_ID,)).fetchone()
    return bool(row and row[0])


async def _tick(
    conn: psycopg.Connection[Any], settings: Settings, publisher: AsyncPublisher
) -> None:
    for (form_id,) in conn.execute(DUE_FORMS).fetchall():
        try:
            run_id = sync_runs.create_run(conn, form_id, SyncTrigger.SCHEDULE, SyncOptions())
        except sync_runs.RunAlreadyActive:
            continue
        await request_run(settings, publisher, run_id, form_id, SyncTrigger.SCHEDULE, SyncOptions())
        log.info("scheduled sync run %s for form %s", run_id, form_id)
    for run_id, form_id, trigger, reimport, restart, all_submissions in conn.execute(
        STALE_QUEUED
    ).fetchall():
        options = SyncOptions(
            reimport_existing=reimport,
            restart_workflows=restart,
            all_submissions=all_submissions,
        )
        await request_run(settings, publisher, run_id, form_id, SyncTrigger(trigger), options)


async def pull_forever(settings: Settings, puller: Puller) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"{settings.topic_prefix}-puller",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # A backfill can take minutes; the request stays ours until its run ended.
            "max.poll.interval.ms": 3_600_000,
            "session.timeout.ms": int(settings.kafka_session_timeout_s * 1000),
        }
    )
    consumer.subscribe([settings.topics.sync_requests])
    try:
        while True:
            message: Message | None = await asyncio.to_thread(consumer.poll, 1.0)
            if message is None or message.error():
                continue
            try:
                request = SyncRequest.model_validate_json(message.value() or b"")
            except ValueError as exc:
                log.error("ignoring an unreadable sync request: %s", exc)
            else:
                await puller.execute(request)
            await asyncio.to_thread(consumer.commit, message, asynchronous=False)
    finally:
        await asyncio.to_thread(consumer.close)


async def run_scheduler(settings: Settings) -> None:
    publisher = AsyncPublisher(settings)
    try:
        await asyncio.gather(
            schedule_forever(settings, publisher),
            pull_forever(settings, Puller(settings, publisher)),
        )
    finally:
        publisher.close()
