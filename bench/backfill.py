"""How long a manual import of *all submissions* takes, against the sandbox's raw page rate.

A program, not a test. On loopback, with the local Kafka and PostgreSQL:

1. a LinkedIn sandbox in a child process (its own interpreter, so it never shares the GIL
   with this program) preloaded with ``--leads`` leads on one form (7234246, within
   LinkedIn's retention and the form's lifetime);
2. baseline "sandbox raw": this program walks every page of the finder over HTTP, with the
   puller's projection (``LEAD_FIELDS``) and page size (``pull_page_size``), reading the
   bytes without decoding them: the rate at which the sandbox can serve the leads at all.
   The first walk fills the sandbox's per-lead JSON cache ("cold"); the figure compared
   against is the median of the following ("warm") walks, the stricter of the two;
3. each round, with a throwaway database and topic prefix: ``leadsync linkedin connect``
   (OAuth against the sandbox, then discovery), ``leadsync forms import <form> on``, one
   ``leadsync worker`` and one ``leadsync scheduler`` subprocess; once both have joined
   their consumer groups, the clock starts and a manual import with *all submissions* is
   requested exactly as ``leadsync sync <form> --all-submissions`` does (the run is
   created, the request published). The clock stops when every lead of the form is
   accounted for in PostgreSQL: committed to ``imported_leads`` or, if its answers are
   invalid, in ``error_log``. Progress is printed throughout.

Figures are medians over the rounds; the machines are noisy, so compare ratios. Goal: the
backfill under 60 s and at least half the sandbox's raw (warm) rate.

    .venv/bin/python bench/backfill.py [--leads 100000] [--rounds 3] [--profile DIR]

Kafka and PostgreSQL are 127.0.0.1:29092 and 127.0.0.1:25432 unless
LEADSYNC_KAFKA_BOOTSTRAP_SERVERS / LEADSYNC_DATABASE_URL say otherwise; other LEADSYNC_*
variables (e.g. LEADSYNC_PULL_PAGE_SIZE, LEADSYNC_IMPORT_BATCH_SIZE) reach leadsync's
processes. ``--profile DIR`` runs round 1's scheduler and worker under cProfile. Everything
it creates (database, topics, consumer groups, faust data directories, the sandbox) is
removed at the end, also on Ctrl-C; it stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from confluent_kafka import ConsumerGroupState

from bench._rounds import Stack, interrupt_on_sigterm, rounds
from harness.children import tail
from harness.operator import migrate, start_manual_import
from harness.processes import Scheduler, Worker, leadsync
from harness.sandboxes import PRELOADED_FORM_ID, preloaded_sandbox, sandbox_token
from harness.scratch import run_database
from leadsync.kafka.topics import admin_client, ensure_topics, wait_for_kafka
from leadsync.settings import Settings
from linkedin import restli
from linkedin.restli import LEAD_FIELDS, Owner
from schemas.envelopes import SyncOptions

FORM_ID = PRELOADED_FORM_ID  # the reference form: ad account 1234567
ACCOUNT = 1234567
SANDBOX_SEED = 7
GOAL_S = 60.0
GOAL_RATIO = 0.5
POLL_S = 0.5
PRINT_EVERY_S = 2.0
STALL_S = 90.0  # nothing moved for this long: the round failed
READY_S = 120.0  # for the worker and the scheduler to join their groups
SANDBOX_START_S = 600.0  # preloading 100,000 leads takes a while on these machines


# --- baseline: the sandbox's raw page serving ---------------------------------------------


def _finder(start_ms: int, end_ms: int) -> str:
    """The puller's finder query, without ``count`` and ``start``."""
    return restli.query(
        ("q", "owner"),
        ("owner", Owner.sponsored_account(ACCOUNT).to_restli()),
        ("leadType", restli.lead_type_param("SPONSORED")),
        ("limitedToTestLeads", False),
        ("submittedAtTimeRange", restli.time_range(start_ms, end_ms)),
        ("fields", LEAD_FIELDS),
    )


