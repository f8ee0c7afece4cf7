"""The asyncio publisher against the real broker: every future settles, with the records on
the topic; nothing keeps the process busy once Kafka has answered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from leadsync.kafka.async_publisher import AsyncPublisher
from leadsync.settings import Settings
from tests.integration.topics import read_topic


def _records(count: int) -> list[tuple[bytes, bytes]]:
    marker = uuid.uuid4().hex
    return [(f"{marker}-{i}".encode(), f"value {marker} {i}".encode()) for i in range(count)]


def _on_topic(settings: Settings, records: list[tuple[bytes, bytes]]) -> set[tuple[bytes, bytes]]:
    topic = settings.topics.sync_requests
    wanted = set(records)
    return {(k or b"", v) for k, v in read_topic(settings.kafka_bootstrap_servers, topic)} & wanted


@pytest.fixture
def publisher(settings: Settings) -> Iterator[AsyncPublisher]:
    publisher = AsyncPublisher(settings)
    yield publisher
    publisher.close()


async def test_concurrent_sends_settle_and_then_the_publisher_stays_idle(
    settings: Settings, publisher: AsyncPublisher
) -> None:
    records = _records(300)
    topic = settings.topics.sync_requests
    await asyncio.gather(*(publisher.send(topic, k, v) for k, v in records))
    # Nothing unacknowledged: no polling timer, let alone a spinning loop.
    # (A 1 ms poll timer alone costs ~10 ms a second here; an idle loop ~0.2 ms.)
    started = time.thread_time()
    await asyncio.sleep(1.0)
    assert time.thread_time() - started < 0.005
    assert _on_topic(settings, records) == set(records)


async def test_a_batch_settles_once_every_record_is_acknowledged(
    settings: Settings, publisher: AsyncPublisher
) -> None:
    records = _records(2_000)
    await publisher.send_all(settings.topics.sync_requests, records)
    assert _on_topic(settings, records) == set(records)


async def test_closing_from_another_thread_settles_what_is_in_flight(
    settings: Settings, publisher: AsyncPublisher
) -> None:
    # The worker's relay closes its publisher so, off the event loop.
    records = _records(200)
    topic = settings.topics.sync_requests
    batched = _records(200)
    sent = [publisher.send(topic, k, v) for k, v in records]
    batch = publisher.send_all(topic, batched)
    await asyncio.to_thread(publisher.close, 10.0)
    await asyncio.wait_for(asyncio.gather(*sent, batch), 5)
    assert _on_topic(settings, records + batched) == set(records + batched)
