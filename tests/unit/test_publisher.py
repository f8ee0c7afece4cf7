"""The publisher's own time limit, against a Kafka that never answers (nothing listens)."""

from __future__ import annotations

import asyncio
import time

import pytest

from ingest.publisher import AsyncPublisher
from leadsync.settings import load_settings
from tests.faults.proxy import free_port


async def test_a_send_with_a_time_limit_fails_on_time_when_kafka_never_answers() -> None:
    settings = load_settings(demo=True, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = AsyncPublisher(settings, **{"message.timeout.ms": 60_000, "log_level": 0})
    try:
        started = time.monotonic()
        limited = publisher.send("t", b"k", b"v", within_s=0.3)
        unlimited = publisher.send("t", b"k", b"v")
        with pytest.raises(TimeoutError):
            await limited
        assert 0.3 <= time.monotonic() - started < 0.5
        assert not unlimited.done()  # no limit, no verdict yet: librdkafka still tries
    finally:
        publisher.close(0)


async def test_a_publisher_serves_one_event_loop() -> None:
    settings = load_settings(demo=True, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = AsyncPublisher(settings, log_level=0)
    try:
        first = publisher.send("t", b"k", b"v", within_s=0.01)

        def elsewhere() -> None:
            async def send() -> None:
                publisher.send("t", b"k", b"v")

            asyncio.run(send())

        with pytest.raises(RuntimeError, match="one event loop"):
            await asyncio.to_thread(elsewhere)
        with pytest.raises(TimeoutError):
            await first
    finally:
        publisher.close(0)
