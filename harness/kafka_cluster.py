"""A Kafka cluster of several brokers on loopback for one run, apart from the local stack's.

Each node is broker and controller at once (stack/kafka/cluster.properties.in, the same
template as ``KAFKA_BROKERS=3 stack/kafka.sh start``), on free ports, with its data in a
directory of the run's, started from the jars stack/kafka.sh resolved into .cache/kafka/lib.
A node can be killed (SIGKILL, as a machine is lost) and started again on the same ports and
data, and the cluster can be asked what a test checks after that: which broker coordinates a
consumer group, and whether every replica is back in sync.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConsumerGroupDescription

from harness.children import free_port, spawn, tail

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "stack" / "kafka" / "cluster.properties.in"
LOG4J = ROOT / "stack" / "kafka" / "log4j2.properties"
JARS = ROOT / ".cache" / "kafka" / "lib"
READY_TIMEOUT_S = 120.0  # three JVMs starting on two cores
STOP_TIMEOUT_S = 15.0  # the run's data is thrown away: no need to wait long for a clean stop


class ClusterError(AssertionError):
    """The cluster did not start, or did not get to the state waited for in time."""


@dataclass
class KafkaNode:
    """One broker-and-controller JVM: its ports, its directory and, while it runs, its
    process."""

    node_id: int
    port: int
    controller_port: int
    home: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        server_log = self.logs / "server.log"
        return tail(server_log if server_log.exists() else self.logs / "stdout.log", lines)


class KafkaCluster:
    """``brokers`` KRaft nodes under ``home``; replication factor and min ISR of the internal
    topics follow the size as in stack/kafka.sh (3 and 2 from three nodes up). Use it as a
    context manager: every node is stopped at the end, whatever happened."""

    def __init__(
        self, home: Path, brokers: int = 3, jars: Path = JARS, heap_mib: int = 256
    ) -> None:
        self.home = home
        self.jars = jars
        self.heap_mib = heap_mib
        ports = _distinct_free_ports(2 * brokers)
        self.nodes = [
            KafkaNode(i + 1, ports[i], ports[brokers + i], home / f"node-{i + 1}")
            for i in range(brokers)
        ]
        self.replication_factor = min(brokers, 3)
        self.min_insync_replicas = 2 if self.replication_factor >= 3 else 1

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def bootstrap(self) -> str:
        """Every node's address, as clients should be given them (any one may be down)."""
        return ",".join(node.address for node in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        return next(node for node in self.nodes if node.node_id == node_id)

    def start(self) -> None:
        """Write every node's configuration, format its storage, start it; return once the
        cluster answers with every broker registered."""
        if not any(self.jars.glob("kafka_2.13-*.jar")):
            raise ClusterError(
                f"no Kafka jars in {self.jars}: run `bash stack/kafka.sh start` (or `make"
                " services`) once, which resolves them from Maven Central"
            )
        if shutil.which("java") is None:
            raise ClusterError(
                "java is missing: install a JRE 17 (apt-get install openjdk-17-jre-headless)"
            )
        self._configure()
        for node in self.nodes:
            self._launch(node)
        self.wait_brokers(len(self.nodes))

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as when its machine is lost: no clean shutdown, no handover."""
        node = self.node(node_id)
        assert node.process is not None, f"node {node_id} was never started"
        assert node.running(), f"node {node_id} is not running"
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(10)

    def restart(self, node_id: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start a stopped node again on its ports and data; return once it is registered."""
        node = self.node(node_id)
        assert not node.running(), f"node {node_id} is still running"
        self._launch(node)
        self.wait_brokers(len(self.nodes), timeout_s)

    def stop(self) -> None:
        """SIGTERM every node at once, SIGKILL what is left after STOP_TIMEOUT_S."""
        running = [node.process for node in self.nodes if node.process and node.running()]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

    def wait_brokers(self, brokers: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until every running node's metadata lists ``brokers`` brokers and a controller.
        Each node is asked itself: an open port is not a ready broker, and a node that just
        started answers with the cluster as it last knew it until it has caught up (topics
        created then would look missing, or the cluster too small, to whoever asks it)."""
        clients = {
            node.node_id: AdminClient({"bootstrap.servers": node.address, "log_level": 0})
            for node in self.nodes
        }
        deadline = time.monotonic() + timeout_s
        seen: dict[int, int] = {}
        while True:
            self._check_running()
            for node in self.nodes:
                if not node.running():
                    continue
                try:
                    metadata = clients[node.node_id].list_topics(timeout=2)
                    if metadata.controller_id >= 0:
                        seen[node.node_id] = len(metadata.brokers)
                except KafkaException:
                    seen.pop(node.node_id, None)
            if all(seen.get(node.node_id, 0) >= brokers for node in self.nodes if node.running()):
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"brokers registered, as each node sees it: {seen}, not {brokers}, after"
                    f" {timeout_s:.0f} s:\n" + self._log_tails()
                )
            time.sleep(0.5)

    def coordinator_of(self, group: str, timeout_s: float = 30.0) -> int:
        """The id of the broker coordinating this consumer group (its committed offsets)."""
        admin = self.admin()  # held until the answer is in: its thread resolves the future
        future = admin.describe_consumer_groups([group], request_timeout=timeout_s)[group]
        # The stub types the result as a dict; the library returns the group's description.
        description: ConsumerGroupDescription = future.result(timeout_s)  # type: ignore[assignment]
        coordinator: int = description.coordinator.id
        return coordinator

    def leaders(self, topics: list[str]) -> dict[int, int]:
        """Broker id -> how many partitions of these topics it leads."""
        metadata = self.admin().list_topics(timeout=10).topics
        counts = {node.node_id: 0 for node in self.nodes}
        for topic in topics:
            for partition in metadata[topic].partitions.values():
                if partition.leader in counts:
                    counts[partition.leader] += 1
        return counts

    def wait_in_sync(self, topics: list[str], timeout_s: float = READY_TIMEOUT_S) -> float:
        """Until every partition of these topics has all its replicas in sync (a restarted
        broker has caught up); the seconds it took."""
        admin = self.admin()
        start = time.monotonic()
        lagging: list[str] = []
        while True:
            metadata = admin.list_topics(timeout=5).topics
            lagging = [
                f"{topic}[{p.id}] isr {sorted(p.isrs)} of {sorted(p.replicas)}"
                for topic in topics
                for p in metadata[topic].partitions.values()
                if sorted(p.isrs) != sorted(p.replicas)
            ]
            if not lagging:
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise ClusterError(
                    f"replicas not in sync after {timeout_s:.0f} s: {lagging[:5]}\n"
                    + self._log_tails()
                )
            time.sleep(0.5)

    def _configure(self) -> None:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        template = TEMPLATE.read_text()
        cluster_id = _cluster_id()
        formats = []
        for node in self.nodes:
            (node.home / "data").mkdir(parents=True, exist_ok=True)
            node.logs.mkdir(exist_ok=True)
            values = {
                "NODE_ID": str(node.node_id),
                "VOTERS": voters,
                "KAFKA_PORT": str(node.port),
                "CONTROLLER_PORT": str(node.controller_port),
                "DATA_DIR": str(node.home / "data"),
                "REPLICATION_FACTOR": str(self.replication_factor),
                "MIN_ISR": str(self.min_insync_replicas),
            }
            text = template
            for name, value in values.items():
                text = text.replace(f"@{name}@", value)
            node.config.write_text(text)
            # Formatted side by side: each is a JVM start, seconds on this machine.
            formats.append(
                spawn(
                    [
                        *self._java(node, heap_mib=128),
                        "kafka.tools.StorageTool",
                        "format",
                        "--ignore-formatted",
                        "-t",
                        cluster_id,
                        "-c",
                        str(node.config),
                    ],
                    dict(os.environ),
                    node.logs / "format.log",
                )
            )
        for node, process in zip(self.nodes, formats, strict=True):
            if process.wait(READY_TIMEOUT_S) != 0:
                raise ClusterError(
                    f"formatting node {node.node_id} failed:\n{tail(node.logs / 'format.log')}"
                )

    def _launch(self, node: KafkaNode) -> None:
        node.process = spawn(
            [*self._java(node, heap_mib=self.heap_mib), "kafka.Kafka", str(node.config)],
            dict(os.environ),
            node.logs / "stdout.log",
        )

    def _java(self, node: KafkaNode, heap_mib: int) -> list[str]:
        java = shutil.which("java") or "java"
        return [
            java,
            f"-Xmx{heap_mib}m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J}",
            f"-Dkafka.logs.dir={node.logs}",
            "-cp",
            f"{self.jars}/*",
        ]

    def _check_running(self) -> None:
        """Fail with a node's log when one that was started has exited."""
        for node in self.nodes:
            ended = node.process is not None and node.process.poll() is not None
            # A node killed on purpose (SIGKILL) is not a failure.
            if ended and node.process is not None and node.process.returncode != -signal.SIGKILL:
                raise ClusterError(
                    f"Kafka node {node.node_id} exited ({node.process.returncode}):\n"
                    + node.log_tail()
                )

    def _log_tails(self) -> str:
        return "\n".join(f"--- node {n.node_id}:\n{n.log_tail(15)}" for n in self.nodes)


def _distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _cluster_id() -> str:
    """A KRaft cluster id as ``kafka-storage random-uuid`` makes one (a UUID in url-safe
    base64 without padding; never starting with '-', which a command line would misread),
    without starting a JVM for it."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
