"""The outbox relay: publishes committed contact changes to ``leadsync.contact-changes``.

Guarantee: at least once, in commit order per contact. A row is marked published only after
Kafka acknowledged its event; a crash in between re-publishes it with the same CloudEvents
id. One relay publishes at a time (a PostgreSQL session lock), whatever the number of workers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import psycopg

from leadsync.settings import Settings
from sinks.outbox import mark_published, try_become_relay, unpublished

log = logging.getLogger(__name__)

CLOUDEVENTS_JSON = [("content-type", b"application/cloudevents+json; charset=utf-8")]


async def run_relay(topic: faust.TopicT, settings: Settings) -> None:
    """Publish outbox rows until the worker stops (faust cancels this task)."""
    delay = 0.1
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                settings.database_conninfo(), autocommit=True
            ) as conn:
                while not await try_become_relay(conn):  # noqa: ASYNC110 - polls PostgreSQL
                    await asyncio.sleep(5.0)
                log.info("outbox relay active")
                delay = 0.1
                await _relay_rows(conn, topic, settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database or Kafka is unavailable: wait, then resume
            log.warning("outbox relay paused (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.retry_backoff_max_s)


async def _relay_rows(
    conn: psycopg.AsyncConnection[Any],
    topic: faust.TopicT,
    settings: Settings,
) -> None:
    while True:
        rows = await unpublished(conn, settings.relay_batch_size)
        if not rows:
            await asyncio.sleep(settings.relay_idle_s)
            continue
        pending = [
            await topic.send(
                key=contact_id.encode(),
                value=event.encode(),
                headers=CLOUDEVENTS_JSON,
            )
            for _, contact_id, event in rows
        ]
        await asyncio.gather(*pending)  # every event acknowledged by Kafka
        await mark_published(conn, [row_id for row_id, _, _ in rows])
