"""Daily budgets (429 in LinkedIn's shape) and seeded fault draws."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.config import FaultConfig, PushFaultConfig, ThrottleConfig
from sandbox.errors import RestliError
from sandbox.faults import DAY_MS, FaultInjector, PushFate, RequestBudget

NOON = 20_000 * DAY_MS + DAY_MS // 2


def test_member_budget_answers_429_then_resets_at_midnight_utc() -> None:
    budget = RequestBudget()
    config = ThrottleConfig(member_daily_limit=2)
    budget.spend("m", NOON, config)
    budget.spend("m", NOON, config)
    with pytest.raises(RestliError) as caught:
        budget.spend("m", NOON, config)
    assert caught.value.status == 429
    assert caught.value.message.startswith("Resource level throttle MEMBER DAY limit")
    assert "Retry-After" not in caught.value.headers
    budget.spend("other", NOON, config)  # another member has its own budget
    budget.spend("m", NOON + DAY_MS // 2, config)  # the next day


def test_app_budget_covers_every_member_and_can_send_retry_after() -> None:
    budget = RequestBudget()
    config = ThrottleConfig(app_daily_limit=1, retry_after=True)
    budget.spend("a", NOON, config)
    with pytest.raises(RestliError) as caught:
        budget.spend("b", NOON, config)
    assert "APPLICATION" in caught.value.message
    assert caught.value.headers["Retry-After"] == str(DAY_MS // 2 // 1000)


async def test_error_rate_one_always_fails_with_a_configured_status() -> None:
    faults = FaultInjector(seed=1)
    config = FaultConfig(error_rate=1.0, error_statuses=(504,))
    with pytest.raises(RestliError) as caught:
        await faults.before_request(config)
    assert caught.value.body() == {
        "message": "Internal Server Error",
        "serviceErrorCode": 500,
        "status": 504,
    }
    await faults.before_request(FaultConfig())  # no faults: passes


def test_push_fates_follow_the_rates_and_the_seed() -> None:
    config = PushFaultConfig(drop_rate=0.2, duplicate_rate=0.1, reorder_rate=0.1)
    first, second = FaultInjector(seed=7), FaultInjector(seed=7)
    assert [first.push_fate(config) for _ in range(50)] == [
        second.push_fate(config) for _ in range(50)
    ]
    faults = FaultInjector(seed=7)
    counts = Counter(faults.push_fate(config) for _ in range(10_000))
    assert 1800 < counts[PushFate.DROP] < 2200
    assert 800 < counts[PushFate.DUPLICATE] < 1200
    assert counts[PushFate.DELAY] == 0
    assert 5400 < counts[PushFate.DELIVER] < 6600
