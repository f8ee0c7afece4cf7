"""The publisher's own time limit, against a Kafka that never answers (nothing listens)."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.children import free_port
from leadsync.kafka.async_publisher import AsyncPublisher, _delivery_timeout_ms
from leadsync.settings import load_settings


async def test_a_send_with_a_time_limit_fails_on_time_when_kafka_never_answers() -> None:
    settings = load_settings(demo=True, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    # librdkafka's own limit set far beyond the publisher's, which must answer first.
    config = {"message.timeout.ms": 60_000, "log_level": 0}
    limited = AsyncPublisher(settings, answer_within_s=0.3, **config)
    unlimited = AsyncPublisher(settings, **config)
    try:
        started = time.monotonic()
        sent = limited.send("t", b"k", b"v")
        waiting = unlimited.send("t", b"k", b"v")
        with pytest.raises(TimeoutError):
            await sent
        assert 0.3 <= time.monotonic() - started < 0.5
        assert not waiting.done()  # no limit, no verdict yet: librdkafka still tries
    finally:
        limited.close(0)
        unlimited.close(0)


def test_librdkafka_gives_up_before_the_answer_is_due_and_never_without_limit() -> None:
    # The receiver's default: a verdict due in 2 s, the net at 2.5 s; librdkafka at 1 s.
    assert _delivery_timeout_ms(2.5) == 1_000
    assert _delivery_timeout_ms(5.0) == 3_500
    assert _delivery_timeout_ms(0.01) == 1  # 0 would mean no limit at all


async def test_a_publisher_serves_one_event_loop() -> None:
    settings = load_settings(demo=True, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = AsyncPublisher(
        settings, answer_within_s=0.01, **{"message.timeout.ms": 60_000, "log_level": 0}
    )
    try:
        first = publisher.send("t", b"k", b"v")

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
