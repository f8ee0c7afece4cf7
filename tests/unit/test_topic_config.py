"""The configuration leadsync's topics are created with: replication factor and
``min.insync.replicas`` from the settings (no Kafka needed)."""

from __future__ import annotations

import os

import pytest

from leadsync.kafka.topics import TopicLayout, min_insync_replicas, topic_config
from leadsync.settings import ConfigurationError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in list(os.environ):
        if name.startswith("LEADSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))  # no stray .env file


@pytest.mark.parametrize(("replicas", "in_sync"), [(1, 1), (2, 1), (3, 2), (5, 2)])
def test_min_insync_replicas_follows_the_replication_factor(replicas: int, in_sync: int) -> None:
    settings = load_settings(demo=True, topic_replication_factor=replicas)
    assert min_insync_replicas(settings) == in_sync
    assert topic_config(settings) == {"min.insync.replicas": str(in_sync)}


def test_a_three_broker_cluster_gets_two_in_sync_replicas_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADSYNC_TOPIC_REPLICATION_FACTOR", "3")
    assert topic_config(load_settings(demo=True)) == {"min.insync.replicas": "2"}


def test_an_explicit_min_insync_replicas_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_TOPIC_REPLICATION_FACTOR", "5")
    monkeypatch.setenv("LEADSYNC_TOPIC_MIN_INSYNC_REPLICAS", "3")
    assert topic_config(load_settings(demo=True)) == {"min.insync.replicas": "3"}


def test_more_in_sync_replicas_than_replicas_is_refused_at_start_up() -> None:
    # Kafka would create such a topic and then refuse every acks=all write to it.
    with pytest.raises(ConfigurationError, match="LEADSYNC_TOPIC_MIN_INSYNC_REPLICAS"):
        load_settings(demo=True, topic_replication_factor=1, topic_min_insync_replicas=2)


def test_a_topic_layout_reads_as_the_operator_checks_it() -> None:
    layout = TopicLayout("leadsync.leads.raw", 6, 3, 2)
    assert str(layout) == (
        "leadsync.leads.raw: 6 partitions, replication factor 3, min.insync.replicas 2"
    )
