"""Two ``leadsync scheduler`` processes keep one leader: a form due gets one sync run per due
period, not one per scheduler; the leader SIGKILLed, the other takes over within seconds and
the next period's run happens once.

Leadership is a PostgreSQL session advisory lock held on the leader's own connection
(sinks.sync_runs.try_lead_scheduling): PostgreSQL frees it when that connection ends, which a
killed process's does at once; the follower tries for it every tick.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from harness.operator import migrate
from harness.processes import Scheduler, leadsync
from harness.sandboxes import serving
from harness.scratch import run_database
from leadsync.kafka.topics import ensure_topics
from leadsync.settings import Settings

pytestmark = pytest.mark.integration

FORM = 7571309  # a form of ad account 1234567 in the sandbox of seed 7
LEADER = "this scheduler is the leader"
TICK_S = 0.5
QUIET_TICKS = 8  # after a run, this many ticks with no second one: one run per period
TAKEOVER_BOUND_S = 15.0  # the kill noticed by PostgreSQL, plus a tick or two


@pytest.fixture
def stack(settings: Settings) -> Iterator[Settings]:
    """Its own database and topics, a sandbox, LinkedIn connected and the form's Import on."""
    with serving(settings) as sandbox, run_database(settings.database_conninfo()) as url:
        own = settings.model_copy(
            update={
                "database_url": SecretStr(url),
                "topic_prefix": f"{settings.topic_prefix}-{uuid.uuid4().hex[:6]}",
                "linkedin_api_url": f"{sandbox.url}/rest",
                "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
                "scheduler_tick_s": TICK_S,
            }
        )
        migrate(own)
        ensure_topics(own)
        leadsync(own, "linkedin", "connect")
        leadsync(own, "forms", "import", str(FORM), "on")
        yield own


def query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def runs(settings: Settings) -> list[tuple[str, str]]:
    """The form's sync runs as (trigger, status), oldest first."""
    return [
        (str(trigger), str(status))
        for trigger, status in query(
            settings,
            "SELECT trigger, status FROM sync_runs WHERE form_id = %s ORDER BY requested_at",
            FORM,
        )
    ]


def make_due(settings: Settings) -> None:
    """A day has passed since the last run (the interval is 24 hours)."""
    query(
        settings,
        "UPDATE forms SET last_synced_at = now() - interval '25 hours' WHERE id = %s",
        FORM,
    )


def wait_for_ended_runs(settings: Settings, count: int, *schedulers: Scheduler) -> None:
    deadline = time.monotonic() + 90
    while sum(status in ("succeeded", "failed") for _, status in runs(settings)) < count:
        for scheduler in schedulers:
            if scheduler.running():
                scheduler.check_running()
        if time.monotonic() > deadline:
            tails = "\n".join(s.log_tail(15) for s in schedulers)
            raise AssertionError(f"{count} runs expected: {runs(settings)}\n{tails}")
        time.sleep(0.1)


def leads(scheduler: Scheduler) -> bool:
    return LEADER in scheduler.log_path.read_text(errors="replace")


def wait_until_leading(scheduler: Scheduler, timeout_s: float) -> float:
    """Seconds until the scheduler says it leads."""
    start = time.monotonic()
    while not leads(scheduler):
        scheduler.check_running()
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"no leader after {timeout_s:.0f} s:\n{scheduler.log_tail()}")
        time.sleep(0.05)
    return time.monotonic() - start


def leader_gauge(scheduler: Scheduler) -> float:
    """``leadsync_scheduler_leader`` on the scheduler's /metrics."""
    text = httpx.get(f"{scheduler.ops_url}/metrics", timeout=10).text
    (value,) = [
        float(line.split()[1]) for line in text.splitlines()
        if line.startswith("leadsync_scheduler_leader ")
    ]  # fmt: skip
    return value


def assert_one_run_per_period(settings: Settings, periods: int) -> None:
    """``periods`` runs, each scheduled and succeeded, and no more for a while."""
    time.sleep(QUIET_TICKS * TICK_S)
    assert runs(settings) == [("schedule", "succeeded")] * periods


def test_two_schedulers_keep_one_leader_and_the_other_takes_over_when_it_is_killed(
    stack: Settings,
) -> None:
    with Scheduler(stack) as first:
        wait_until_leading(first, 30)
        with Scheduler(stack) as second:
            _lead_three_periods_then_hand_over(stack, first, second)


def _lead_three_periods_then_hand_over(
    stack: Settings, first: Scheduler, second: Scheduler
) -> None:
    # The form is due (Import just went on): one run, by the leader alone.
    wait_for_ended_runs(stack, 1, first, second)
    assert_one_run_per_period(stack, 1)
    for period in (2, 3):
        make_due(stack)
        wait_for_ended_runs(stack, period, first, second)
        assert_one_run_per_period(stack, period)
    assert not leads(second), second.log_tail()
    # What an operator's dashboard shows: one leader.
    assert [leader_gauge(s) for s in (first, second)] == [1.0, 0.0]

    assert first.process is not None
    os.kill(first.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    first.process.wait(10)
    make_due(stack)
    wait_until_leading(second, TAKEOVER_BOUND_S)
    took_over_s = time.monotonic() - killed_at
    wait_for_ended_runs(stack, 4, second)
    run_after_s = time.monotonic() - killed_at
    assert_one_run_per_period(stack, 4)
    assert leader_gauge(second) == 1.0
    print(
        f"two schedulers: 3 periods, 3 runs; leader SIGKILLed, the other led after"
        f" {took_over_s:.1f} s and the next run ended {run_after_s:.1f} s after the kill"
    )
