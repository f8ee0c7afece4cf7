"""A real ``leadsync worker`` process for integration tests, and ways to wait on it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from leadsync.settings import Settings

_TRANSIENT = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a leadsync process use these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSYNC_")}
    for name, value in settings.model_dump().items():
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"LEADSYNC_{name.upper()}"] = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return env


class LeadsyncProcess:
    """A ``leadsync <command>`` subprocess with the test's settings and its own log file."""

    command = "worker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        prefix = f"leadsync-{self.command}-"
        self.log_path = Path(tempfile.mkstemp(prefix=prefix, suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", self.command],
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Worker(LeadsyncProcess):
    """``leadsync worker``, and ways to wait until it has dealt with what was published."""

    command = "worker"

    def wait_caught_up(self, topic: str, timeout_s: float = 90) -> None:
        """Wait until the worker's group has committed every record of ``topic``."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap_servers,
                "group.id": self.settings.worker_app_id,
                "enable.auto.commit": False,
            }
        )
        try:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            partitions = [TopicPartition(topic, p) for p in metadata.partitions]
            deadline = time.monotonic() + timeout_s
            while True:
                if self.process and self.process.poll() is not None:
                    raise AssertionError(f"worker exited:\n{self.log_tail()}")
                try:
                    if self._caught_up(consumer, partitions):
                        return
                except KafkaException as exc:
                    # A fresh broker answers "coordinator loading" for a while: ask again.
                    error = exc.args[0]
                    if not isinstance(error, KafkaError) or error.code() not in _TRANSIENT:
                        raise
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"worker did not catch up on {topic} in {timeout_s:.0f} s:\n"
                        + self.log_tail()
                    )
                time.sleep(0.3)
        finally:
            consumer.close()

    def settle(self, timeout_s: float = 90) -> None:
        """Wait until every lead, error event and outbox row so far has been dealt with."""
        self.wait_caught_up(self.settings.topics.leads_raw, timeout_s)
        self.wait_caught_up(self.settings.topics.errors, timeout_s)
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.settings.database_conninfo(), autocommit=True) as conn:
            while True:
                row = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                if row.fetchone() == (0,):
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"outbox not drained:\n{self.log_tail()}")
                time.sleep(0.2)

    @staticmethod
    def _caught_up(consumer: Consumer, partitions: list[TopicPartition]) -> bool:
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=5)[1] for p in partitions}
        committed = consumer.committed(partitions, timeout=10)
        return all(
            c.offset >= ends[c.partition] or (ends[c.partition] == 0 and c.offset < 0)
            for c in committed
        )
