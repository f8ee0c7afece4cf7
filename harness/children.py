"""Child processes in general: started with their output in a log file, stopped for sure,
waited on until they serve; what they cost; free loopback ports."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

STOP_TIMEOUT_S = 30.0  # after the stop signal, then SIGKILL


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``argv`` with this environment, stdout and stderr appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - argv from the caller, no shell


def stop_process(
    process: subprocess.Popen[bytes],
    stop_signal: signal.Signals = signal.SIGTERM,
    timeout_s: float = STOP_TIMEOUT_S,
) -> None:
    """Send ``stop_signal`` and wait; SIGKILL when it does not end in time, and also when
    waiting is cut short (Ctrl-C): never leave it behind."""
    if process.poll() is not None:
        return
    process.send_signal(stop_signal)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.contextmanager
def child(
    argv: list[str],
    env: dict[str, str],
    log: Path,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process for the block, stopped with ``stop_signal`` at its end (SIGINT lets
    cProfile write its file where a program has no SIGTERM handler of its own)."""
    process = spawn(argv, env, log)
    try:
        yield process
    finally:
        stop_process(process, stop_signal)


def tail(log: Path, lines: int = 40) -> str:
    """The last lines of a log file."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process in MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_for_http(
    url: str, timeout_s: float, alive: Callable[[], bool], request_timeout_s: float = 1.0
) -> bool:
    """Whether ``GET url`` answered 200 within ``timeout_s``, asking while ``alive()``."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=request_timeout_s).status_code == 200:
                return True
        if not alive() or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@contextlib.contextmanager
def serve_in_child(
    serve: Callable[..., None], *args: object, ready_path: str, timeout_s: float
) -> Iterator[str]:
    """``serve(port, *args)`` in a child process with its own interpreter (so it never shares
    the GIL with the parent), on a free loopback port; yields its base URL once
    ``ready_path`` answers 200. ``serve`` must be importable by name (spawned, not forked)."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(port, *args), daemon=True
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_for_http(f"{base}{ready_path}", timeout_s, process.is_alive, 5):
            raise RuntimeError(f"{base}{ready_path} did not come up within {timeout_s:.0f} s")
        yield base
    finally:
        if process.is_alive():
            process.terminate()
            process.join(10)
