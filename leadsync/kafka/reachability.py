"""Whether Kafka answers, for a process's ``/readyz`` (:mod:`leadsync.ops_server`).

Ready means the cluster answers a metadata request for the topics the process uses and
each of them has a leader for every partition (stack-notes: an open port is not enough).
One admin client per process, reused: a new one per probe would open new connections and
threads every few seconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from leadsync.settings import Settings


class KafkaProbe:
    def __init__(self, settings: Settings, topics: Sequence[str], timeout_s: float) -> None:
        self._config = {"bootstrap.servers": settings.kafka_bootstrap_servers}
        self._topics = list(topics)
        # librdkafka gives up a little before the caller does, so that its answer (not the
        # caller's timeout) is what /readyz reports, and no probe outlives its request.
        self._timeout_s = max(0.2, timeout_s - 0.3)
        self._admin: AdminClient | None = None
        self._lock = threading.Lock()

    async def __call__(self) -> str | None:
        """None when Kafka answers for every topic; else why not."""
        return await asyncio.to_thread(self._ask)

    def _ask(self) -> str | None:
        with self._lock:
            if self._admin is None:
                self._admin = AdminClient(self._config)
            try:
                metadata = self._admin.list_topics(timeout=self._timeout_s)
            except KafkaException as exc:
                error = exc.args[0]
                reason = error.str() if isinstance(error, KafkaError) else str(error)
                return f"Kafka does not answer: {reason}"
        if not metadata.brokers:
            return "Kafka answered without brokers"
        for name in self._topics:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                return f"topic {name} is missing: run `leadsync topics create`"
            leaderless = [p for p, info in topic.partitions.items() if info.leader < 0]
            if leaderless:
                return f"topic {name}: partitions {sorted(leaderless)} have no leader"
        return None
