"""The pipeline alarm: a flood of unreadable records stops processing instead of filling the
error log, until an operator clears it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from harness.operator import switch_import
from harness.processes import Worker, leadsync
from leadsync.settings import Settings
from tests.integration.produce import envelope, lead_for, publish_raw


@pytest.fixture(scope="module")
def alarm_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"alarm_window_records": 20, "alarm_min_failures": 5, "alarm_failure_ratio": 0.5}
    )


@pytest.fixture(scope="module")
def alarm_worker(alarm_settings: Settings) -> Iterator[Worker]:
    with Worker(alarm_settings) as running:
        yield running


def _one(settings: Settings, query: str, *params: object) -> object:
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _wait(settings: Settings, query: str, *params: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not _one(settings, query, *params):
        assert time.monotonic() < deadline, f"never true: {query}"
        time.sleep(0.3)


def test_a_flood_of_unreadable_records_raises_the_alarm_and_stops_processing(
    alarm_settings: Settings, alarm_worker: Worker
) -> None:
    form_id = 900_000_000 + uuid.uuid4().int % 1_000_000
    switch_import(alarm_settings, [form_id])
    publish_raw(alarm_settings, *[b"{broken" for _ in range(12)], key=b"flood")
    _wait(alarm_settings, "SELECT count(*) FROM pipeline_alarms WHERE cleared_at IS NULL")
    reason = _one(alarm_settings, "SELECT reason FROM pipeline_alarms WHERE cleared_at IS NULL")
    assert "failed unexpectedly" in str(reason)

    # While the alarm stands, even a good lead waits (it is not lost: its offset stays).
    email = f"after-alarm-{uuid.uuid4().hex[:8]}@example.com"
    publish_raw(alarm_settings, envelope(lead_for(f"ok-{email}", email, form_id=form_id)))
    time.sleep(5)
    assert _one(alarm_settings, "SELECT count(*) FROM contacts WHERE email = %s", email) == 0
    assert "PIPELINE ALARM" in alarm_worker.log_tail(200)

    cleared = leadsync(alarm_settings, "alarm", "clear", "--by", "test", timeout_s=60)
    assert "cleared:" in cleared
    assert (
        _one(alarm_settings, "SELECT count(*) FROM pipeline_alarms WHERE cleared_at IS NULL") == 0
    )
    assert (
        _one(alarm_settings, "SELECT cleared_by FROM pipeline_alarms ORDER BY id DESC LIMIT 1")
        == "test"
    )
    _wait(alarm_settings, "SELECT count(*) FROM contacts WHERE email = %s", email)
    alarm_worker.settle()
    assert _one(alarm_settings, "SELECT count(*) FROM contacts WHERE email = %s", email) == 1
