"""The one retry mechanism (:class:`leadsync.retry.RetryPolicy`) and what it retries
(:func:`leadsync.retry.is_retriable`): backoff with jitter, the cap, the give-up rule,
Retry-After, a fresh count after a long attempt, the ``on_retry`` hook."""

from __future__ import annotations

import logging
import random
from types import SimpleNamespace
from typing import Any

import aiokafka.errors
import psycopg
import pytest
from confluent_kafka import KafkaError, KafkaException
from psycopg_pool import PoolTimeout

import leadsync.retry
from leadsync.body_limit import BodyTooLarge
from leadsync.errors import LeadsyncError, PermanentError, RetriableError
from leadsync.kafka.producing import PublishError
from leadsync.kafka.topics import KafkaUnavailable
from leadsync.retry import RetryPolicy, is_retriable
from leadsync.settings import ConfigurationError
from mapping.errors import MappingError, ValueRejected

SEED = 20240611


class Down(RetriableError):
    """A service away; ``retry_after_s`` when it said how long to wait."""

    def __init__(self, n: int = 0, retry_after_s: object = None) -> None:
        super().__init__(f"down #{n}")
        self.retry_after_s = retry_after_s


class Clock:
    """``time.monotonic`` for :mod:`leadsync.retry`, moved only by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    # Only leadsync.retry's view of the time module: the event loop keeps the real clock.
    fake = Clock()
    monkeypatch.setattr(leadsync.retry, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


class Sleeps:
    """A ``sleep`` that records its delays and returns at once (moving the clock, if any)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.delays: list[float] = []
        self.clock = clock

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.clock is not None:
            self.clock.now += delay


class Operation:
    """Fails with each of ``failures`` in turn, then returns ``"done"``; ``durations[i]`` is
    how long call ``i`` takes (on the fake clock) before it fails."""

    def __init__(
        self,
        *failures: BaseException,
        clock: Clock | None = None,
        durations: tuple[float, ...] = (),
    ) -> None:
        self.failures = list(failures)
        self.clock = clock
        self.durations = durations
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.clock is not None and self.calls <= len(self.durations):
            self.clock.now += self.durations[self.calls - 1]
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def jittered(ceilings: list[float], seed: int = SEED) -> list[float]:
    """The delays a policy seeded with ``seed`` draws for these ceilings (equal jitter)."""
    rng = random.Random(seed)
    return [c / 2 + rng.uniform(0, c / 2) for c in ceilings]


def policy(**knobs: Any) -> RetryPolicy:
    """A policy whose jitter :func:`jittered` predicts."""
    return RetryPolicy(rng=random.Random(SEED), **knobs)


# -- backoff and jitter ---------------------------------------------------------------------


