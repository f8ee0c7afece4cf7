"""What the benchmark programs share: child processes, the rounds of a run on the local stack,
and cleaning up after it."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from pydantic import SecretStr

from leadsync.kafka.topics import admin_client
from leadsync.settings import Settings, load_settings
from streams.app import data_dir
from tests.faults.proxy import free_port

SANDBOX_FORM_ID = 7234246  # the reference form: ad account 1234567, created 200 days ago
SANDBOX_SPREAD_DAYS = 150  # within the form's lifetime and LinkedIn's retention


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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """SIGTERM ends the program as Ctrl-C does, so that its clean-up runs."""
    signal.signal(signal.SIGTERM, _interrupt)


def _serve_sandbox(port: int, leads: int, seed: int) -> None:
    """The child process: a sandbox preloaded with ``leads`` leads on SANDBOX_FORM_ID."""
    import uvicorn

    from sandbox.app import create_app
    from sandbox.config import SandboxConfig
    from sandbox.state import SandboxState

    state = SandboxState(SandboxConfig(seed=seed))
    state.preload(leads, SANDBOX_SPREAD_DAYS, form_id=SANDBOX_FORM_ID)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def sandbox(leads: int, seed: int, start_timeout_s: float) -> Iterator[str]:
    """A preloaded sandbox in a child process (its own interpreter, so it never shares the
    GIL with the benchmark); yields its base URL."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_sandbox, args=(port, leads, seed), daemon=True
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                httpx.get(f"{base}/sandbox/status", timeout=5).json()
                break
            except httpx.HTTPError:
                if not process.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not come up") from None
                time.sleep(0.5)
        yield base
    finally:
        if process.is_alive():
            process.terminate()
            process.join(10)


def sandbox_token(base: str) -> str:
    """An access token of the sandbox's member, without the OAuth dance."""
    token: str = httpx.post(f"{base}/sandbox/tokens", json={}, timeout=30).json()["access_token"]
    return token


def remove_leftovers(settings: Settings, prefixes: Iterable[str], groups: Iterable[str]) -> None:
    """Delete the topics under these prefixes, these consumer groups and the faust data
    directories named after them (best effort)."""
    admin = admin_client(settings)
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
    for group in groups:
        shutil.rmtree(data_dir(group), ignore_errors=True)


@dataclass
class Stack:
    """The local Kafka and PostgreSQL (as LEADSYNC_* say, else the local stack's), and what
    the rounds of a benchmark create there: topic prefixes and consumer groups."""

    name: str  # topic prefixes are "<name>-<token>-<round>"
    base: Settings = field(default_factory=lambda: load_settings(demo=True))
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    prefixes: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def kafka(self) -> str:
        return self.base.kafka_bootstrap_servers

    @property
    def admin_url(self) -> str:
        return self.base.database_conninfo()

    def settings(self, round_no: int, database_url: str, **overrides: object) -> Settings:
        """A round's settings: its own database and topic prefix."""
        prefix = f"{self.name}-{self.token}-{round_no}"
        self.prefixes.append(prefix)
        return load_settings(
            demo=True,
            kafka_bootstrap_servers=self.kafka,
            database_url=SecretStr(database_url),
            topic_prefix=prefix,
            **overrides,
        )

    def clean(self) -> None:
        """Every round's topics, consumer groups and faust data directories."""
        remove_leftovers(self.base, self.prefixes, self.groups)


def rounds(count: int, max_minutes: float, started: float) -> Iterator[int]:
    """Round numbers from 1; after round 1, none starts ``max_minutes`` after ``started``."""
    for round_no in range(1, count + 1):
        if round_no > 1 and time.monotonic() - started > max_minutes * 60:
            print(f"time limit: stopping after {round_no - 1} round(s)")
            return
        yield round_no
