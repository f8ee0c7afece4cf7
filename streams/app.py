"""The faust application: one per worker process, built from the settings.

Delivery guarantee: at-least-once. Offsets are committed only for events the agents have
finished with, and every effect is an idempotent database write, so a replay after a crash
changes nothing (faust's exactly-once mode is not used: see shared/stack-notes.md).
"""

from __future__ import annotations

import gc
import tempfile
from pathlib import Path

import faust

from leadsync.settings import Settings
from sinks.database import Database

# aiokafka fetches a partition again only once its last fetch is consumed: with faust's
# default of 1 MiB per partition the import agent ran dry every ~4,000 leads and waited
# ~0.4 s for the next round (a quarter of bench/pipeline.py's time).
CONSUMER_MAX_FETCH_BYTES = 4 * 1024 * 1024


def data_dir(app_id: str) -> Path:
    """The faust data directory of an app. faust wants one even with the memory store;
    nothing in it outlives the process, so it is in the temp directory, not wherever the
    worker was started."""
    return Path(tempfile.gettempdir()) / f"{app_id}-data"


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.worker_app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",
        processing_guarantee="at_least_once",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        # leadsync creates its topics itself; the leader-election topic is not needed.
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # The relay sends an outbox batch at once: without a linger every event went out as
        # its own produce request (bench/pipeline.py), a few ms lets them share one.
        producer_linger=0.005,
        producer_max_batch_size=256 * 1024,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
        broker_commit_interval=settings.kafka_commit_interval_s,
        broker_rebalance_timeout=max(settings.kafka_session_timeout_s, 10.0),
        web_enabled=False,
        consumer_max_fetch_size=CONSUMER_MAX_FETCH_BYTES,
        autodiscover=False,
        datadir=str(data_dir(settings.worker_app_id)),
    )
    # Imported here so each agent registers on this app instance (no import side effects).
    from streams import agents
    from streams.hydrate import register_hydrate
    from streams.ops import register_ops_server

    # One pool for the process, shared by the agents and hydration (and the LinkedIn token
    # store); the relay holds its lock on a connection of its own (Database.dedicated).
    db = Database.from_settings(settings, max_size=6)
    agents.register(app, settings, db)
    register_hydrate(app, settings, db)
    register_ops_server(app, settings)  # /metrics, /healthz, /readyz
    tune_gc()
    return app


def tune_gc() -> None:
    """Keep Python's cyclic garbage collector off the import agent's hot path.

    A batch of leads allocates some 100,000 container objects (parsed leads, mapped rows,
    JSON documents), nearly all freed by reference counting, yet they trigger hundreds of
    collections per batch, and each full collection walks the worker's whole heap (faust,
    aiokafka, pydantic: ~150 MiB). Measured with bench/pipeline.py, that was most of the
    worker's CPU. Objects alive after start-up are moved out of the collector's sight
    (``gc.freeze``), and collections happen ~15 times less often; the collector stays on,
    so cyclic garbage is still reclaimed (memory stays flat, see the benchmark's RSS).
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
