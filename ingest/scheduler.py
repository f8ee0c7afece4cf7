"""``leadsync scheduler``: periodic syncs and the execution of every sync request.

Two loops in one process:
- the **schedule** (leader only): every tick, each form of every (active) account with
  Import and Periodic sync on whose interval has passed gets a sync run in that account and
  a request naming it on ``leadsync.sync-requests``. A form whose last scheduled runs
  failed (a revoked connection, LinkedIn down) backs off instead of failing a run every
  tick: 5 minutes, doubling up to its interval (:func:`sinks.sync_runs.backoff_delay`).
  The scan reads every account at once (one query, not one per account: a platform has
  thousands); each run is then written with its own account alone in hand.
  Exactly one scheduler schedules at a time: the leader holds a PostgreSQL session lock, and
  another takes over when its connection dies.
- the **puller**: consumes ``leadsync.sync-requests`` (manual and scheduled alike) and
  executes each run; the request's offset is committed only after its run ended, so a
  crash mid-run delivers it again and the run is resumed from the start of its window.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from confluent_kafka import Consumer, Message
from psycopg import AsyncConnection

from ingest.puller import Puller
from ingest.subscriptions import ensure_subscriptions
from ingest.sync_requests import publish_request
from leadsync import metrics
from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.kafka.reachability import KafkaProbe
from leadsync.ops_server import Check, ops_app, serve_ops
from leadsync.retry import RetryPolicy
from leadsync.settings import Settings
from schemas.envelopes import SyncOptions, SyncRequest, SyncTrigger
from sinks import sync_runs
from sinks.database import Database
from sinks.reachability import database_answers
from sinks.token_expiry import warn_expiring

log = logging.getLogger(__name__)

SUBSCRIPTION_ROUND_S = 3600.0


async def schedule_forever(settings: Settings, db: Database, publisher: AsyncPublisher) -> None:
    """Lead, then schedule every tick; PostgreSQL or Kafka away pauses it (and a lost
    session hands the leadership to another scheduler), never ends it."""
    policy = RetryPolicy(max_attempts=None, base_delay_s=1.0, max_delay_s=10.0)
    await policy.call(
        lambda: _lead_and_schedule(settings, db, publisher),
        what="scheduler paused",
        logger=log,
        fresh_after_s=60.0,
    )


async def _lead_and_schedule(settings: Settings, db: Database, publisher: AsyncPublisher) -> None:
    # Leadership is a session lock: on a connection of its own, lost with it.
    async with db.dedicated() as session:
        while not await sync_runs.try_lead_scheduling(session):  # noqa: ASYNC110 - polls PostgreSQL
            await asyncio.sleep(settings.scheduler_tick_s)
        log.info("this scheduler is the leader")
        metrics.SCHEDULER_LEADER.set(1)
        try:
            await _schedule_while_leading(settings, db, publisher, session)
        finally:
            metrics.SCHEDULER_LEADER.set(0)


async def _schedule_while_leading(
    settings: Settings, db: Database, publisher: AsyncPublisher, session: AsyncConnection[Any]
) -> None:
    subscribed: set[tuple[str, str]] = set()
    round_started = time.monotonic()
    while True:
        # Still the leader? A session that died (PostgreSQL restarted, the connection
        # reset) has lost its lock: this raises, and the scheduler tries to lead again.
        await sync_runs.still_leading(session)
        await _tick(settings, db, publisher)
        # Refresh tokens about to end: warned at 30, 7 and 1 days (once each).
        await warn_expiring(settings, db, publisher)
        # A form switched on since the last tick gets its push subscription; every hour
        # all owners are checked again (and failures retried).
        if time.monotonic() - round_started > SUBSCRIPTION_ROUND_S:
            subscribed.clear()
            round_started = time.monotonic()
        await ensure_subscriptions(settings, db, subscribed)
        await asyncio.sleep(settings.scheduler_tick_s)


async def _tick(settings: Settings, db: Database, publisher: AsyncPublisher) -> None:
    async with db.every_account() as conn:
        due = await sync_runs.forms_due(conn)
    for account_id, form_id in due:
        try:
            async with db.account(account_id) as conn:
                run_id = await sync_runs.create_run(
                    conn, form_id, SyncTrigger.SCHEDULE, SyncOptions()
                )
        except (sync_runs.RunAlreadyActive, sync_runs.UnknownForm, sync_runs.ImportDisabled):
            continue  # a run started, the form went or its Import went off since the scan
        request = SyncRequest(
            run_id=run_id,
            account_id=account_id,
            form_id=form_id,
            trigger=SyncTrigger.SCHEDULE,
            options=SyncOptions(),
        )
        await publish_request(settings, publisher, request, account_id=account_id)
        log.info("scheduled sync run %s for form %s of account %s", run_id, form_id, account_id)
    async with db.every_account() as conn:
        stale = await sync_runs.stale_queued_runs(conn)
    for run in stale:
        request = SyncRequest(
            run_id=run.run_id,
            account_id=run.account_id,
            form_id=run.form_id,
            trigger=run.trigger,
            options=run.options,
        )
        await publish_request(settings, publisher, request, account_id=run.account_id)


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
    # PostgreSQL or Kafka away while a run executes (or its offset is committed) pauses the
    # puller on that request; it is tried again until it ends, never dropped and never the
    # end of the process (which would take the schedule and the health endpoints with it).
    policy = RetryPolicy(max_attempts=None, base_delay_s=1.0, max_delay_s=10.0)
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
                await policy.call(
                    functools.partial(puller.execute, request),
                    what=f"sync run {request.run_id} paused",
                    logger=log,
                    fresh_after_s=60.0,
                )
            await policy.call(
                functools.partial(asyncio.to_thread, consumer.commit, message, asynchronous=False),
                what="committing a sync request's offset",
                logger=log,
            )
    finally:
        await asyncio.to_thread(consumer.close)


async def serve_health(settings: Settings) -> None:
    """``/metrics``, ``/healthz``, ``/readyz`` on ``LEADSYNC_SCHEDULER_METRICS_PORT``: ready
    when Kafka (the topics it reads and writes) and PostgreSQL answer; a scheduler that is
    not the leader is ready too (it pulls, and stands by to lead)."""
    topics = settings.topics
    checks: dict[str, Check] = {
        "kafka": KafkaProbe(
            settings,
            [topics.sync_requests, topics.leads_raw, topics.errors],
            settings.readiness_timeout_s,
        ),
        "postgresql": lambda: database_answers(settings),
    }

    async def render() -> bytes:
        return metrics.exposition(metrics.REGISTRY, metrics.PROCESS)

    app = ops_app(checks, settings.readiness_timeout_s, render)
    await serve_ops(app, settings.metrics_host, settings.scheduler_metrics_port)


async def run_scheduler(settings: Settings) -> None:
    publisher = AsyncPublisher(settings)
    async with Database.from_settings(settings) as db:
        try:
            await asyncio.gather(
                schedule_forever(settings, db, publisher),
                pull_forever(settings, Puller(settings, db, publisher)),
                serve_health(settings),
            )
        finally:
            publisher.close()
