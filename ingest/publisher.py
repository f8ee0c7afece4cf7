"""An asyncio face on confluent-kafka's producer: ``await publish(...)`` returns once Kafka
acknowledged the record (acks=all, idempotent).

A plain ``Producer`` served by one poll thread resolves asyncio futures from its delivery
callbacks (stack-notes: ~6 ms median, ~40k msg/s; confluent's experimental AIOProducer is
far slower). The event loop never blocks on the producer. Delivery reports are handed to
the event loop in one wake-up per poll, not one per record: under load a poll serves many
reports, and each cross-thread wake-up costs the loop more than settling a future.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from ingest.producer import PublishError, produce, producer_config
from leadsync.settings import Settings


class AsyncPublisher:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        self._producer = Producer(producer_config(settings, **overrides))
        self._stop = threading.Event()
        self._settled: list[tuple[asyncio.Future[None], KafkaError | None]] = []
        self._settled_lock = threading.Lock()
        self._thread = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)
            self._hand_over()

    def _hand_over(self) -> None:
        """Pass the delivery reports gathered by the last poll to their event loops."""
        with self._settled_lock:
            settled, self._settled = self._settled, []
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], Any]]] = {}
        for future, err in settled:
            by_loop.setdefault(future.get_loop(), []).append((future, err))
        for loop, reports in by_loop.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle_all, reports)

    def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        """Queue a record; the future resolves when Kafka acknowledged it (or fails)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            with self._settled_lock:
                self._settled.append((future, err))

        produce(self._producer, topic, key, value, on_delivery, wait_s=0.1)
        return future

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        await self.send(topic, key, value)

    def send_all(
        self,
        topic: str,
        records: list[tuple[bytes, bytes]],
        headers: list[tuple[str, str | bytes]] | None = None,
    ) -> asyncio.Future[None]:
        """Queue (key, value) records; the one future resolves when Kafka acknowledged every
        one of them, or fails with the first error.

        One wake-up of the event loop per batch instead of one per record: a backfill page
        is a thousand records, and the per-record futures cost the puller more than Kafka.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if not records:
            future.set_result(None)
            return future
        outstanding = [len(records)]
        failed: list[KafkaError] = []
        # Delivery reports arrive on the poll thread, and on this one while it waits out a
        # full queue below: the count is shared.
        lock = threading.Lock()

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            with lock:
                outstanding[0] -= 1
                first_failure = False
                if err is not None and not failed:
                    failed.append(err)
                    first_failure = True
                last = outstanding[0] == 0 and not failed
            if first_failure:
                loop.call_soon_threadsafe(_settle, future, err)
            elif last:
                loop.call_soon_threadsafe(_settle, future, None)

        for key, value in records:
            produce(self._producer, topic, key, value, on_delivery, headers=headers, wait_s=0.1)
        return future

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)
        self._stop.set()
        self._thread.join(timeout_s)


def _settle_all(reports: list[tuple[asyncio.Future[None], KafkaError | None]]) -> None:
    for future, err in reports:
        _settle(future, err)


def _settle(future: asyncio.Future[None], err: KafkaError | None) -> None:
    if future.done():
        return
    if err is None:
        future.set_result(None)
    else:
        future.set_exception(PublishError(f"Kafka did not acknowledge the record: {err.str()}"))
