"""How fast one worker imports leads (leads/s to committed rows), against two baselines.

A program, not a test. Each round, on loopback and with its own throwaway database and
topic prefix:

1. pre-loads the generated leads onto ``<prefix>.leads.raw`` (several forms with Import
   switched on, distinct people plus some people on two forms);
2. starts ONE ``leadsync worker`` subprocess and measures leads/s from its start to the last
   ``imported_leads`` row committed (the time to the first row is shown on its own, so
   start-up is visible), sampling the worker's RSS from /proc;
3. baseline "faust": a trivial faust agent in a subprocess (own consumer group, same topic,
   ``take_events`` batches of the same size) that only counts: leads/s from its start to the
   last lead counted, the ceiling faust itself sets;
4. baseline "psycopg": a bare batched upsert of the same contact rows (no Kafka, no mapping;
   ``executemany`` INSERT ... ON CONFLICT, one commit per batch of the same size): rows/s.

Figures are medians over the rounds; the machines are noisy, so compare ratios. Goal: at
least 3,000 leads/s and at least half of the slower baseline, with flat worker memory.

    .venv/bin/python bench/pipeline.py [--leads 100000] [--rounds 3] [--profile out.prof]

Kafka and PostgreSQL are the local stack (127.0.0.1:29092, 127.0.0.1:25432) unless
LEADSYNC_KAFKA_BOOTSTRAP_SERVERS / LEADSYNC_DATABASE_URL say otherwise. Other LEADSYNC_*
variables (e.g. LEADSYNC_IMPORT_BATCH_SIZE) reach the worker. Everything it creates is
removed at the end, also on Ctrl-C; it stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench._generated_leads import Workload, generate
from bench._rounds import Stack, interrupt_on_sigterm, rounds
from harness.children import child, cpu_seconds, rss_mib, tail
from harness.operator import migrate, switch_import
from harness.processes import Worker
from harness.scratch import run_database
from leadsync.kafka.producing import publish_all
from leadsync.kafka.topics import ensure_topics, wait_for_kafka
from leadsync.settings import Settings
from streams.app import CONSUMER_MAX_FETCH_BYTES, data_dir

GOAL_LEADS_PER_S = 3000.0
GOAL_RATIO = 0.5
POLL_S = 0.2
STALL_S = 90.0  # no new row for this long: the run failed


# --- the measurements ---------------------------------------------------------------------


@dataclass
class PipelineRun:
    first_row_s: float
    total_s: float
    leads: int
    rss: list[tuple[int, float]]  # (rows committed, RSS MiB)
    cpu_s: float  # the worker's CPU time from its first row to its last
    contacts: int
    submissions: int
    errors: int

    @property
    def leads_per_s(self) -> float:
        return self.leads / self.total_s

    @property
    def busy(self) -> float:
        """Share of the steady phase the worker spent on the CPU (1.0: one core, saturated)."""
        return self.cpu_s / max(self.total_s - self.first_row_s, 1e-9)

    @property
    def steady_per_s(self) -> float:
        return self.leads / max(self.total_s - self.first_row_s, 1e-9)

    def rss_at(self, share: float) -> float:
        """RSS at the first sample with at least ``share`` of the rows committed."""
        for rows, rss in self.rss:
            if rows >= max(1.0, share * self.leads):
                return rss
        return self.rss[-1][1]


def run_pipeline(settings: Settings, leads: int, log: Path, profile: Path | None) -> PipelineRun:
    rss: list[tuple[int, float]] = []
    first: float | None = None
    first_cpu = 0.0
    with (
        psycopg.connect(settings.database_conninfo(), autocommit=True) as conn,
        Worker(settings, log_path=log, profile=profile) as worker,
    ):
        started = time.monotonic()
        rows, last_change = 0, started
        while rows < leads:
            time.sleep(POLL_S)
            worker.check_running()
            row = conn.execute("SELECT count(*) FROM imported_leads").fetchone()
            now = time.monotonic()
            count = int(row[0]) if row else 0
            if count and first is None:
                first, first_cpu = now, cpu_seconds(worker.pid)
            if count != rows:
                rows, last_change = count, now
            elif now - last_change > STALL_S:
                raise RuntimeError(f"no progress at {rows} rows:\n{worker.log_tail()}")
            mib = rss_mib(worker.pid)
            if mib is not None:
                rss.append((rows, mib))
        done = time.monotonic()
        cpu = cpu_seconds(worker.pid) - first_cpu
        # Stopped before the sanity counts, so they do not compete with the relay.
        worker.stop()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM form_submissions),"
            " (SELECT count(*) FROM error_log)"
        ).fetchone()
    assert counts is not None
    assert first is not None
    return PipelineRun(first - started, done - started, leads, rss, cpu, *counts)


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
INSERT INTO contacts AS c (email, first_name, last_name, company, job_title,
                           linkedin_submitted_at, linkedin_imported, sources)
VALUES (%s, %s, %s, %s, %s, to_timestamp(%s / 1000.0), true, ARRAY['linkedin'])
ON CONFLICT (email) DO UPDATE SET
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


@dataclass
class Results:
    pipeline: list[PipelineRun] = field(default_factory=list)
    faust: list[FaustRun] = field(default_factory=list)
    psycopg: list[float] = field(default_factory=list)


def one_round(
    stack: Stack, round_no: int, work: Workload, results: Results, args: argparse.Namespace
) -> None:
    leads = len(work.records)
    with run_database(stack.admin_url) as database_url:
        settings = stack.settings(round_no, database_url)
        stack.groups.append(settings.worker_app_id)
        migrate(settings)
        ensure_topics(settings)
        switch_import(settings, work.forms)
        loaded = time.monotonic()
        publish_all(settings, settings.topics.leads_raw, work.records, timeout_s=300)
        print(f"round {round_no}: {leads:,} leads on {settings.topics.leads_raw}"
              f" in {time.monotonic() - loaded:.1f} s", flush=True)  # fmt: skip
        log = Path(tempfile.gettempdir()) / f"bench-worker-{stack.token}-{round_no}.log"
        profile = args.profile if args.profile and round_no == 1 else None
        run = run_pipeline(settings, leads, log, profile)
        results.pipeline.append(run)
        print(f"  pipeline: {run.leads_per_s:,.0f} leads/s (first row after"
              f" {run.first_row_s:.1f} s, {run.total_s:.1f} s in all; CPU-bound"
              f" {run.busy:.0%}); RSS"
              f" {run.rss_at(0):.0f}/{run.rss_at(0.5):.0f}/{run.rss_at(1):.0f} MiB;"
              f" {run.contacts:,} contacts, {run.submissions:,} submissions,"
              f" {run.errors} errors; log {log}", flush=True)  # fmt: skip
        if run.contacts != work.people or run.errors:
            print(f"  WARNING: expected {work.people:,} contacts and no errors", flush=True)
        faust_run = run_faust_baseline(stack, settings, leads, log.with_suffix(".count.log"))
        results.faust.append(faust_run)
        print(f"  faust count agent: {faust_run.leads_per_s:,.0f} leads/s"
              f" (first batch after {faust_run.first_s:.1f} s)", flush=True)  # fmt: skip
        rate = run_psycopg_baseline(database_url, work.contact_rows, settings.import_batch_size)
        results.psycopg.append(rate)
        print(f"  psycopg upsert: {rate:,.0f} rows/s", flush=True)


def report(results: Results, batch: int, window: float) -> bool:
    med = statistics.median
    pipeline = med(r.leads_per_s for r in results.pipeline)
    steady = med(r.steady_per_s for r in results.pipeline)
    first = med(r.first_row_s for r in results.pipeline)
    faust_rate = med(r.leads_per_s for r in results.faust)
    faust_steady = med(r.steady_per_s for r in results.faust)
    psycopg_rate = med(results.psycopg)
    slower_name, slower = min(("faust", faust_rate), ("psycopg", psycopg_rate), key=lambda x: x[1])
    ratio = pipeline / slower
    rss = [(r.rss_at(0), r.rss_at(0.5), r.rss_at(1), max(m for _, m in r.rss))
           for r in results.pipeline]  # fmt: skip
    n = len(results.pipeline)
    print()
    print(f"medians of {n} round(s); batch {batch}, window {window} s; one worker")
    print(f"{'':34}{'per s':>10}{'steady/s':>10}{'1st (s)':>9}")
    faust_first = med(r.first_s for r in results.faust)
    print(f"{'pipeline (leads -> committed rows)':34}{pipeline:>10,.0f}{steady:>10,.0f}"
          f"{first:>9.1f}")  # fmt: skip
    print(f"{'baseline faust count agent':34}{faust_rate:>10,.0f}{faust_steady:>10,.0f}"
          f"{faust_first:>9.1f}")  # fmt: skip
    print(f"{'baseline psycopg upsert (rows)':34}{psycopg_rate:>10,.0f}")
    print(f"ratio pipeline / slower baseline ({slower_name}): {ratio:.2f}")
    busy = med(r.busy for r in results.pipeline)
    per_lead = med(r.cpu_s / r.leads * 1e6 for r in results.pipeline)
    print(f"worker on the CPU {busy:.0%} of the steady phase (the rest: waiting on I/O or"
          f" on a busy machine); {per_lead:,.0f} us of worker CPU per lead")  # fmt: skip
    for i, (start, mid, end, peak) in enumerate(rss, 1):
        print(f"worker RSS round {i}: first row {start:.0f} MiB, half {mid:.0f} MiB,"
              f" end {end:.0f} MiB, peak {peak:.0f} MiB")  # fmt: skip
    ok = pipeline >= GOAL_LEADS_PER_S and ratio >= GOAL_RATIO
    print(f"goal (>= {GOAL_LEADS_PER_S:,.0f} leads/s and >= {GOAL_RATIO} of the slower"
          f" baseline): {'MET' if ok else 'MISSED'}")  # fmt: skip
    print("('per s' counts from process start, start-up included; 'steady' from the first row)")
    return ok


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == COUNT_AGENT:
        count_agent(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--forms", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-minutes", type=float, default=15, help="no new round after")
    parser.add_argument("--profile", type=Path, help="cProfile output of round 1's worker")
    args = parser.parse_args()
    interrupt_on_sigterm()

    stack = Stack("leadsync-bench")
    started = time.monotonic()
    work = generate(args.leads, args.forms)
    size = sum(len(v) for _, v in work.records) / len(work.records)
    took = time.monotonic() - started
    print(f"{len(work.records):,} leads ({size:,.0f} bytes each), {work.people:,} people,"
          f" {args.forms} forms; generated in {took:.1f} s", flush=True)  # fmt: skip
    results = Results()
    try:
        wait_for_kafka(stack.base, 30)
        for round_no in rounds(args.rounds, args.max_minutes, started):
            one_round(stack, round_no, work, results, args)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stack.clean()
    base = stack.base
    return 0 if report(results, base.import_batch_size, base.import_batch_window_s) else 1


if __name__ == "__main__":
    sys.exit(main())
