"""The whole stack: real Kafka and PostgreSQL, the LinkedIn sandbox, leadsync's processes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from harness.operator import migrate
from harness.processes import Scheduler, Worker
from harness.sandboxes import Sandbox, serving
from harness.scratch import run_database
from leadsync.kafka.topics import ensure_topics
from leadsync.settings import Settings
from tests.integration.conftest import db, settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    with serving(settings) as running:
        yield running


@pytest.fixture(scope="module")
def stack_settings(settings: Settings, sandbox: Sandbox) -> Iterator[Settings]:
    """This module's settings: its own database and topics (e2e modules share sandbox lead
    ids and form ids, so they must not share data), pointed at this module's sandbox."""
    prefix = f"{settings.topic_prefix}-{uuid.uuid4().hex[:6]}"
    with run_database(settings.database_conninfo()) as database_url:
        module_settings = settings.model_copy(
            update={
                "database_url": SecretStr(database_url),
                "topic_prefix": prefix,
                "linkedin_api_url": f"{sandbox.url}/rest",
                "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
                "scheduler_tick_s": 0.5,
            }
        )
        migrate(module_settings)
        ensure_topics(module_settings)
        yield module_settings


def query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` in the module's database (none for a statement without a result)."""
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def imported_and_logged(settings: Settings, *form_ids: int) -> tuple[set[str], set[str]]:
    """The lead ids of these forms in the ledger, and those in the error log."""
    forms = sorted(form_ids)
    imported = query(settings, "SELECT lead_id FROM imported_leads WHERE form_id = ANY(%s)", forms)
    logged = query(settings, "SELECT lead_id FROM error_log WHERE form_id = ANY(%s)", forms)
    return {row[0] for row in imported}, {row[0] for row in logged}


def wait_for_runs(
    settings: Settings,
    form_ids: set[int],
    count: int,
    timeout_s: float = 120,
    scheduler: Scheduler | None = None,
) -> list[tuple[object, ...]]:
    """Wait until the forms have ``count`` ended runs each; returns (form, status, error)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT form_id, status, error FROM sync_runs WHERE form_id = ANY(%s)"
                " AND status IN ('succeeded', 'failed') ORDER BY finished_at",
                (sorted(form_ids),),
            ).fetchall()
            per_form = {f: sum(1 for r in rows if r[0] == f) for f in form_ids}
            if all(n >= count for n in per_form.values()):
                return rows
            if time.monotonic() > deadline:
                tail = scheduler.log_tail() if scheduler else ""
                raise AssertionError(f"sync runs did not end: {rows}\n{tail}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def worker(stack_settings: Settings) -> Iterator[Worker]:
    with Worker(stack_settings) as running:
        yield running


__all__ = ["db", "settings"]
