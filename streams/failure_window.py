"""A sliding window over recent records that trips when most of them fail unexpectedly.

Unexpected means undecodable records or internal errors: signs of a bad producer or a bad
deploy. A form's configuration errors (identity not mapped, an invalid value) are product
behaviour, counted per form, and never trip it.
"""

from __future__ import annotations

from collections import deque


class FailureWindow:
    def __init__(self, size: int, ratio: float, minimum: int) -> None:
        self.size = size
        self.ratio = ratio
        self.minimum = minimum
        self._batches: deque[tuple[int, int]] = deque()
        self._records = 0
        self._failures = 0

    def add(self, records: int, failures: int) -> bool:
        """Account for one batch; True when the window now calls for the alarm."""
        self._batches.append((records, failures))
        self._records += records
        self._failures += failures
        while self._batches and self._records - self._batches[0][0] >= self.size:
            old_records, old_failures = self._batches.popleft()
            self._records -= old_records
            self._failures -= old_failures
        return self._failures >= self.minimum and self._failures >= self.ratio * self._records

    def describe(self) -> str:
        return f"{self._failures} of the last {self._records} records failed unexpectedly"

    def reset(self) -> None:
        self._batches.clear()
        self._records = self._failures = 0
