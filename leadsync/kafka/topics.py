"""Creates leadsync's Kafka topics with their partition counts (broker auto-creation is off).

faust refuses to start when a topic's partition count differs from what its tables expect,
so topics are always created here, explicitly, before any process uses them.
"""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from leadsync.errors import RetriableError
from leadsync.settings import Settings


class KafkaUnavailable(RetriableError):
    """The brokers did not answer a metadata request in time."""


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})


def wait_for_kafka(settings: Settings, timeout_s: float = 60.0) -> None:
    """Block until the cluster answers a metadata request (an open port is not enough)."""
    admin = admin_client(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            metadata = admin.list_topics(timeout=2)
            if metadata.brokers:
                return
        except KafkaException:
            pass
        if time.monotonic() > deadline:
            raise KafkaUnavailable(
                f"Kafka at {settings.kafka_bootstrap_servers} did not answer within "
                f"{timeout_s:.0f} s; start it with `make run` or stack/kafka.sh start"
            )
        time.sleep(0.5)


def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics; returns the names created by this call."""
    admin = admin_client(settings)
    existing = set(admin.list_topics(timeout=10).topics)
    # Contact changes are keyed by contact id, the others by lead or form id: all of them are
    # partitioned the same way so that a scale-out adds consumers, not re-keying.
    missing = [
        NewTopic(
            name,
            num_partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        for name in settings.topics.all()
        if name not in existing
    ]
    if not missing:
        return []
    futures = admin.create_topics(missing, operation_timeout=30)
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            error = exc.args[0]
            # Another process may have created it in the meantime: that is success too.
            if not isinstance(error, KafkaError) or error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created
