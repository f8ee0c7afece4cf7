"""A Kafka broker lost while leads flow: with three replicas and two in sync, nothing is lost
or imported twice, and leads keep coming in while the broker is down.

The test starts its own three-broker cluster (harness.kafka_cluster), apart from the local
stack's single broker; PostgreSQL is the run's database, as for the other fault tests. The
broker killed (SIGKILL) is the one coordinating the worker's consumer group: its committed
offsets, some partition leaders and a controller vote go down with it.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kafka_cluster import KafkaCluster
from harness.processes import Worker
from leadsync.kafka.topics import describe_topics, ensure_topics
from leadsync.settings import Settings
from tests.faults.checks import assert_imported_exactly_once, imported_count
from tests.faults.dataset import build
from tests.faults.flow import LogWatch, Publisher

pytestmark = pytest.mark.integration

RECORDS = 5_000
CHUNK = 100
PAUSE_S = 0.6  # ~50 chunks: publishing lasts past the worker's start and the outage
DOWN_S = 15.0  # a broker down this long, leads flowing all along


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    with KafkaCluster(Path(tmp_path_factory.mktemp("kafka-cluster")), brokers=3) as running:
        yield running


def test_a_broker_killed_while_leads_flow_loses_and_duplicates_nothing(
    settings: Settings, cluster: KafkaCluster
) -> None:
    seed = int(os.environ.get("LEADSYNC_FAULTS_SEED", time.time_ns() % 1_000_000))
    print(f"broker loss: seed {seed} (LEADSYNC_FAULTS_SEED={seed} repeats the run)")
    # The run's database and topic names, on the cluster; min.insync.replicas is derived (2).
    on_cluster = settings.model_copy(
        update={"kafka_bootstrap_servers": cluster.bootstrap, "topic_replication_factor": 3}
    )
    topics = on_cluster.topics.all()
    assert sorted(ensure_topics(on_cluster)) == sorted(topics)
    _assert_three_replicas_two_in_sync(on_cluster)

    stream = build(on_cluster, RECORDS, random.Random(seed))
    account, forms = stream.expected.account, stream.expected.forms
    with Worker(on_cluster) as worker, Publisher(on_cluster, stream, CHUNK, PAUSE_S) as publisher:
        watch = LogWatch(worker)
        watch.wait_for("imported batch", 120)
        victim = cluster.coordinator_of(on_cluster.worker_app_id)
        led = cluster.leaders(topics)[victim]
        cluster.kill(victim)
        killed_at = time.monotonic()
        published_at_kill = publisher.published
        imported_at_kill = imported_count(on_cluster, account, forms)
        # Two replicas of three stay in sync, so acks=all writes and the worker's commits go
        # on: leads are published and imported while the broker is down.
        time.sleep(DOWN_S)
        published_while_down = publisher.published - published_at_kill
        imported_while_down = imported_count(on_cluster, account, forms) - imported_at_kill
        worker.check_running()
        cluster.restart(victim)
        back_after = time.monotonic() - killed_at
        caught_up_s = cluster.wait_in_sync(topics)
        publisher.finish(180)
        worker.settle(timeout_s=180)
        # One worker all along: the broker's loss neither crashed nor stopped it.
        worker.check_running()

    assert published_while_down > 0, "no lead was published while the broker was down"
    assert imported_while_down > 0, "no lead was imported while the broker was down"
    outcome = assert_imported_exactly_once(on_cluster, stream.expected, worker.log_path)
    _assert_three_replicas_two_in_sync(on_cluster)
    print(
        f"broker loss: killed broker {victim} (group coordinator, leader of {led} partitions);"
        f" {published_while_down} records published and {imported_while_down} leads imported"
        f" in the {DOWN_S:.0f} s it was down; registered again {back_after:.1f} s after the"
        f" kill, replicas in sync {caught_up_s:.1f} s later; {outcome};"
        f" records published {len(stream.records)}"
    )


def _assert_three_replicas_two_in_sync(settings: Settings) -> None:
    """What an operator checks with kafka-topics --describe, through the admin client."""
    layouts = describe_topics(settings)
    assert [(t.name, t.replication_factor, t.min_insync_replicas) for t in layouts] == [
        (name, 3, 2) for name in settings.topics.all()
    ], [str(t) for t in layouts]
    assert {t.partitions for t in layouts} == {settings.topic_partitions}
