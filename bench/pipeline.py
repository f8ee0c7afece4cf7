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

Step 2 runs once per account count (``--accounts``, default 1 and 200): the same leads
spread over that many accounts, in a database of its own. Row-level security and the
per-account keys must cost nothing that matters: the 200-account rate within 10% of the
one-account rate, in the same round.

With ``--workers N`` (N > 1), each round also runs N worker processes in one consumer group
on the last account count's workload (a database and topics of their own), and reports
their leads/s and its ratio to the one worker of the same round. On a machine whose cores
Kafka and PostgreSQL share with the workers, the ratio says what a second worker buys there,
not what it buys on a worker machine of its own.

Figures are medians over the rounds; the machines are noisy, so compare ratios. Goal: at
least 3,000 leads/s and at least half of the slower baseline, with flat worker memory.

    .venv/bin/python bench/pipeline.py [--leads 100000] [--rounds 3] [--accounts 1,200]
                                       [--workers 1] [--profile out.prof]

Kafka and PostgreSQL are the local stack (127.0.0.1:29092, 127.0.0.1:25432) unless
LEADSYNC_KAFKA_BOOTSTRAP_SERVERS / LEADSYNC_DATABASE_URL say otherwise. Other LEADSYNC_*
variables (e.g. LEADSYNC_IMPORT_BATCH_SIZE) reach the worker. Everything it creates is
removed at the end, also on Ctrl-C; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench._baselines import FaustRun, run_faust_baseline, run_psycopg_baseline
from bench._generated_leads import Workload, generate
from bench._rounds import Stack, interrupt_on_sigterm, rounds
from harness.children import cpu_seconds, rss_mib
from harness.operator import migrate
from harness.processes import Worker
from harness.scratch import run_database
from leadsync.api_tokens import new_token, token_hash
from leadsync.kafka.producing import publish_all
from leadsync.kafka.topics import ensure_topics, wait_for_kafka
from leadsync.settings import Settings
from leadsync.stages import CPU_STAGES, STAGES
from sinks.accounts import create_account
from sinks.database import Database
from sinks.forms import set_import

GOAL_LEADS_PER_S = 3000.0
GOAL_RATIO = 0.5
GOAL_ACCOUNTS_RATIO = 0.9  # many accounts vs one: at least this share of the leads/s
POLL_S = 0.2
STALL_S = 90.0  # no new row for this long: the run failed


# --- the measurements ---------------------------------------------------------------------


@dataclass
class PipelineRun:
    first_row_s: float
    total_s: float
    leads: int
    rss: list[tuple[int, float]]  # (rows committed, RSS MiB of the workers together)
    cpu_s: float  # the workers' CPU time from the first row to the last
    contacts: int
    submissions: int
    errors: int
    log: Path
    workers: int = 1
    # leadsync_import_stage_seconds_total of the workers together, by stage (leadsync.stages)
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def leads_per_s(self) -> float:
        return self.leads / self.total_s

    @property
    def busy(self) -> float:
        """Cores the workers kept busy in the steady phase (1.0: one core, saturated)."""
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


def run_pipeline(
    settings: Settings, leads: int, log: Path, profile: Path | None, workers: int = 1
) -> PipelineRun:
    """``workers`` worker processes (one consumer group) importing the topic's leads; the
    first one's log is ``log``, the others' beside it."""
    rss: list[tuple[int, float]] = []
    first: float | None = None
    first_cpu = 0.0
    logs = [log] + [log.with_suffix(f".{n}.log") for n in range(2, workers + 1)]
    with (
        psycopg.connect(settings.database_conninfo(), autocommit=True) as conn,
        contextlib.ExitStack() as running,
    ):
        started = time.monotonic()
        # Started one after the other: the group's rebalances are part of the start-up.
        group = [
            running.enter_context(Worker(settings, log_path=path, profile=None if n else profile))
            for n, path in enumerate(logs)
        ]
        rows, last_change = 0, started
        while rows < leads:
            time.sleep(POLL_S)
            for worker in group:
                worker.check_running()
            row = conn.execute("SELECT count(*) FROM imported_leads").fetchone()
            now = time.monotonic()
            count = int(row[0]) if row else 0
            if count and first is None:
                first, first_cpu = now, sum(cpu_seconds(w.pid) for w in group)
            if count != rows:
                rows, last_change = count, now
            elif now - last_change > STALL_S:
                tails = "\n".join(w.log_tail() for w in group)
                raise RuntimeError(f"no progress at {rows} rows:\n{tails}")
            sizes = [rss_mib(w.pid) for w in group]
            if all(mib is not None for mib in sizes):
                rss.append((rows, sum(mib for mib in sizes if mib is not None)))
        done = time.monotonic()
        cpu = sum(cpu_seconds(w.pid) for w in group) - first_cpu
        stages: dict[str, float] = {}
        for worker in group:
            for stage, seconds in _stage_seconds(worker).items():
                stages[stage] = stages.get(stage, 0.0) + seconds
        # Stopped before the sanity counts, so they do not compete with the relay.
        for worker in group:
            worker.stop()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM form_submissions),"
            " (SELECT count(*) FROM error_log)"
        ).fetchone()
    assert counts is not None
    assert first is not None
    contacts, submissions, errors = counts
    return PipelineRun(
        first - started, done - started, leads, rss, cpu, contacts, submissions, errors, log,
        workers, stages,
    )  # fmt: skip


