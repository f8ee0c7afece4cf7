"""What the benchmark programs share beyond the harness: the rounds of a run on the local
stack, what they create there and its removal, and ending cleanly on SIGTERM."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

from pydantic import SecretStr

from harness.scratch import remove_leftovers
from leadsync.settings import Settings, load_settings


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """SIGTERM ends the program as Ctrl-C does, so that its clean-up runs."""
    signal.signal(signal.SIGTERM, _interrupt)


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

    def settings(self, round_no: int | str, database_url: str, **overrides: object) -> Settings:
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
