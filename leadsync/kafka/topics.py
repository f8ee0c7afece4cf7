"""Creates leadsync's Kafka topics with their partition counts, replication factor and
``min.insync.replicas`` (broker auto-creation is off), and describes them as the brokers do.

faust refuses to start when a topic's partition count differs from what its tables expect,
so topics are always created here, explicitly, before any process uses them. Every producer
sends with acks=all, so a topic's ``min.insync.replicas`` is what an acknowledgement is worth:
with 3 replicas and 2 in sync, an acknowledged record is on two brokers, and one broker can
be down while leads keep flowing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from leadsync.errors import RetriableError
from leadsync.settings import ConfigurationError, Settings

MIN_INSYNC_REPLICAS = "min.insync.replicas"


class KafkaUnavailable(RetriableError):
    """The brokers did not answer a metadata request in time."""


@dataclass(frozen=True)
class TopicLayout:
    """A topic as the brokers describe it."""

    name: str
    partitions: int
    replication_factor: int  # the fewest replicas any of its partitions has
    min_insync_replicas: int

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.partitions} partitions, replication factor"
            f" {self.replication_factor}, {MIN_INSYNC_REPLICAS} {self.min_insync_replicas}"
        )


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})


def min_insync_replicas(settings: Settings) -> int:
    """LEADSYNC_TOPIC_MIN_INSYNC_REPLICAS, or what the replication factor calls for: 2 from
    3 replicas up (a broker may be down and an acknowledged record is still on two), 1
    below (with 2 replicas, 2 in sync would stop every write while one broker is down)."""
    if settings.topic_min_insync_replicas is not None:
        return settings.topic_min_insync_replicas
    return 2 if settings.topic_replication_factor >= 3 else 1


def topic_config(settings: Settings) -> dict[str, str]:
    """The configuration every leadsync topic is created with. Set on the topic, not left
    to the brokers' defaults, so it says what it is whatever cluster it lives on."""
    return {MIN_INSYNC_REPLICAS: str(min_insync_replicas(settings))}


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
    """Create the missing topics; returns the names created by this call. Topics that exist
    are left as they are (:func:`describe_topics` shows what they are)."""
    admin = admin_client(settings)
    metadata = admin.list_topics(timeout=10)
    existing = set(metadata.topics)
    names = [name for name in settings.topics.all() if name not in existing]
    if not names:
        return []
    replicas = settings.topic_replication_factor
    if len(metadata.brokers) < replicas:
        # Kafka would refuse too, naming neither the setting nor the way out.
        raise ConfigurationError(
            f"LEADSYNC_TOPIC_REPLICATION_FACTOR is {replicas}, but the cluster at"
            f" {settings.kafka_bootstrap_servers} has {len(metadata.brokers)} broker(s) up:"
            " start more (KAFKA_BROKERS=3 bash stack/kafka.sh start) or lower the setting"
        )
    # Contact changes are keyed by contact id, the others by lead or form id: all of them are
    # partitioned the same way so that a scale-out adds consumers, not re-keying.
    missing = [
        NewTopic(
            name,
            num_partitions=settings.topic_partitions,
            replication_factor=replicas,
            config=topic_config(settings),
        )
        for name in names
    ]
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
    _wait_until_served(admin, settings, names)
    return created


def _wait_until_served(
    admin: AdminClient, settings: Settings, names: list[str], timeout_s: float = 30.0
) -> None:
    """Until every broker asked knows these topics and each partition has a leader: the
    controller answers a creation before the brokers have applied it, and a process started
    right after (or describe_topics) must not find the topic missing."""
    deadline = time.monotonic() + timeout_s
    while True:
        topics = admin.list_topics(timeout=5).topics
        if all(
            name in topics
            and topics[name].partitions
            and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name in names
        ):
            return
        if time.monotonic() > deadline:
            raise KafkaUnavailable(
                f"topics created at {settings.kafka_bootstrap_servers} have no leader after"
                f" {timeout_s:.0f} s"
            )
        time.sleep(0.2)


DESCRIBE_PATIENCE_S = 10.0


def _topic_configs(admin: AdminClient, names: list[str], deadline: float) -> dict[str, Any]:
    """The topics' configs. The broker asked may not know a topic made a moment ago even
    when the metadata did (UNKNOWN_TOPIC_OR_PART): asked again until ``deadline``."""
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    while True:
        try:
            return {
                resource.name: future.result()
                for resource, future in admin.describe_configs(
                    resources, request_timeout=30
                ).items()
            }
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            unknown = (
                isinstance(error, KafkaError) and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
            )
            if not unknown or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def describe_topics(settings: Settings, names: list[str] | None = None) -> list[TopicLayout]:
    """The partitions, replication factor and ``min.insync.replicas`` of these topics
    (leadsync's own by default), as the brokers report them."""
    admin = admin_client(settings)
    names = settings.topics.all() if names is None else names
    # A broker that joined or restarted a moment ago may answer with a view from before
    # topics were made: ask again for a few seconds before calling one absent.
    deadline = time.monotonic() + DESCRIBE_PATIENCE_S
    while True:
        metadata = admin.list_topics(timeout=10).topics
        absent = [name for name in names if name not in metadata]
        if not absent or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if absent:
        raise ConfigurationError(
            f"no topic {', '.join(absent)} at {settings.kafka_bootstrap_servers}:"
            " create them with `leadsync topics create`"
        )
    configs = _topic_configs(admin, names, deadline)
    return [
        TopicLayout(
            name=name,
            partitions=len(metadata[name].partitions),
            replication_factor=min(len(p.replicas) for p in metadata[name].partitions.values()),
            min_insync_replicas=int(configs[name][MIN_INSYNC_REPLICAS].value),
        )
        for name in names
    ]
