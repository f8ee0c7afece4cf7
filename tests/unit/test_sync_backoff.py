"""A failed scheduled run's backoff: 5 minutes, doubling with each failure in a row, never
longer than the form's interval (sinks.sync_runs.backoff_delay)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sinks.sync_runs import backoff_delay


@pytest.mark.parametrize(
    ("failures", "minutes"),
    [(0, 0), (1, 5), (2, 10), (3, 20), (4, 40), (5, 80), (6, 160), (9, 1280), (10, 1440)],
)
def test_the_delay_doubles_up_to_a_daily_interval(failures: int, minutes: int) -> None:
    assert backoff_delay(failures, 24) == timedelta(minutes=minutes)


def test_the_delay_never_exceeds_the_forms_interval() -> None:
    assert backoff_delay(4, 1) == timedelta(minutes=40)
    assert backoff_delay(5, 1) == timedelta(hours=1)
    assert backoff_delay(10_000, 6) == timedelta(hours=6)
    assert backoff_delay(10_000, 8760) == timedelta(hours=8760)
