"""The one way leadsync waits and tries again: :class:`RetryPolicy`.

Every retry in the house goes through :meth:`RetryPolicy.call`: a LinkedIn call on 429/5xx,
the agents' database and Kafka work (which must never give up: an exception that leaves a
faust agent loses its batch), a hydration, a sync run, the outbox relay, the migrations at
start-up. Backoff, jitter, the give-up rule and the log line are written here once.

Delays grow exponentially with "equal jitter" (half fixed, half random), so many workers
thrown back at once do not come back in step, and none waits beyond ``max_delay_s``. A
``Retry-After`` the failure carries (``retry_after_s``) replaces the computed delay; one
longer than ``max_retry_after_s`` is not slept through (LinkedIn's quotas are daily: a
process parked for hours helps nobody) and the failure is raised for the caller to
reschedule.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import psycopg
from aiokafka.errors import KafkaError as AIOKafkaError
from confluent_kafka import KafkaException
from psycopg_pool import PoolTimeout

from leadsync.errors import RetriableError

T = TypeVar("T")
log = logging.getLogger("leadsync.retry")

# PostgreSQL or its pool away, or Kafka (through confluent-kafka or faust's aiokafka) not
# answering: a later try can succeed.
THIRD_PARTY_TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    KafkaException,
    AIOKafkaError,  # what faust's sends raise
)


def is_retriable(exc: BaseException) -> bool:
    """Whether waiting and trying again can help with ``exc``."""
    return isinstance(exc, (RetriableError, *THIRD_PARTY_TRANSIENT))


# Called before each wait with the failure, the attempt that failed (1-based) and the delay.
OnRetry = Callable[[BaseException, int, float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try (5: one call and up to four retries); ``None``
    retries until the call succeeds or fails in a way waiting cannot help. ``max_elapsed_s``
    also gives up once that long has passed since the first try began."""

    max_attempts: int | None = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0
    max_elapsed_s: float | None = None
    # False: the policy's own delays, whatever Retry-After says (a caller that outlasts the
    # LinkedIn client's retries, which already honoured it, and must never give up on it).
    use_retry_after: bool = True
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("delays cannot be negative")

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after_s is not None:
            return retry_after_s
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt - 1, 60))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def should_retry(self, attempt: int, retry_after_s: float | None = None) -> bool:
        """Whether failed attempt ``attempt`` may be followed by another."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return False
        return retry_after_s is None or retry_after_s <= self.max_retry_after_s

    async def call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        what: str,
        retry_if: Callable[[BaseException], bool] = is_retriable,
        on_retry: OnRetry | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        fresh_after_s: float | None = None,
        logger: logging.Logger = log,
    ) -> T:
        """``operation()``'s result, retried while ``retry_if`` says waiting can help.

        ``fresh_after_s`` is for long-lived operations (the outbox relay's loop): an attempt
        that ran that long before failing starts the count again, as its failure is a new
        outage rather than the next step of the last one. ``what`` names the work in the
        default log line, written to the caller's ``logger``.
        """
        attempt = 0
        first_started = time.monotonic()
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                return await operation()
            except Exception as exc:
                if fresh_after_s is not None and time.monotonic() - started > fresh_after_s:
                    attempt = 1
                retry_after = _retry_after_s(exc) if self.use_retry_after else None
                if not retry_if(exc) or not self.should_retry(attempt, retry_after):
                    raise
                elapsed = time.monotonic() - first_started
                if self.max_elapsed_s is not None and elapsed > self.max_elapsed_s:
                    raise
                delay = self.delay_s(attempt, retry_after)
                if on_retry is not None:
                    on_retry(exc, attempt, delay)
                else:
                    logger.warning(
                        "%s: %s (%s), attempt %d; retrying in %.2f s",
                        what,
                        type(exc).__name__,
                        exc,
                        attempt,
                        delay,
                    )
                await sleep(delay)


def _retry_after_s(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after_s", None)
    return float(value) if isinstance(value, int | float) else None
