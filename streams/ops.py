"""The worker's ``/metrics``, ``/healthz`` and ``/readyz`` (:mod:`leadsync.ops_server`), on
``LEADSYNC_WORKER_METRICS_PORT``, served from a task of the faust app.

Ready: Kafka answers for the worker's topics, PostgreSQL answers, and the worker is in its
consumer group with an assignment, not in the middle of a rebalance. A worker whose
assignment is empty (more workers than partitions) is ready: it stands by.

Consumer lag is the group's, not this worker's: for each partition of the topics the
worker consumes, the end offset minus the offset the group committed, read from the broker
when scraped. Every worker reports the same figures (take the max per topic and
partition); a partition whose worker died keeps its lag visible until another takes it
over, which a per-worker figure would hide. ``leadsync_worker_assigned_partitions`` says
which worker holds how many.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import faust
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leadsync import metrics
from leadsync.kafka.reachability import KafkaProbe
from leadsync.ops_server import Check, ops_app, serve_ops
from leadsync.settings import Settings
from sinks.reachability import database_answers

log = logging.getLogger(__name__)

ASSIGNED_PARTITIONS = "leadsync_worker_assigned_partitions"
CONSUMER_LAG = "leadsync_consumer_lag"


class Assignment:
    """The partitions this worker holds, as faust's rebalances leave them."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self.partitions: frozenset[tuple[str, int]] = frozenset()
        self.received = False
        # mode's handler type rejects every handler, even its own documented shape.
        app.on_partitions_assigned.connect(self._assigned)  # type: ignore[arg-type]
        app.on_partitions_revoked.connect(self._revoked)  # type: ignore[arg-type]

    # faust's signals call their receivers as (sender, argument, signal=...); the argument
    # of these two is a set of faust TPs.
    async def _assigned(self, _sender: Any, assigned: set[Any], **_kwargs: Any) -> None:
        # The whole new assignment, not a difference.
        self.partitions = frozenset((tp.topic, tp.partition) for tp in assigned)
        self.received = True

    async def _revoked(self, _sender: Any, revoked: set[Any], **_kwargs: Any) -> None:
        gone = {(tp.topic, tp.partition) for tp in revoked}
        self.partitions = self.partitions - gone

    async def check(self) -> str | None:
        if not self.received:
            return "no partitions assigned yet: joining the consumer group"
        if self._app.rebalancing:
            return "the consumer group is rebalancing"
        return None


class WorkerFigures(Collector):
    """Assigned partitions (this worker) and consumer lag (the group), when scraped."""

    def __init__(self, settings: Settings, topics: list[str], assignment: Assignment) -> None:
        self._config = {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            # Reads the worker group's committed offsets; never subscribes, so it never
            # joins the group (or takes a partition).
            "group.id": settings.worker_app_id,
            "enable.auto.commit": False,
        }
        self._topics = topics
        self._assignment = assignment
        self._timeout_s = settings.readiness_timeout_s
        self._consumer: Consumer | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        held = GaugeMetricFamily(
            ASSIGNED_PARTITIONS,
            "Partitions this worker holds, by topic.",
            labels=["topic"],
        )
        counts = Counter(topic for topic, _ in self._assignment.partitions)
        for topic in self._topics:
            held.add_metric([topic], counts.get(topic, 0))
        yield held
        lag = GaugeMetricFamily(
            CONSUMER_LAG,
            "Records not yet committed by the worker group: end offset minus committed"
            " offset, by topic and partition (the same figure from every worker).",
            labels=["topic", "partition"],
        )
        try:
            for topic, partition, behind in self._lag():
                lag.add_metric([topic, str(partition)], behind)
        except KafkaException as exc:  # no figure rather than a wrong one; /readyz says why
            log.warning("consumer lag not read: %s", exc.args[0])
        yield lag

    def _lag(self) -> list[tuple[str, int, int]]:
        with self._lock:
            if self._consumer is None:
                self._consumer = Consumer(self._config)
            consumer = self._consumer
            metadata = consumer.list_topics(timeout=self._timeout_s).topics
            partitions = [
                TopicPartition(topic, p)
                for topic in self._topics
                if topic in metadata
                for p in sorted(metadata[topic].partitions)
            ]
            committed = consumer.committed(partitions, timeout=self._timeout_s)
            result = []
            for tp in committed:
                low, end = consumer.get_watermark_offsets(tp, timeout=self._timeout_s)
                # No commit yet: the group starts from the earliest offset (auto.offset.reset),
                # so everything still on the partition is behind.
                start = tp.offset if tp.offset >= 0 else low
                result.append((tp.topic, tp.partition, max(0, end - start)))
            return result


def register_ops_server(app: faust.App, settings: Settings) -> None:
    """Serve the worker's figures and health from a task of ``app`` (port 0: not at all)."""
    if settings.worker_metrics_port == 0:
        return
    topics = settings.topics
    consumed = [topics.notifications, topics.leads_raw, topics.errors]
    assignment = Assignment(app)
    figures = CollectorRegistry(auto_describe=False)
    figures.register(WorkerFigures(settings, consumed, assignment))
    checks: dict[str, Check] = {
        "kafka": KafkaProbe(
            settings, [*consumed, topics.contact_changes], settings.readiness_timeout_s
        ),
        "postgresql": lambda: database_answers(settings),
        "partitions": assignment.check,
    }

    async def render() -> bytes:
        # The lag is read from the broker: off the event loop, which imports leads.
        return await asyncio.to_thread(
            metrics.exposition, metrics.REGISTRY, figures, metrics.PROCESS
        )

    server = ops_app(checks, settings.readiness_timeout_s, render)

    async def serve() -> None:
        await serve_ops(server, settings.metrics_host, settings.worker_metrics_port)

    app.task(serve)
