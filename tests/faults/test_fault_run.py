"""The fault run of ``bench/faults.py`` at CI's size (``FaultPlan.small``): every fault of the
full run, briefer, on fewer leads; the same checker, which must find nothing lost, nothing
duplicated, nothing made up, and exactly the poison records and the invalid leads in the
error logs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.fault_run import FaultPlan, FaultRun
from leadsync.settings import Settings

pytestmark = pytest.mark.integration


def test_a_small_fault_run_loses_duplicates_and_invents_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    seed = int(os.environ.get("LEADSYNC_FAULTS_SEED", time.time_ns() % 1_000_000))
    print(f"fault run: seed {seed} (LEADSYNC_FAULTS_SEED={seed} repeats the run)")
    plan = FaultPlan.small(seed)
    # The run's own database and Kafka cluster: only the PostgreSQL server is the run's.
    outcome = FaultRun(plan, settings, tmp_path).execute()
    for line in outcome.details():
        print(line)
    print(outcome.line())
    verdict = outcome.verdict
    assert not outcome.problems(), "\n".join(outcome.details())
    # The run did what it says: every fault happened, and while leads flowed.
    assert sum(outcome.kills.values()) == 5, outcome.kills
    assert [f.name for f in outcome.faults_named("broker")] == ["broker"]
    assert [f.name for f in outcome.faults_named("database")] == ["database outage"]
    assert verdict.poison_logged == plan.poison
    assert verdict.leads == plan.leads
    # Pushes were dropped (and made whole by the pull), duplicated, and rejected ones logged.
    assert outcome.sandbox.pushes_by_fate["drop"] > 0
    assert outcome.sandbox.duplicate_deliveries > 0
    assert verdict.imported_by_origin["push"] > plan.leads / 2
    assert verdict.imported_by_origin["manual"] + verdict.imported_by_origin["schedule"] > 0
    assert verdict.rejected_leads > 0
    assert len(outcome.abuse) == 2
