"""Throttling and injected faults, all driven by the (runtime-changeable) config.

- :class:`RequestBudget`: daily request budgets per member and per application, reset at
  midnight UTC on the sandbox clock, answering 429 in LinkedIn's shape once spent (with a
  ``Retry-After`` up to the reset only when configured: LinkedIn documents none).
- :class:`FaultInjector`: added latency and a share of 5xx answers on REST calls, and the
  fate of each push notification (delivered, dropped, duplicated, delayed, reordered).
  Its random draws are seeded, so a faulty run can be replayed.
"""

from __future__ import annotations

import asyncio
import random
from enum import StrEnum

from sandbox.config import FaultConfig, PushFaultConfig, ThrottleConfig
from sandbox.errors import SERVER_ERROR, THROTTLED, RestliError

DAY_MS = 86_400_000


class RequestBudget:
    """Counts today's calls; a call over budget raises a 429 RestliError and is not counted."""

    def __init__(self) -> None:
        self._day = -1
        self._member: dict[str, int] = {}
        self._app = 0

    def spend(self, member_urn: str, now_ms: int, config: ThrottleConfig) -> None:
        day = now_ms // DAY_MS
        if day != self._day:
            self._day, self._member, self._app = day, {}, 0
        used = self._member.get(member_urn, 0)
        scope = None
        if config.app_daily_limit is not None and self._app >= config.app_daily_limit:
            scope = "APPLICATION"
        elif config.member_daily_limit is not None and used >= config.member_daily_limit:
            scope = "MEMBER"
        if scope is not None:
            headers = {}
            if config.retry_after:
                headers["Retry-After"] = str(max(1, ((day + 1) * DAY_MS - now_ms) // 1000))
            raise RestliError(
                429,
                f"Resource level throttle {scope} DAY limit for calls to this resource is reached.",
                THROTTLED,
                headers,
            )
        self._member[member_urn] = used + 1
        self._app += 1


class PushFate(StrEnum):
    DELIVER = "deliver"
    DROP = "drop"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    REORDER = "reorder"


class FaultInjector:
    """Seeded random faults."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"faults-{seed}")  # noqa: S311 - seeded on purpose: replayable

    async def before_request(self, config: FaultConfig) -> None:
        """Sleep the configured latency, then maybe fail like an overloaded LinkedIn."""
        delay_ms = config.latency_ms
        if config.latency_jitter_ms:
            delay_ms += self._rng.uniform(0, config.latency_jitter_ms)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if config.error_rate and self._rng.random() < config.error_rate:
            status = self._rng.choice(config.error_statuses) if config.error_statuses else 500
            raise RestliError(status, "Internal Server Error", SERVER_ERROR)
        if config.throttle_rate and self._rng.random() < config.throttle_rate:
            raise RestliError(429, "Too many requests: slow down.", THROTTLED)

    def push_fate(self, config: PushFaultConfig) -> PushFate:
        draw = self._rng.random()
        for fate, rate in (
            (PushFate.DROP, config.drop_rate),
            (PushFate.DUPLICATE, config.duplicate_rate),
            (PushFate.DELAY, config.delay_rate),
            (PushFate.REORDER, config.reorder_rate),
        ):
            if draw < rate:
                return fate
            draw -= rate
        return PushFate.DELIVER

    def delay_s(self, config: PushFaultConfig) -> float:
        return self._rng.uniform(0, config.delay_ms) / 1000
