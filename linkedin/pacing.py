"""How fast the client calls LinkedIn: the statuses worth a retry, ``Retry-After``, and a
client-side pace. The waiting itself is :class:`leadsync.retry.RetryPolicy`'s.

LinkedIn documents no ``Retry-After`` on 429, so delays grow exponentially with jitter; when
the header is present it wins (up to the policy's ``max_retry_after_s``).
"""

from __future__ import annotations

import asyncio
import email.utils

from linkedin.clock import Clock

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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
