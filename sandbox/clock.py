"""The sandbox clock: wall time plus an offset that tests and the control API move forward.

Everything time-dependent in the sandbox (token expiry, retention, live API versions,
webhook re-validation, daily throttling budgets) reads this clock and nothing else, so
advancing it is enough to make a token expire or a lead fall out of retention.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Milliseconds since the epoch, as the sandbox sees them.

    A frozen clock (``frozen_at_ms``) only moves when advanced: unit tests use it to get
    exact timestamps. A running clock follows the wall clock plus the accumulated offset.
    """

    def __init__(
        self,
        *,
        frozen_at_ms: int | None = None,
        offset_ms: int = 0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._frozen_at_ms = frozen_at_ms
        self._offset_ms = offset_ms
        self._wall = wall

    @property
    def offset_ms(self) -> int:
        return self._offset_ms

    @property
    def frozen(self) -> bool:
        return self._frozen_at_ms is not None

    def now_ms(self) -> int:
        base = self._frozen_at_ms if self._frozen_at_ms is not None else int(self._wall() * 1000)
        return base + self._offset_ms

    def advance(self, seconds: float) -> int:
        """Move the clock forward (never back) and return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset_ms += round(seconds * 1000)
        return self.now_ms()
