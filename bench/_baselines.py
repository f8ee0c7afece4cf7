"""bench/pipeline.py's two baselines: a faust agent that only counts the raw topic's
records (the ceiling faust itself sets; run as a child process, this file's ``main``), and a
bare batched psycopg upsert of the same contact rows."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench._rounds import Stack
from harness.children import child, tail
from leadsync.settings import Settings
from streams.app import CONSUMER_MAX_FETCH_BYTES, data_dir

POLL_S = 0.2
STALL_S = 90.0


COUNT_AGENT = "_count-agent"


def count_agent(argv: list[str]) -> None:
    """The faust baseline (child process): count the raw topic's records, report, idle."""
    import faust

    topic_name, app_id, expect, batch, window, kafka, report_path = argv
    app = faust.App(
        app_id,
        broker=[f"kafka://{s}" for s in kafka.split(",")],
        store="memory://",
        processing_guarantee="at_least_once",
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        # Fetched as the worker fetches: the baseline measures faust, not a smaller buffer.
        consumer_max_fetch_size=CONSUMER_MAX_FETCH_BYTES,
        datadir=str(data_dir(app_id)),
        web_enabled=False,
        autodiscover=False,
    )
    topic = app.topic(topic_name, value_type=bytes, value_serializer="raw")
    started = time.time()

    @app.agent(topic, concurrency=1)
    async def count(stream: Any) -> None:
        seen, first = 0, 0.0
        async for events in stream.take_events(int(batch), within=float(window)):
            if not seen:
                first = time.time()
            seen += len(events)
            if seen >= int(expect):
                report = {"started": started, "first": first, "done": time.time()}
                _write_report(report_path, report)

    del count
    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def _write_report(path: str, report: dict[str, float]) -> None:
    Path(f"{path}.tmp").write_text(json.dumps(report))
    os.replace(f"{path}.tmp", path)  # the parent never reads half a report


@dataclass
class FaustRun:
    first_s: float
    total_s: float
    leads: int

    @property
    def leads_per_s(self) -> float:
        return self.leads / self.total_s

    @property
    def steady_per_s(self) -> float:
        return self.leads / max(self.total_s - self.first_s, 1e-9)


def run_faust_baseline(stack: Stack, settings: Settings, leads: int, log: Path) -> FaustRun:
    group = f"bench-count-{uuid.uuid4().hex[:8]}"
    stack.groups.append(group)
    report_file = Path(tempfile.mkstemp(prefix="bench-count-", suffix=".json")[1])
    argv = [
        sys.executable, __file__, COUNT_AGENT, settings.topics.leads_raw, group, str(leads),
        str(settings.import_batch_size), str(settings.import_batch_window_s), stack.kafka,
        str(report_file),
    ]  # fmt: skip
    try:
        with child(argv, dict(os.environ), log) as agent:
            deadline = time.monotonic() + STALL_S + leads / 500
            while not report_file.read_text():
                if agent.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"count agent failed:\n{tail(log)}")
                time.sleep(POLL_S)
        report = json.loads(report_file.read_text())
    finally:
        report_file.unlink()
    started = report["started"]
    return FaustRun(report["first"] - started, report["done"] - started, leads)


BASELINE_UPSERT = """
INSERT INTO contacts AS c (account_id, email, first_name, last_name, company, job_title,
                           linkedin_submitted_at, linkedin_imported, sources)
VALUES (%s, %s, %s, %s, %s, %s, to_timestamp(%s / 1000.0), true, ARRAY['linkedin'])
ON CONFLICT (account_id, email) DO UPDATE SET
  first_name = excluded.first_name, last_name = excluded.last_name,
  company = excluded.company, job_title = excluded.job_title,
  linkedin_submitted_at = excluded.linkedin_submitted_at, updated_at = now()
WHERE c.linkedin_submitted_at IS NULL OR excluded.linkedin_submitted_at >= c.linkedin_submitted_at
"""


def run_psycopg_baseline(database_url: str, rows: list[tuple[Any, ...]], batch: int) -> float:
    """rows/s of a bare batched upsert into an empty ``contacts`` table."""
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE contacts CASCADE")
        conn.commit()
        started = time.monotonic()
        for i in range(0, len(rows), batch):
            with conn.cursor() as cur:
                cur.executemany(BASELINE_UPSERT, rows[i : i + batch])
            conn.commit()
        return len(rows) / (time.monotonic() - started)


# --- the program --------------------------------------------------------------------------


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == COUNT_AGENT:
    count_agent(sys.argv[2:])
