"""leadsync's own processes as children, as an operator runs them: ``leadsync <command>``
with given settings (through the environment) and a log file of its own; a one-off command;
and the ways to wait until the worker has dealt with what was published."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from harness.children import free_port, spawn, stop_process, tail, wait_for_http
from leadsync.settings import Settings

READY_TIMEOUT_S = 60.0  # for a server to answer
_TRANSIENT = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a leadsync process use these settings: this process's,
    without its LEADSYNC_* variables, plus one for every setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSYNC_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue  # unset (an environment variable cannot say None)
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"LEADSYNC_{name.upper()}"] = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return env


def leadsync_argv(*args: str, profile: Path | None = None) -> list[str]:
    """``leadsync <args>`` run by this interpreter; under cProfile (writing ``profile``) if
    one is given."""
    under_profile = ["-m", "cProfile", "-o", str(profile)] if profile else []
    return [sys.executable, *under_profile, "-m", "cli.main", *args]


def leadsync(
    settings: Settings,
    *args: str,
    returncode: int = 0,
    timeout_s: float = 180,
    stderr: bool = False,
) -> str:
    """Run a leadsync command as an operator would, expecting its exit status; returns its
    output (its error output with ``stderr``)."""
    done = subprocess.run(  # noqa: S603 - this interpreter running leadsync
        leadsync_argv(*args),
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != returncode:
        raise AssertionError(
            f"leadsync {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stderr if stderr else done.stdout


class LeadsyncProcess:
    """A ``leadsync <command>`` child with these settings and its own log file (a temporary
    file unless given); it can be started again after it ended (the log goes on)."""

    command: ClassVar[str]
    # The setting of the port its /metrics, /healthz and /readyz are on, for the processes
    # that serve them on a port of their own: each instance gets a free one, so that two
    # workers (or a test's and a developer's) never fight over the default.
    metrics_port_setting: ClassVar[str | None] = None

    def __init__(
        self,
        settings: Settings,
        *,
        log_path: Path | None = None,
        profile: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        if self.metrics_port_setting is not None:
            settings = settings.model_copy(update={self.metrics_port_setting: free_port()})
        self.settings = settings
        self.log_path = log_path or Path(
            tempfile.mkstemp(prefix=f"leadsync-{self.command}-", suffix=".log")[1]
        )
        self.profile = profile
        self.stop_signal = stop_signal
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

    def argv(self) -> list[str]:
        return leadsync_argv(self.command, profile=self.profile)

    def start(self) -> None:
        """Start it, and wait until it is ready (stopped again if it does not get ready)."""
        self.process = spawn(self.argv(), settings_env(self.settings), self.log_path)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        """Until it serves; the processes that serve nothing are ready at once."""

    @property
    def ops_url(self) -> str:
        """Where its /metrics, /healthz and /readyz are (the receiver and the admin: on
        their own port)."""
        if self.metrics_port_setting is None:
            raise RuntimeError(f"leadsync {self.command} serves no /metrics")
        return f"http://127.0.0.1:{getattr(self.settings, self.metrics_port_setting)}"

    def wait_until_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until its ``/readyz`` answers 200 (for the worker: Kafka, PostgreSQL and its
        partitions); fails with the log's tail if it does not in time."""
        if not wait_for_http(f"{self.ops_url}/readyz", timeout_s, self.running):
            self.check_running()
            raise AssertionError(
                f"leadsync {self.command} not ready in {timeout_s:.0f} s:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """The stop signal (SIGTERM unless told), SIGKILL if it does not end in 30 s."""
        if self.process is not None:
            stop_process(self.process, self.stop_signal)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"leadsync {self.command} was not started")
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_running(self) -> None:
        """Fail with the log's tail if it has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"leadsync {self.command} exited ({self.process.returncode}):\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)


class Scheduler(LeadsyncProcess):
    """``leadsync scheduler``."""

    command = "scheduler"
    metrics_port_setting = "scheduler_metrics_port"


class Ingress(LeadsyncProcess):
    """``leadsync ingress`` on the settings' port (a free loopback one, for a test), ready
    once its health check answers."""

    command = "ingress"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ingress_port}"

    @property
    def ops_url(self) -> str:
        return self.url

    def wait_ready(self) -> None:
        if not wait_for_http(f"{self.url}/healthz", READY_TIMEOUT_S, self.running):
            raise AssertionError(f"leadsync {self.command} did not start:\n{self.log_tail()}")


class Admin(LeadsyncProcess):
    """``leadsync admin`` as an operator runs it (``admin_port``: a free one, for a test)."""

    command = "admin"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.admin_port}"

    @property
    def ops_url(self) -> str:
        return self.url

    def wait_ready(self) -> None:
        if not wait_for_http(f"{self.url}/openapi.json", READY_TIMEOUT_S, self.running):
            raise AssertionError(f"leadsync admin did not start:\n{self.log_tail()}")


class Worker(LeadsyncProcess):
    """``leadsync worker``, and ways to wait until it has dealt with what was published."""

    command = "worker"
    metrics_port_setting = "worker_metrics_port"

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
                self.check_running()
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