def _stage_seconds(worker: Worker) -> dict[str, float]:
    """The worker's ``leadsync_import_stage_seconds_total`` by stage, from its /metrics."""
    text = httpx.get(f"{worker.ops_url}/metrics", timeout=10).text
    return {
        sample.labels["stage"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "leadsync_import_stage_seconds"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


async def _accounts_with_forms(settings: Settings, work: Workload) -> None:
    """Accounts 1..N (a fresh database numbers them so), each with the forms' Import on."""
    async with Database.from_settings(settings) as db:
        for n in range(1, work.accounts + 1):
            async with db.connection() as conn:
                account = await create_account(conn, f"bench-{n}", token_hash(new_token()))
            assert account.id == n, "the round's database is not fresh"
            async with db.account(account.id) as conn:
                for form_id in work.forms:
                    await set_import(conn, form_id, True)


@dataclass
class Results:
    by_accounts: dict[int, list[PipelineRun]] = field(default_factory=dict)
    pipeline: list[PipelineRun] = field(default_factory=list)
    faust: list[FaustRun] = field(default_factory=list)
    psycopg: list[float] = field(default_factory=list)
    # --workers N: the N workers' run of each round, beside the one worker's (``pipeline``)
    scaled: list[PipelineRun] = field(default_factory=list)


def one_round(
    stack: Stack, round_no: int, works: list[Workload], results: Results, args: argparse.Namespace
) -> None:
    for work in works[:-1]:
        with run_database(stack.admin_url) as database_url:
            settings = stack.settings(f"{round_no}-{work.accounts}a", database_url)
            stack.groups.append(settings.worker_app_id)
            run = pipeline_round(settings, round_no, work, args)
            results.by_accounts.setdefault(work.accounts, []).append(run)
    # The last account count's database then serves the baselines.
    work = works[-1]
    leads = len(work.records)
    with run_database(stack.admin_url) as database_url:
        settings = stack.settings(f"{round_no}-{work.accounts}a", database_url)
        stack.groups.append(settings.worker_app_id)
        run = pipeline_round(settings, round_no, work, args)
        results.by_accounts.setdefault(work.accounts, []).append(run)
        results.pipeline.append(run)
        if args.workers > 1:
            with run_database(stack.admin_url) as scaled_url:
                scaled_settings = stack.settings(
                    f"{round_no}-{work.accounts}a-{args.workers}w", scaled_url
                )
                stack.groups.append(scaled_settings.worker_app_id)
                scaled = pipeline_round(scaled_settings, round_no, work, args, args.workers)
            results.scaled.append(scaled)
            print(f"  {args.workers} workers / one worker (this round): "
                  f"{scaled.leads_per_s / run.leads_per_s:.2f},"
                  f" steady {scaled.steady_per_s / run.steady_per_s:.2f}", flush=True)  # fmt: skip
        faust_run = run_faust_baseline(stack, settings, leads, run.log.with_suffix(".count.log"))
        results.faust.append(faust_run)
        print(f"  faust count agent: {faust_run.leads_per_s:,.0f} leads/s"
              f" (first batch after {faust_run.first_s:.1f} s)", flush=True)  # fmt: skip
        rate = run_psycopg_baseline(database_url, work.contact_rows, settings.import_batch_size)
        results.psycopg.append(rate)
        print(f"  psycopg upsert: {rate:,.0f} rows/s", flush=True)


def pipeline_round(
    settings: Settings, round_no: int, work: Workload, args: argparse.Namespace, workers: int = 1
) -> PipelineRun:
    """``workers`` workers (one unless told) importing the workload into a fresh database
    (its accounts made first)."""
    leads = len(work.records)
    migrate(settings)
    ensure_topics(settings)
    asyncio.run(_accounts_with_forms(settings, work))
    loaded = time.monotonic()
    publish_all(settings, settings.topics.leads_raw, work.records, timeout_s=300)
    print(f"round {round_no}: {leads:,} leads of {work.accounts} account(s) on"
          f" {settings.topics.leads_raw} in {time.monotonic() - loaded:.1f} s",
          flush=True)  # fmt: skip
    log = Path(tempfile.gettempdir()) / f"bench-worker-{settings.topic_prefix}.log"
    profile = args.profile if args.profile and round_no == 1 and workers == 1 else None
    run = run_pipeline(settings, leads, log, profile, workers)
    label = "pipeline" if workers == 1 else f"pipeline, {workers} workers"
    print(f"  {label}: {run.leads_per_s:,.0f} leads/s (first row after"
          f" {run.first_row_s:.1f} s, {run.total_s:.1f} s in all; workers on the CPU"
          f" {run.busy:.0%} of a core); RSS"
          f" {run.rss_at(0):.0f}/{run.rss_at(0.5):.0f}/{run.rss_at(1):.0f} MiB;"
          f" {run.contacts:,} contacts, {run.submissions:,} submissions,"
          f" {run.errors} errors; log {log}", flush=True)  # fmt: skip
    if run.contacts != work.people or run.errors:
        print(f"  WARNING: expected {work.people:,} contacts and no errors", flush=True)
    return run


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
    split = {
        stage: med(r.stages.get(stage, 0.0) / r.leads * 1e6 for r in results.pipeline)
        for stage in STAGES
    }
    other = per_lead - sum(split[stage] for stage in CPU_STAGES)
    print("worker CPU per lead by stage (us): "
          + ", ".join(f"{stage} {split[stage]:,.0f}" for stage in CPU_STAGES)
          + f", other (Kafka, faust, relay, start-up) {other:,.0f}; and {split['waiting']:,.0f}"
          " us per lead of the import transaction waiting (PostgreSQL)")  # fmt: skip
    for i, (start, mid, end, peak) in enumerate(rss, 1):
        print(f"worker RSS round {i}: first row {start:.0f} MiB, half {mid:.0f} MiB,"
              f" end {end:.0f} MiB, peak {peak:.0f} MiB")  # fmt: skip
    ok = pipeline >= GOAL_LEADS_PER_S and ratio >= GOAL_RATIO
    print(f"goal (>= {GOAL_LEADS_PER_S:,.0f} leads/s and >= {GOAL_RATIO} of the slower"
          f" baseline): {'MET' if ok else 'MISSED'}")  # fmt: skip
    if len(results.by_accounts) > 1:
        rates = {n: med(r.leads_per_s for r in runs) for n, runs in results.by_accounts.items()}
        steady_rates = {
            n: med(r.steady_per_s for r in runs) for n, runs in results.by_accounts.items()
        }
        fewest, most = min(rates), max(rates)
        for n in sorted(rates):
            print(f"{n:>5} account(s): {rates[n]:>8,.0f} leads/s, steady {steady_rates[n]:>8,.0f}")
        share = med(
            b.steady_per_s / a.steady_per_s
            for a, b in zip(results.by_accounts[fewest], results.by_accounts[most], strict=True)
        )
        accounts_ok = share >= GOAL_ACCOUNTS_RATIO
        print(f"{most} accounts / {fewest} (steady leads/s, median of the rounds' ratios):"
              f" {share:.2f}; goal >= {GOAL_ACCOUNTS_RATIO}:"
              f" {'MET' if accounts_ok else 'MISSED'}")  # fmt: skip
        ok = ok and accounts_ok
    if results.scaled:
        n = results.scaled[0].workers
        scaled = med(r.leads_per_s for r in results.scaled)
        scaled_steady = med(r.steady_per_s for r in results.scaled)
        pairs = list(zip(results.scaled, results.pipeline, strict=True))  # one of each a round
        ratios = [s.leads_per_s / o.leads_per_s for s, o in pairs]
        steady_ratios = [s.steady_per_s / o.steady_per_s for s, o in pairs]
        print(f"{n} workers: {scaled:,.0f} leads/s, steady {scaled_steady:,.0f}; ratio to one"
              f" worker (median of the rounds' ratios) {med(ratios):.2f}, steady"
              f" {med(steady_ratios):.2f}; the {n} workers kept"
              f" {med(r.busy for r in results.scaled):.2f} cores busy, one worker"
              f" {busy:.2f}")  # fmt: skip
    print("('per s' counts from process start, start-up included; 'steady' from the first row)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--forms", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-minutes", type=float, default=15, help="no new round after")
    parser.add_argument("--profile", type=Path, help="cProfile output of round 1's worker")
    parser.add_argument(
        "--accounts", default="1,200", help="account counts to spread the leads over"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="also run this many workers in one group"
    )
    args = parser.parse_args()
    interrupt_on_sigterm()

    stack = Stack("leadsync-bench")
    started = time.monotonic()
    counts = sorted({int(n) for n in args.accounts.split(",")})
    works = [generate(args.leads, args.forms, accounts=n) for n in counts]
    size = sum(len(v) for _, v in works[0].records) / len(works[0].records)
    took = time.monotonic() - started
    print(f"{args.leads:,} leads ({size:,.0f} bytes each), {works[0].people:,} people,"
          f" {args.forms} forms, spread over {' and then '.join(map(str, counts))} account(s);"
          f" generated in {took:.1f} s",
          flush=True)  # fmt: skip
    results = Results()
    try:
        wait_for_kafka(stack.base, 30)
        for round_no in rounds(args.rounds, args.max_minutes, started):
            one_round(stack, round_no, works, results, args)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stack.clean()
    base = stack.base
    return 0 if report(results, base.import_batch_size, base.import_batch_window_s) else 1


if __name__ == "__main__":
    sys.exit(main())
