"""Smoke test of a Kafka broker for leadsync's three clients (shared/stack-notes.md).

1. confluent-kafka: idempotent acks=all produce, then a consumer group reads it all back.
2. aiokafka: produce, then a consumer group reads it all back.
3. faust: a minimal app with a table consumes the topic and counts into the table.

Usage: .venv/bin/python stack/smoke_kafka.py [bootstrap]   (default 127.0.0.1:29092)
Creates its own uniquely named topics and deletes them afterwards, with faust's data
directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

N = 1000


def confluent_check(bootstrap: str, topic: str) -> str:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for i in range(N):
        producer.produce(topic, key=str(i).encode(), value=b"confluent")
    assert producer.flush(30) == 0
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"smoke-{uuid.uuid4().hex}",
         "auto.offset.reset": "earliest"}
    )  # fmt: skip
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 60
    while seen < N and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is not None and not msg.error() and msg.value() == b"confluent":
            seen += 1
    consumer.close()
    assert seen == N, f"confluent consumer saw {seen}/{N}"
    return f"confluent-kafka: {N} idempotent produces acknowledged, group read {seen}"


async def aiokafka_check(bootstrap: str, topic: str) -> str:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(N):
            await producer.send(topic, key=str(i).encode(), value=b"aiokafka")
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"smoke-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    seen = 0
    try:
        deadline = time.monotonic() + 60
        while seen < N and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            seen += sum(1 for msgs in batches.values() for m in msgs if m.value == b"aiokafka")
    finally:
        await consumer.stop()
    assert seen == N, f"aiokafka consumer saw {seen}/{N}"
    return f"aiokafka: {N} produces, group read {seen}"


def faust_check(bootstrap: str, topic: str) -> str:
    import faust

    app = faust.App(
        f"{topic}-faust", broker=f"kafka://{bootstrap}", store="memory://",
        topic_partitions=1, web_enabled=False, topic_disable_leader=True,
        broker_session_timeout=6, broker_heartbeat_interval=1,
    )  # fmt: skip
    counts = app.Table("counts", default=int, partitions=1)
    source = app.topic(topic, value_type=bytes, value_serializer="raw")
    result: dict[str, int] = {}

    @app.agent(source, concurrency=1)
    async def count(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            counts[value.decode()] += 1
            total = sum(counts.values())
            if total >= 2 * N and "total" not in result:
                result["total"] = total
                # Stopping from inside the agent would wait for this very event to finish.
                asyncio.get_running_loop().create_task(worker.stop_and_shutdown())

    async def watchdog() -> None:
        await asyncio.sleep(90)
        await worker.stop_and_shutdown()

    app.task(watchdog)
    worker = faust.Worker(app, loglevel="warning", quiet=True)
    with contextlib.suppress(SystemExit):
        worker.execute_from_commandline()
    shutil.rmtree(f"{app.conf.id}-data", ignore_errors=True)
    total = result.get("total", 0)
    assert total == 2 * N, f"faust table counted {total}/{2 * N}"
    return f"faust: agent with a table counted {total} records of both producers"


def main() -> None:
    bootstrap = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:29092"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result()
    try:
        print(confluent_check(bootstrap, topic))
        print(asyncio.run(aiokafka_check(bootstrap, topic)))
        print(faust_check(bootstrap, topic))
    finally:
        # The topic and faust's internal topics ("<topic>-faust-..."): this run's only.
        names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(topic)]
        for future in admin.delete_topics(names).values():
            future.result()
    print("smoke test passed")


if __name__ == "__main__":
    main()
