"""Keeping leads flowing while a fault is injected, and watching the worker's log."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from harness.processes import LeadsyncProcess
from leadsync.kafka.producing import publish_all
from leadsync.settings import Settings
from tests.faults.dataset import LeadStream


class Publisher(threading.Thread):
    """Publishes a lead stream in chunks, pausing between them, from a background thread."""

    def __init__(self, settings: Settings, stream: LeadStream, chunk: int, pause_s: float) -> None:
        super().__init__(name="lead-publisher", daemon=True)
        self.settings = settings
        self.chunks = stream.chunks(chunk)
        self.pause_s = pause_s
        self.published = 0
        self.failure: BaseException | None = None
        self._stop_early = threading.Event()

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._stop_early.set()
        self.join(120)

    def run(self) -> None:
        try:
            for chunk in self.chunks:
                if self._stop_early.is_set():
                    return
                self.published += publish_all(self.settings, self.settings.topics.leads_raw, chunk)
                self._stop_early.wait(self.pause_s)
        except BaseException as exc:  # reported to the test by finish()
            self.failure = exc

    def finish(self, timeout_s: float = 120) -> None:
        """Wait until every chunk is published; raise what went wrong, if anything did."""
        self.join(timeout_s)
        assert not self.is_alive(), f"publishing did not finish in {timeout_s:.0f} s"
        if self.failure is not None:
            raise self.failure


class LogWatch:
    """Waits for lines in a process's log written after a given moment."""

    def __init__(self, worker: LeadsyncProcess) -> None:
        self.worker = worker
        self.mark()

    def mark(self) -> None:
        self.offset = self.worker.log_path.stat().st_size
        self.marked_at = time.monotonic()

    def since_mark(self) -> str:
        with self.worker.log_path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode(errors="replace")

    def wait_for(self, text: str, timeout_s: float) -> float:
        """Seconds from the mark until ``text`` appeared; fails with the log tail if it did not."""
        start = time.monotonic()
        while text not in self.since_mark():
            self.worker.check_running()
            if time.monotonic() - start > timeout_s:
                raise AssertionError(
                    f"{text!r} not in the log after {timeout_s:.0f} s:\n" + self.worker.log_tail()
                )
            time.sleep(0.02)
        return time.monotonic() - self.marked_at
