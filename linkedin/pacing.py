"""How often and how fast the client calls LinkedIn: retry delays and a client-side pace.

LinkedIn documents no ``Retry-After`` on 429, so delays grow exponentially with full jitter
(so that many workers throttled at once do not come back in step); when the header is
present it wins. A ``Retry-After`` longer than ``max_retry_after_s`` is not slept through:
LinkedIn's quotas are daily, and a worker parked for hours helps nobody, so the call fails
with ``Throttled`` carrying the delay and the caller reschedules.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
from dataclasses import dataclass, field

from linkedin.clock import Clock

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try: 5 means one call and up to four retries."""

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("delays cannot be negative")

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after_s is not None:
            return retry_after_s
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        # Half fixed, half random: never hammers back at once, never waits beyond the cap.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT; a naive one is read as such
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class RateLimiter:
    """Spaces call starts at least ``1 / per_second`` apart, across concurrent callers.

    LinkedIn publishes no per-second limit; integrators settle around five calls a second,
    which keeps a daily quota from being spent in a burst.
    """

    def __init__(self, per_second: float, clock: Clock) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self._interval = 1.0 / per_second
        self._clock = clock
        self._next_start: float | None = None
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = self._clock.monotonic()
            if self._next_start is not None and now < self._next_start:
                await self._clock.sleep(self._next_start - now)
                now = self._next_start
            self._next_start = now + self._interval
