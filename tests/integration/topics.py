"""Reading a topic back the way a downstream consumer would, to check what leadsync wrote."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def read_topic(
    bootstrap: str, topic: str, timeout_s: float = 60
) -> list[tuple[bytes | None, bytes]]:
    """Every record on ``topic`` up to its end when called, as (key, value), in each
    partition's order."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        wanted = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in wanted])
        records: list[tuple[bytes | None, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while wanted and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                partition, offset = message.partition(), message.offset()
                if message.error() or partition not in wanted or offset is None:
                    continue
                if offset >= ends[partition]:  # written after the call: not ours to read
                    continue
                records.append((message.key(), message.value() or b""))
                if offset + 1 >= ends[partition]:
                    wanted.discard(partition)
        assert not wanted, f"could not read {topic} to its end in {timeout_s:.0f} s"
        return records
    finally:
        consumer.close()
