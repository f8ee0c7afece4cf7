"""Retries on 429/5xx with backoff and Retry-After, giving up, pacing, network failures."""

from __future__ import annotations

import logging
import random

import httpx
import pytest

from leadsync.retry import RetryPolicy
from linkedin import (
    BadRequest,
    LinkedInError,
    Owner,
    ServerError,
    Throttled,
    Unavailable,
)
from linkedin.pacing import RateLimiter, parse_retry_after

from .fakes import T0, FakeClock, Script, error, make_client, ok

OWNER = Owner.sponsored_account(1)


async def get_form(script: Script, clock: FakeClock, **kw: object) -> int:
    # kw carries make_client's own options (policy, limiter), typed there.
    async with make_client(script, clock=clock, **kw) as linkedin:  # type: ignore[arg-type]
        return (await linkedin.get_form(1)).id


async def test_429_without_retry_after_backs_off_exponentially_then_succeeds() -> None:
    clock = FakeClock()
    script = Script(error(429), error(429), error(429), ok({"id": 1}))
    assert await get_form(script, clock) == 1
    assert len(script.requests) == 4
    # base 1s doubling: each delay in [ceiling/2, ceiling] for ceilings 1, 2, 4
    assert len(clock.sleeps) == 3
    for delay, ceiling in zip(clock.sleeps, [1, 2, 4], strict=True):
        assert ceiling / 2 <= delay <= ceiling


async def test_429_with_retry_after_waits_exactly_that_long() -> None:
    clock = FakeClock()
    script = Script(error(429, headers={"Retry-After": "7"}), ok({"id": 1}))
    assert await get_form(script, clock) == 1
    assert clock.sleeps == [7.0]


async def test_retry_after_as_http_date() -> None:
    clock = FakeClock()
    script = Script(
        error(503, headers={"Retry-After": "Tue, 14 Nov 2023 22:13:32 GMT"}), ok({"id": 1})
    )
    assert await get_form(script, clock) == 1
    assert clock.sleeps == [pytest.approx(12.0)]  # T0 is 22:13:20 GMT that day


async def test_retry_after_beyond_the_limit_fails_fast_with_the_delay() -> None:
    clock = FakeClock()
    script = Script(error(429, "daily limit", headers={"Retry-After": "3600"}))
    with pytest.raises(Throttled) as caught:
        await get_form(script, clock, retry=RetryPolicy(max_retry_after_s=300))
    assert caught.value.retry_after_s == 3600
    assert caught.value.retriable
    assert clock.sleeps == []
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_then_success(status: int) -> None:
    clock = FakeClock()
    script = Script(error(status), ok({"id": 1}))
    assert await get_form(script, clock) == 1
    assert len(script.requests) == 2
    assert len(clock.sleeps) == 1


async def test_gives_up_after_max_attempts_with_the_typed_error() -> None:
    clock = FakeClock()
    script = Script(*[error(503, "busy", 77)] * 4)
    with pytest.raises(ServerError) as caught:
        await get_form(script, clock)
    assert len(script.requests) == 4  # max_attempts=4 in make_client
    assert len(clock.sleeps) == 3
    assert caught.value.status == 503
    assert caught.value.service_error_code == 77
    assert caught.value.message == "busy"


async def test_throttled_to_the_end_raises_throttled() -> None:
    script = Script(*[error(429)] * 2)
    with pytest.raises(Throttled):
        await get_form(script, FakeClock(), retry=RetryPolicy(max_attempts=2))
    assert len(script.requests) == 2


async def test_delay_is_capped() -> None:
    clock = FakeClock()
    script = Script(*[error(500)] * 6, ok({"id": 1}))
    policy = RetryPolicy(max_attempts=7, base_delay_s=1, max_delay_s=3)
    assert await get_form(script, clock, retry=policy) == 1
    assert max(clock.sleeps) <= 3
    assert all(d >= 1.5 for d in clock.sleeps[2:])  # ceiling reached the cap


