"""Who in a consumer group holds which partitions, as ``kafka-consumer-groups --describe``
shows it; waiting for a wanted shape; which partition a key lands on.

The workers are told apart by member id only: a test that needs to know which partitions a
given worker holds compares the shapes before and after it stops that worker.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

# types-confluent-kafka's stubs predate murmur2 (confluent-kafka's own, typed, has it).
from confluent_kafka import KafkaException, murmur2  # type: ignore[attr-defined]
from confluent_kafka.admin import AdminClient, ConsumerGroupDescription

# member id -> the partitions of one topic it holds (members holding none of them included)
Assignment = dict[str, frozenset[int]]


def group_assignment(bootstrap: str, group: str, topic: str, timeout_s: float = 10.0) -> Assignment:
    """The partitions of ``topic`` each member of ``group`` holds now (empty while the group
    is rebalancing or has no members)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.describe_consumer_groups([group], request_timeout=timeout_s)[group]
    description: ConsumerGroupDescription = future.result(timeout_s)  # type: ignore[assignment]  # the stubs say object
    return {
        member.member_id: frozenset(
            tp.partition for tp in member.assignment.topic_partitions if tp.topic == topic
        )
        for member in description.members
    }


def wait_for_assignment(
    bootstrap: str,
    group: str,
    topic: str,
    wanted: Callable[[Assignment], bool],
    timeout_s: float,
    check: Callable[[], None] = lambda: None,
) -> Assignment:
    """The group's assignment of ``topic`` once ``wanted`` says yes; ``check`` runs between
    looks (a worker's ``check_running``), and fails the wait with the last shape seen."""
    deadline = time.monotonic() + timeout_s
    seen: Assignment = {}
    while True:
        # The coordinator moving or loading: look again.
        with contextlib.suppress(KafkaException):
            seen = group_assignment(bootstrap, group, topic)
        if wanted(seen):
            return seen
        check()
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} on {topic} after {timeout_s:.0f} s: {seen}")
        time.sleep(0.3)


def shared_by(members: int, partitions: int) -> Callable[[Assignment], bool]:
    """A shape with exactly ``members`` members, each holding some of the topic's partitions,
    all ``partitions`` of them held once."""

    def wanted(assignment: Assignment) -> bool:
        held = [p for owned in assignment.values() for p in owned]
        return (
            len(assignment) == members
            and all(assignment.values())
            and sorted(held) == list(range(partitions))
        )

    return wanted


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a keyed record lands on with leadsync's producers and faust's
    (Java's murmur2)."""
    return int(murmur2(key, partitions))
