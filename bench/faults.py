"""The fault run: N leads from the LinkedIn sandbox while workers, the scheduler, receivers,
a Kafka broker and PostgreSQL fail on a schedule, then the checks (:mod:`harness.fault_run`
says what happens, :mod:`harness.fault_check` what is checked).

A program, not a test (``tests/faults/test_fault_run.py`` runs a small one in CI). It prints
its progress, the figures, and one line to quote:

    .venv/bin/python bench/faults.py [--leads 20000] [--minutes 5] [--poison 100]
                                     [--outage-s 60] [--drop 0.1] [--duplicate 0.1]
                                     [--workers 2] [--seed 7] [--keep DIR]

PostgreSQL is the local stack's (``LEADSYNC_DATABASE_URL``, else 127.0.0.1:25432): the run
makes a database of its own there and drops it. Kafka is a three-broker cluster of the run's
own, started from the local stack's jars (``make services`` fetched them) and removed
afterwards, as are its logs unless ``--keep DIR`` keeps them. It stops by itself; exit
status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench._rounds import interrupt_on_sigterm
from harness.fault_run import FaultPlan, FaultRun, workdir
from leadsync.settings import load_settings


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - the developer's git
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--minutes", type=float, default=5.0, help="over which leads are created")
    parser.add_argument("--poison", type=int, default=100)
    parser.add_argument("--outage-s", type=float, default=60.0, help="PostgreSQL unreachable")
    parser.add_argument("--broker-down-s", type=float, default=20.0)
    parser.add_argument("--drop", type=float, default=0.1, help="share of pushes dropped")
    parser.add_argument("--duplicate", type=float, default=0.1, help="share pushed twice")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep Kafka's data and the logs here")
    args = parser.parse_args()
    interrupt_on_sigterm()
    plan = FaultPlan(
        leads=args.leads,
        duration_s=args.minutes * 60,
        drop_rate=args.drop,
        duplicate_rate=args.duplicate,
        poison=args.poison,
        database_outage_s=args.outage_s,
        broker_down_s=args.broker_down_s,
        workers=args.workers,
        seed=args.seed,
    )
    started = time.monotonic()
    with workdir(args.keep) as directory:
        outcome = FaultRun(plan, load_settings(demo=True), directory).execute()
        for line in outcome.details():
            print(f"  {line}")
    print(f"run took {time.monotonic() - started:.0f} s, commit {_commit()}")
    print(outcome.line())
    return 1 if outcome.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
