"""Kafka producers of the ingest side (confluent-kafka).

Guarantee: a record counts as published only once its delivery report says the broker has
it on every in-sync replica (acks=all); idempotence makes librdkafka's own retries unable to
write it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from leadsync.errors import RetriableError
from leadsync.settings import Settings


class PublishError(RetriableError):
    """Kafka did not acknowledge a record; the caller must not report it as published."""


LIBRDKAFKA_LOG = logging.getLogger("librdkafka")


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        # librdkafka's default is false; without it a retried send can duplicate a record.
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 10,
        # Bounded, so a caller waiting on a delivery report is never stuck.
        "message.timeout.ms": 30_000,
        # The same key lands on the same partition as with aiokafka/faust (Java's murmur2).
        "partitioner": "murmur2_random",
        # librdkafka's own messages through Python logging (JSON lines), not raw to stderr.
        "logger": LIBRDKAFKA_LOG,
    }
    config.update(overrides)
    return config


def produce(
    producer: Producer,
    topic: str,
    key: bytes,
    value: bytes,
    on_delivery: Callable[[KafkaError | None, Message], None],
    *,
    headers: list[tuple[str, str | bytes]] | None = None,
    wait_s: float = 0.5,
) -> None:
    """Queue one record; while the local queue is full, serve delivery reports until it
    has room."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(wait_s)


def publish_all(
    settings: Settings, topic: str, records: list[tuple[bytes, bytes]], timeout_s: float = 60
) -> int:
    """Publish (key, value) records and wait until Kafka acknowledged every one."""
    producer = Producer(producer_config(settings))
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(err)

    for key, value in records:
        produce(producer, topic, key, value, on_delivery)
    remaining = producer.flush(timeout_s)
    if remaining or failures:
        reason = failures[0].str() if failures else f"{remaining} records not acknowledged"
        raise PublishError(f"publishing to {topic} failed: {reason}")
    return len(records)