def _walk(client: httpx.Client, finder: str, total: int, page_size: int) -> tuple[float, int]:
    """Seconds to fetch every page of the form's leads, and the bytes fetched.

    The requests the puller makes, up to and including the first short (maybe empty) page
    that ends its walk; the bytes are read, not decoded, so the figure is the server's.
    """
    started = time.perf_counter()
    size = 0
    for start in range(0, total // page_size * page_size + 1, page_size):
        response = client.get(f"/rest/leadFormResponses?{finder}&count={page_size}&start={start}")
        if response.status_code != 200:
            raise RuntimeError(f"page at {start}: HTTP {response.status_code} {response.text}")
        size += len(response.content)
    return time.perf_counter() - started, size


@dataclass
class Baseline:
    cold_s: float
    warm_s: list[float]
    leads: int
    bytes_per_lead: float

    @property
    def cold_per_s(self) -> float:
        return self.leads / self.cold_s

    @property
    def warm_per_s(self) -> float:
        return self.leads / statistics.median(self.warm_s)


def measure_baseline(base: str, settings: Settings, leads: int, walks: int) -> Baseline:
    headers = {
        "Authorization": f"Bearer {sandbox_token(base)}",
        "LinkedIn-Version": settings.linkedin_version,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    end_ms = int(time.time() * 1000) + 3_600_000
    start_ms = end_ms - (settings.linkedin_retention_days + 1) * 86_400_000
    page = settings.pull_page_size
    finder = _finder(start_ms, end_ms)
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        body = client.get(f"/rest/leadFormResponses?{finder}&count=1&start=0").json()
        total = int(body["paging"]["total"])
        if total != leads:
            raise RuntimeError(f"the sandbox serves {total} leads of form {FORM_ID}, not {leads}")
        cold_s, size = _walk(client, finder, total, page)
        print(f"baseline: cold walk {leads / cold_s:,.0f} leads/s", flush=True)
        warm = []
        for _ in range(walks):
            seconds, _ = _walk(client, finder, total, page)
            warm.append(seconds)
            print(f"baseline: warm walk {leads / seconds:,.0f} leads/s", flush=True)
    return Baseline(cold_s, warm, leads, size / leads)


# --- one backfill -------------------------------------------------------------------------


def group_ids(settings: Settings) -> list[str]:
    """The consumer groups of the worker and of the scheduler's puller."""
    return [settings.worker_app_id, f"{settings.topic_prefix}-puller"]


def wait_for_groups(settings: Settings, processes: dict[str, Path]) -> None:
    """Until the worker's and the puller's consumer groups are stable with members."""
    admin = admin_client(settings)
    groups = group_ids(settings)
    deadline = time.monotonic() + READY_S
    while True:
        stable = 0
        for future in admin.describe_consumer_groups(groups).values():
            with contextlib.suppress(Exception):
                # A ConsumerGroupDescription (the stubs wrongly say a dict of them).
                group: Any = future.result()
                if group.state == ConsumerGroupState.STABLE and group.members:
                    stable += 1
        if stable == len(groups):
            return
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {name}:\n{tail(log)}" for name, log in processes.items())
            raise RuntimeError(f"worker and scheduler did not join their groups:\n{tails}")
        time.sleep(0.5)


PROGRESS = """
SELECT r.status, r.pages, r.leads_published, r.leads_total, r.error,
       (SELECT count(*) FROM imported_leads WHERE form_id = %(form)s),
       (SELECT count(DISTINCT lead_id) FROM error_log WHERE form_id = %(form)s)
FROM sync_runs r WHERE r.id = %(run)s
"""


@dataclass
class Backfill:
    leads: int
    total_s: float  # request -> last lead committed (imported or in the error log)
    pulled_s: float  # request -> run succeeded (every lead acknowledged by Kafka)
    first_row_s: float
    imported: int
    errors: int

    @property
    def per_s(self) -> float:
        return self.leads / self.total_s

    @property
    def pull_per_s(self) -> float:
        return self.leads / self.pulled_s


def follow(
    conn: psycopg.Connection[Any], run_id: Any, leads: int, logs: dict[str, Path]
) -> tuple[float, float, float, int, int]:
    """Prints progress until every lead is accounted for; the times from ``started``."""
    started = time.monotonic()
    pulled: float | None = None
    first: float | None = None
    last_print, last_change, seen = started, started, (-1, -1, -1)
    while True:
        time.sleep(POLL_S)
        row = conn.execute(PROGRESS, {"form": FORM_ID, "run": run_id}).fetchone()
        assert row is not None
        status, pages, published, total, error, imported, errors = row
        now = time.monotonic()
        if status == "failed":
            raise RuntimeError(f"the sync run failed: {error}\n{tail(logs['scheduler'])}")
        if status == "succeeded" and pulled is None:
            pulled = now
        if imported and first is None:
            first = now
        done = imported + errors >= leads and pulled is not None
        if now - last_print >= PRINT_EVERY_S or done:
            print(
                f"  {now - started:5.1f} s  {status:9}  page {pages:4}  published"
                f" {published:>7,}/{total or 0:,}  imported {imported:>7,}  errors {errors:>5,}",
                flush=True,
            )
            last_print = now
        if done:
            assert first is not None
            assert pulled is not None
            return now - started, pulled - started, first - started, imported, errors
        if (published, imported, errors) != seen:
            seen, last_change = (published, imported, errors), now
        elif now - last_change > STALL_S:
            tails = "\n".join(f"--- {name}:\n{tail(log)}" for name, log in logs.items())
            raise RuntimeError(f"no progress for {STALL_S:.0f} s:\n{tails}")


def one_round(stack: Stack, base: str, round_no: int, leads: int, profile: Path | None) -> Backfill:
    with run_database(stack.admin_url) as database_url:
        settings = stack.settings(
            round_no,
            database_url,
            account="bench",  # the account the round's commands act for (migrate makes it)
            linkedin_api_url=f"{base}/rest",
            linkedin_oauth_url=f"{base}/oauth/v2",
        )
        stack.groups += group_ids(settings)
        migrate(settings)
        ensure_topics(settings)
        leadsync(settings, "linkedin", "connect")
        leadsync(settings, "forms", "import", str(FORM_ID), "on")
        logdir = Path(tempfile.gettempdir())
        logs = {
            name: logdir / f"bench-backfill-{stack.token}-{round_no}-{name}.log"
            for name in ("worker", "scheduler")
        }
        profiles = {name: profile / f"{name}.prof" if profile else None for name in logs}
        with (
            psycopg.connect(database_url, autocommit=True) as conn,
            Worker(settings, log_path=logs["worker"], profile=profiles["worker"]),
            # SIGINT only under cProfile: the scheduler has no SIGTERM handler, and cProfile
            # writes its file only when the program ends by an exception.
            Scheduler(
                settings,
                log_path=logs["scheduler"],
                profile=profiles["scheduler"],
                stop_signal=signal.SIGINT if profile else signal.SIGTERM,
            ),
        ):
            wait_for_groups(settings, logs)
            print(f"round {round_no}: worker and scheduler ready; backfill requested", flush=True)
            started = time.monotonic()
            # What ``leadsync sync FORM --all-submissions`` does before it follows the run.
            options = SyncOptions(all_submissions=True)
            run_id = start_manual_import(settings, FORM_ID, options, "bench")
            total_s, pulled_s, first_s, imported, errors = follow(conn, run_id, leads, logs)
            requested_s = time.monotonic() - started - total_s  # run creation and request
            result = Backfill(
                leads,
                total_s + requested_s,
                pulled_s + requested_s,
                first_s + requested_s,
                imported,
                errors,
            )
        print(
            f"round {round_no}: {result.total_s:.1f} s, {result.per_s:,.0f} leads/s (pulled in"
            f" {result.pulled_s:.1f} s, first row after {result.first_row_s:.1f} s);"
            f" {imported:,} imported, {errors:,} in the error log; logs {logs['worker'].parent}",
            flush=True,
        )
        return result


# --- the program --------------------------------------------------------------------------


def report(baseline: Baseline, runs: list[Backfill], settings: Settings) -> bool:
    med = statistics.median
    total = med(r.total_s for r in runs)
    rate = med(r.per_s for r in runs)
    pull_rate = med(r.pull_per_s for r in runs)
    raw = baseline.warm_per_s
    ratio = rate / raw
    print()
    print(
        f"{baseline.leads:,} leads on one form; page size {settings.pull_page_size},"
        f" import batch {settings.import_batch_size}; one worker, one scheduler;"
        f" medians of {len(runs)} backfill(s) and {len(baseline.warm_s)} warm walk(s)"
    )
    print(f"{'':44}{'seconds':>9}{'leads/s':>10}{'/ raw':>7}")
    print(
        f"{'baseline: sandbox raw pages, warm':44}{med(baseline.warm_s):>9.1f}{raw:>10,.0f}"
        f"{1:>7.2f}"
    )
    print(
        f"{'baseline: sandbox raw pages, cold':44}{baseline.cold_s:>9.1f}"
        f"{baseline.cold_per_s:>10,.0f}{baseline.cold_per_s / raw:>7.2f}"
    )
    print(
        f"{'backfill: request -> on Kafka (run ended)':44}{med(r.pulled_s for r in runs):>9.1f}"
        f"{pull_rate:>10,.0f}{pull_rate / raw:>7.2f}"
    )
    print(f"{'backfill: request -> last contact committed':44}{total:>9.1f}{rate:>10,.0f}"
          f"{ratio:>7.2f}")  # fmt: skip
    print(
        f"rounds: {', '.join(f'{r.total_s:.1f} s' for r in runs)};"
        f" first row after {med(r.first_row_s for r in runs):.1f} s;"
        f" {runs[-1].imported:,} imported + {runs[-1].errors:,} in the error log per round;"
        f" {baseline.bytes_per_lead:,.0f} bytes/lead on the wire"
    )
    ok = total < GOAL_S and ratio >= GOAL_RATIO
    print(
        f"goal (< {GOAL_S:.0f} s and >= {GOAL_RATIO} of the sandbox's raw rate):"
        f" {'MET' if ok else 'MISSED'} ({total:.1f} s, {ratio:.2f})"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--walks", type=int, default=5, help="warm baseline walks")
    parser.add_argument("--max-minutes", type=float, default=15, help="no new round after")
    parser.add_argument("--profile", type=Path, help="cProfile output directory (round 1)")
    args = parser.parse_args()
    interrupt_on_sigterm()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    stack = Stack("leadsync-backfill")
    started = time.monotonic()
    settings = stack.base
    print(
        f"{args.leads:,} leads, page size {settings.pull_page_size}, python"
        f" {sys.version.split()[0]}, {multiprocessing.cpu_count()} CPUs; preloading the"
        " sandbox...",
        flush=True,
    )
    runs: list[Backfill] = []
    try:
        wait_for_kafka(settings, 30)
        with preloaded_sandbox(args.leads, SANDBOX_SEED, SANDBOX_START_S) as base:
            status = httpx.get(f"{base}/sandbox/status", timeout=5).json()
            print(f"sandbox on {base}: {status.get('leads', '?')} leads", flush=True)
            print(f"sandbox ready after {time.monotonic() - started:.0f} s", flush=True)
            baseline = measure_baseline(base, settings, args.leads, args.walks)
            for round_no in rounds(args.rounds, args.max_minutes, started):
                profile = args.profile if round_no == 1 else None
                runs.append(one_round(stack, base, round_no, args.leads, profile))
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        stack.clean()
    return 0 if report(baseline, runs, settings) else 1


if __name__ == "__main__":
    sys.exit(main())