@pytest.mark.parametrize("status", [400, 403, 404, 409, 426, 501])
async def test_statuses_that_cannot_heal_are_not_retried(status: int) -> None:
    clock = FakeClock()
    script = Script(error(status), ok({"id": 1}))
    with pytest.raises(LinkedInError) as caught:
        await get_form(script, clock)
    assert caught.value.status == status
    assert not caught.value.retriable
    assert len(script.requests) == 1
    assert clock.sleeps == []


async def test_network_failure_is_retried_then_unavailable() -> None:
    clock = FakeClock()
    script = Script(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), ok({"id": 1}))
    assert await get_form(script, clock) == 1
    assert len(clock.sleeps) == 2
    script = Script(*[httpx.ConnectError("refused")] * 4)
    with pytest.raises(Unavailable, match="ConnectError") as caught:
        await get_form(script, FakeClock())
    assert caught.value.retriable
    assert caught.value.status is None


async def test_post_is_not_retried_when_linkedin_may_have_acted() -> None:
    script = Script(ok({"elements": []}), error(500))
    async with make_client(script) as linkedin:
        with pytest.raises(ServerError):
            await linkedin.subscribe("https://h/p", OWNER, "SPONSORED")
    assert [r.method for r in script.requests] == ["GET", "POST"]

    script = Script(ok({"elements": []}), httpx.ReadTimeout("lost"))
    async with make_client(script) as linkedin:
        with pytest.raises(Unavailable):
            await linkedin.subscribe("https://h/p", OWNER, "SPONSORED")
    assert [r.method for r in script.requests] == ["GET", "POST"]


async def test_post_is_retried_on_429_and_on_a_connection_never_opened() -> None:
    created = ok(status=201, headers={"x-restli-id": "3"})
    script = Script(ok({"elements": []}), error(429), httpx.ConnectError("refused"), created)
    async with make_client(script, clock=FakeClock()) as linkedin:
        result = await linkedin.subscribe("https://h/p", OWNER, "SPONSORED")
    assert result.id == "3"
    assert [r.method for r in script.requests] == ["GET", "POST", "POST", "POST"]


async def test_one_log_line_per_retry_with_status_and_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="linkedin")
    script = Script(error(429), error(503), ok({"id": 1}))
    await get_form(script, FakeClock())
    lines = [r.getMessage() for r in caplog.records if r.name == "linkedin"]
    assert len(lines) == 2
    assert "429 on attempt 1/4" in lines[0]
    assert "503 on attempt 2/4" in lines[1]
    assert all("GET /rest/leadForms/1" in line for line in lines)


async def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    script = Script(*[ok({"id": 1})] * 4)
    async with make_client(script, clock=clock, requests_per_second=5) as linkedin:
        for _ in range(4):
            await linkedin.get_form(1)
    assert clock.sleeps == pytest.approx([0.2, 0.2, 0.2])


async def test_rate_limiter_does_not_wait_when_calls_are_already_spaced() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock)
    await limiter.wait()
    clock.mono += 5
    await limiter.wait()
    assert clock.sleeps == []
    await limiter.wait()
    assert clock.sleeps == [pytest.approx(0.5)]
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0, clock)


def test_retry_policy_validation_and_determinism() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay_s=-1)
    a = RetryPolicy(rng=random.Random(1))
    b = RetryPolicy(rng=random.Random(1))
    assert [a.delay_s(n) for n in range(1, 5)] == [b.delay_s(n) for n in range(1, 5)]
    assert a.delay_s(3, retry_after_s=0.0) == 0.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("nan", None),
        ("soon", None),
        ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),
        ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, T0) == expected


def test_bad_request_is_permanent() -> None:
    assert not BadRequest("x").retriable


async def test_every_call_has_a_timeout() -> None:
    script = Script(ok({"id": 1}))
    async with make_client(script) as linkedin:
        await linkedin.get_form(1)
    timeout = script.requests[0].extensions["timeout"]
    assert timeout == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}