async def test_delays_double_with_equal_jitter_and_stop_at_the_cap() -> None:
    sleep = Sleeps()
    operation = Operation(*(Down(n) for n in range(7)))
    retry = policy(max_attempts=8, base_delay_s=1.0, max_delay_s=10.0)
    assert await retry.call(operation, what="test", sleep=sleep) == "done"
    assert operation.calls == 8
    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert sleep.delays == jittered(ceilings)
    for delay, ceiling in zip(sleep.delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert max(sleep.delays) <= 10.0
    # Jitter: not the bare ceilings, and two consecutive capped waits differ.
    assert sleep.delays != ceilings
    assert len(set(sleep.delays[4:])) == 3


def test_delay_s_stays_within_half_and_whole_ceiling_for_many_draws() -> None:
    retry = RetryPolicy(base_delay_s=0.5, max_delay_s=30.0, rng=random.Random(SEED))
    for attempt in range(1, 80):  # far beyond the cap, and beyond 2**60
        ceiling = min(30.0, 0.5 * 2.0 ** (attempt - 1))
        for _ in range(20):
            assert ceiling / 2 <= retry.delay_s(attempt) <= ceiling


# -- giving up ------------------------------------------------------------------------------


async def test_max_attempts_counts_the_first_try_and_raises_the_last_failure() -> None:
    sleep = Sleeps()
    failures = [Down(n) for n in range(5)]
    operation = Operation(*failures)
    with pytest.raises(Down) as raised:
        await policy(max_attempts=3).call(operation, what="test", sleep=sleep)
    assert operation.calls == 3
    assert raised.value is failures[2]
    assert sleep.delays == jittered([1.0, 2.0])
    operation = Operation(Down())
    with pytest.raises(Down):  # one attempt: no retry
        await policy(max_attempts=1).call(operation, what="test", sleep=sleep)
    assert operation.calls == 1
    assert len(sleep.delays) == 2
    operation = Operation(Down(1), Down(2))  # success on the last allowed attempt
    assert await policy(max_attempts=3).call(operation, what="test", sleep=sleep) == "done"
    assert operation.calls == 3
    assert len(sleep.delays) == 4


async def test_no_max_attempts_retries_until_success() -> None:
    sleep = Sleeps()
    operation = Operation(*(Down(n) for n in range(40)))
    retry = policy(max_attempts=None, base_delay_s=0.1, max_delay_s=2.0)
    assert await retry.call(operation, what="test", sleep=sleep) == "done"
    assert operation.calls == 41
    assert len(sleep.delays) == 40
    assert sleep.delays == jittered([min(2.0, 0.1 * 2**n) for n in range(40)])


@pytest.mark.parametrize(
    "failure",
    [ValueError("bad input"), PermanentError("refused"), KeyError("missing")],
    ids=["ValueError", "PermanentError", "KeyError"],
)
async def test_a_failure_waiting_cannot_help_is_raised_at_once(failure: Exception) -> None:
    sleep = Sleeps()
    seen: list[tuple[BaseException, int, float]] = []
    operation = Operation(failure, Down())
    with pytest.raises(type(failure)) as raised:
        await policy(max_attempts=None).call(
            operation,
            what="test",
            sleep=sleep,
            on_retry=lambda exc, n, d: seen.append((exc, n, d)),
        )
    assert raised.value is failure
    assert operation.calls == 1
    assert sleep.delays == []
    assert seen == []


async def test_retry_if_replaces_the_default_classification() -> None:
    sleep = Sleeps()
    operation = Operation(ValueError("flaky parser"), ValueError("again"))
    result = await policy().call(
        operation, what="test", sleep=sleep, retry_if=lambda exc: isinstance(exc, ValueError)
    )
    assert result == "done"
    assert operation.calls == 3
    operation = Operation(Down())
    with pytest.raises(Down):
        await policy().call(operation, what="test", sleep=sleep, retry_if=lambda _exc: False)
    assert operation.calls == 1


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay_s=-1.0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(max_delay_s=-1.0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(max_retry_after_s=-1.0)


async def test_max_elapsed_s_gives_up_once_that_long_has_passed(clock: Clock) -> None:
    sleep = Sleeps(clock)
    failures = [Down(n) for n in range(10)]
    operation = Operation(*failures, clock=clock, durations=(4.0,) * 10)
    retry = policy(max_attempts=None, max_delay_s=1.0, max_elapsed_s=10.0)
    with pytest.raises(Down) as raised:
        await retry.call(operation, what="test", sleep=sleep)
    # 4 s, then 8 s plus a wait under 1 s (both within 10 s), then over 12 s: given up.
    assert operation.calls == 3
    assert raised.value is failures[2]
    assert sleep.delays == jittered([1.0, 1.0])


# -- Retry-After ----------------------------------------------------------------------------


async def test_retry_after_replaces_the_computed_delay() -> None:
    sleep = Sleeps()
    retry = policy(max_delay_s=2.0)
    operation = Operation(Down(1, retry_after_s=7), Down(2), Down(3, retry_after_s=0.25))
    assert await retry.call(operation, what="test", sleep=sleep) == "done"
    assert operation.calls == 4
    # Beyond max_delay_s is fine: the server said so. The jitter draws only for attempt 2.
    assert sleep.delays == [7.0, jittered([2.0])[0], 0.25]
    sleep = Sleeps()
    operation = Operation(Down(1, retry_after_s="7"))  # not a number: ignored
    assert await policy().call(operation, what="test", sleep=sleep) == "done"
    assert sleep.delays == jittered([1.0])


async def test_a_retry_after_beyond_the_limit_is_raised_without_sleeping() -> None:
    sleep = Sleeps()
    too_long = Down(1, retry_after_s=301)
    operation = Operation(too_long)
    with pytest.raises(Down) as raised:
        await policy(max_retry_after_s=300).call(operation, what="test", sleep=sleep)
    assert raised.value is too_long
    assert operation.calls == 1
    assert sleep.delays == []
    # Exactly the limit is still waited for.
    operation = Operation(Down(1, retry_after_s=300))
    assert await policy(max_retry_after_s=300).call(operation, what="test", sleep=sleep) == "done"
    assert sleep.delays == [300.0]


async def test_without_use_retry_after_the_policy_keeps_its_own_pace_and_never_gives_up() -> None:
    """Hydration outlasts the LinkedIn client (which honoured Retry-After): a daily quota's
    Retry-After of hours is waited out at the policy's own capped pace, never raised."""
    sleep = Sleeps()
    retry = policy(max_attempts=None, max_delay_s=2.0, use_retry_after=False)
    operation = Operation(Down(1, retry_after_s=86_400), Down(2, retry_after_s=0.25))
    assert await retry.call(operation, what="test", sleep=sleep) == "done"
    assert operation.calls == 3
    assert sleep.delays == jittered([1.0, 2.0])


async def test_the_retry_line_goes_to_the_callers_logger(caplog: pytest.LogCaptureFixture) -> None:
    sleep = Sleeps()
    mine = logging.getLogger("streams.hydrate")
    with caplog.at_level(logging.WARNING):
        await policy().call(Operation(Down(1)), what="hydrating 7", sleep=sleep, logger=mine)
    [record] = caplog.records
    assert record.name == "streams.hydrate"
    assert record.getMessage().startswith("hydrating 7: Down")


async def test_retry_after_does_not_extend_max_attempts() -> None:
    sleep = Sleeps()
    operation = Operation(Down(1, retry_after_s=1), Down(2, retry_after_s=1))
    with pytest.raises(Down, match="down #2"):
        await policy(max_attempts=2).call(operation, what="test", sleep=sleep)
    assert operation.calls == 2
    assert sleep.delays == [1.0]


# -- a fresh count after a long attempt -----------------------------------------------------


async def test_an_attempt_longer_than_fresh_after_s_starts_the_count_again(clock: Clock) -> None:
    sleep = Sleeps(clock)
    seen: list[int] = []
    # Two quick failures, one after a long run (a new outage), two quick ones, then success.
    operation = Operation(
        Down(1), Down(2), Down(3), Down(4), clock=clock, durations=(1.0, 1.0, 500.0, 1.0)
    )
    result = await policy(max_attempts=3).call(
        operation,
        what="relay",
        sleep=sleep,
        fresh_after_s=100.0,
        on_retry=lambda _exc, n, _d: seen.append(n),
    )
    assert result == "done"
    assert operation.calls == 5
    assert seen == [1, 2, 1, 2]
    assert sleep.delays == jittered([1.0, 2.0, 1.0, 2.0])


async def test_without_fresh_after_s_a_long_attempt_counts_like_any_other(clock: Clock) -> None:
    sleep = Sleeps(clock)
    operation = Operation(
        Down(1), Down(2), Down(3), Down(4), clock=clock, durations=(1.0, 1.0, 500.0, 1.0)
    )
    with pytest.raises(Down, match="down #3"):
        await policy(max_attempts=3).call(operation, what="relay", sleep=sleep)
    assert operation.calls == 3
    assert sleep.delays == jittered([1.0, 2.0])


async def test_an_attempt_of_exactly_fresh_after_s_does_not_start_again(clock: Clock) -> None:
    sleep = Sleeps(clock)
    operation = Operation(Down(1), Down(2), clock=clock, durations=(100.0, 100.0))
    with pytest.raises(Down, match="down #2"):
        await policy(max_attempts=2).call(operation, what="relay", sleep=sleep, fresh_after_s=100.0)
    assert operation.calls == 2


# -- reporting ------------------------------------------------------------------------------


async def test_on_retry_gets_the_failure_the_attempt_and_the_delay() -> None:
    sleep = Sleeps()
    failures = [Down(1), Down(2, retry_after_s=5), Down(3)]
    seen: list[tuple[BaseException, int, float]] = []
    operation = Operation(*failures)
    await policy(max_attempts=4).call(
        operation,
        what="test",
        sleep=sleep,
        on_retry=lambda exc, n, d: seen.append((exc, n, d)),
    )
    first, third = jittered([1.0, 4.0])
    assert seen == [(failures[0], 1, first), (failures[1], 2, 5.0), (failures[2], 3, third)]
    assert [d for _, _, d in seen] == sleep.delays


async def test_without_on_retry_each_retry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    sleep = Sleeps()
    with caplog.at_level(logging.WARNING, logger="leadsync.retry"):
        await policy().call(Operation(Down(1)), what="publishing a page", sleep=sleep)
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith("publishing a page: ")
    for part in ("Down", "down #1", "attempt 1", f"retrying in {sleep.delays[0]:.2f} s"):
        assert part in message


# -- what is retriable ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        RetriableError("away"),
        Down(),
        KafkaUnavailable("no broker"),
        PublishError("not acknowledged"),
        psycopg.OperationalError("connection refused"),
        psycopg.InterfaceError("connection closed"),
        PoolTimeout("pool exhausted"),
        KafkaException(KafkaError(KafkaError._TRANSPORT)),
        aiokafka.errors.KafkaError(),
        aiokafka.errors.KafkaConnectionError("no broker"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_is_retriable_names_what_waiting_can_help(exc: BaseException) -> None:
    assert is_retriable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        RuntimeError("bug"),
        LeadsyncError("neither"),
        PermanentError("refused"),
        ConfigurationError("LEADSYNC_X"),
        MappingError("invalid_value", "no"),
        ValueRejected("no"),
        BodyTooLarge(10),
        psycopg.errors.UniqueViolation("duplicate key"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_is_retriable_refuses_what_fails_the_same_way_again(exc: BaseException) -> None:
    assert not is_retriable(exc)


async def test_the_default_retries_third_party_outages() -> None:
    sleep = Sleeps()
    operation = Operation(psycopg.OperationalError("down"), PoolTimeout("busy"))
    assert await policy().call(operation, what="test", sleep=sleep) == "done"
    assert operation.calls == 3
    operation = Operation(psycopg.errors.UniqueViolation("duplicate key"))
    with pytest.raises(psycopg.errors.UniqueViolation):
        await policy().call(operation, what="test", sleep=sleep)
    assert operation.calls == 1
