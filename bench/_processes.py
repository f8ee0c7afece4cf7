"""What the benchmark programs share: child processes and cleaning up Kafka after a run."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from confluent_kafka.admin import AdminClient


@contextlib.contextmanager
def child(
    argv: list[str], env: dict[str, str], log: Path, stop: signal.Signals = signal.SIGTERM
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess stopped with ``stop`` at the end (SIGINT lets cProfile write its file
    where a process has no SIGTERM handler of its own, as the scheduler)."""
    with log.open("ab") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                process.wait(30)
            finally:  # also when waiting was cut short (Ctrl-C): never leave it behind
                if process.poll() is None:
                    process.kill()
                    process.wait()


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def remove_from_kafka(kafka: str, prefixes: Iterable[str], groups: Iterable[str]) -> None:
    """Delete the topics under these prefixes and these consumer groups (best effort)."""
    admin = AdminClient({"bootstrap.servers": kafka})
    prefixes = list(prefixes)
    with contextlib.suppress(Exception):
        topics = [
            t
            for t in admin.list_topics(timeout=10).topics
            if any(t.startswith(f"{p}.") or t.startswith(f"{p}-") for p in prefixes)
        ]
        if topics:
            for future in admin.delete_topics(topics, operation_timeout=30).values():
                with contextlib.suppress(Exception):
                    future.result()
    groups = list(groups)
    if groups:
        for future in admin.delete_consumer_groups(groups).values():
            with contextlib.suppress(Exception):  # a group may never have existed
                future.result()
