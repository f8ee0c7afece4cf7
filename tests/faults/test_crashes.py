"""Crashes and outages while leads flow: afterwards every lead is imported exactly once.

architecture.md 3.2 and 3.5: a crash at any point replays work without a second contact, a
second submission row or a lost lead; every committed change has one outbox row, published
at least once with a stable id.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from urllib.parse import urlsplit

import pytest

from harness.processes import Worker
from harness.tcp_proxy import TcpProxy, database_through
from leadsync.settings import Settings
from tests.faults.checks import assert_imported_exactly_once, imported_count
from tests.faults.dataset import build
from tests.faults.flow import LogWatch, Publisher

pytestmark = pytest.mark.integration

MIN_KILLS = 4
MAX_KILLS = 8
OUTAGE_S = 30.0


def _rng(name: str) -> random.Random:
    seed = int(os.environ.get("LEADSYNC_FAULTS_SEED", time.time_ns() % 1_000_000))
    print(f"{name}: seed {seed} (LEADSYNC_FAULTS_SEED={seed} repeats the run)")
    return random.Random(seed)


def test_worker_killed_repeatedly(settings: Settings) -> None:
    rng = _rng("kills")
    stream = build(settings, 10_000, rng)
    ready: list[float] = []  # seconds from each start of the worker to "Worker ready"
    first_batch: list[float] = []  # ... and to its first imported batch
    kills_while_publishing = 0
    with Worker(settings) as worker, Publisher(settings, stream, 200, 0.4) as publisher:
        watch = LogWatch(worker)
        while len(ready) < MIN_KILLS or (publisher.is_alive() and len(ready) < MAX_KILLS):
            # One round: the (re)started worker gets ready, imports, and is killed.
            ready.append(watch.wait_for("Worker ready", 90))
            if publisher.is_alive():  # importing, so that the kill lands in the middle of work
                first_batch.append(watch.wait_for("imported batch", 60))
            if len(ready) % 2 == 0 and publisher.is_alive():
                # Just after a batch committed, before its offsets are (committed every
                # 0.3 s): the batch comes again to the next worker.
                watch.mark()
                watch.wait_for("imported batch", 30)
            else:
                time.sleep(rng.uniform(0.2, 3.0))  # at any moment
            assert worker.process is not None
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait(10)
            if publisher.is_alive():
                kills_while_publishing += 1
            watch.mark()
            worker.start()
        publisher.finish()
        settle_start = time.monotonic()
        worker.settle(timeout_s=150)
        settled = time.monotonic() - settle_start

    outcome = assert_imported_exactly_once(settings, stream.expected, worker.log_path)
    assert kills_while_publishing >= 2, "leads were not flowing during the kills"
    assert outcome.records_processed > len(stream.records), (
        "no record was processed twice: no kill fell between a batch's commit to the database"
        " and the commit of its offsets, so the test proved nothing about replays"
    )
    print(
        f"kills: {len(ready)} ({kills_while_publishing} while publishing); seconds from each"
        f" start to ready {[round(s, 1) for s in ready]}, to the first batch"
        f" {[round(s, 1) for s in first_batch]}; settled {settled:.1f} s after publishing"
        f" ended; {outcome}; records published {len(stream.records)}"
    )


def test_postgres_unreachable_for_30s(settings: Settings) -> None:
    rng = _rng("outage")
    stream = build(settings, 6_000, rng)
    server = urlsplit(settings.database_conninfo())
    assert server.hostname is not None
    assert server.port is not None
    with TcpProxy(server.hostname, server.port) as proxy:
        through_proxy = database_through(settings, proxy)
        with Worker(through_proxy) as worker, Publisher(settings, stream, 200, 0.4) as publisher:
            watch = LogWatch(worker)
            watch.wait_for("imported batch", 90)
            time.sleep(rng.uniform(0.5, 3.0))
            watch.mark()
            dropped = proxy.outage()
            time.sleep(1.0)  # a COMMIT already on its way to the server may still land
            at_start = imported_count(settings, stream.expected.account, stream.expected.forms)
            time.sleep(OUTAGE_S - 1.0)
            at_end = imported_count(settings, stream.expected.account, stream.expected.forms)
            during = watch.since_mark()
            watch.mark()
            proxy.recover()
            recovery = watch.wait_for("imported batch", 90)
            publisher.finish()
            worker.settle(timeout_s=150)
            # One process all along: it neither exited nor had to be restarted.
            assert worker.process is not None
            assert worker.process.poll() is None, f"the worker exited:\n{worker.log_tail()}"

    # The outage was real: it cut the worker's sessions, the worker's log shows it, nothing
    # reached the database meanwhile, and leads were still to come.
    assert dropped > 0, "the worker had no database connection open when the outage began"
    # leadsync.retry's line for each wait: "import pipeline: OperationalError (...), attempt
    # 2; retrying in 0.31 s", "outbox relay paused: ...".
    waits = re.findall(
        r"(?:import pipeline|outbox relay paused): (?:OperationalError|InterfaceError|PoolTimeout)",
        during,
    )
    assert waits, f"the outage is not in the log:\n{during[-3000:]}"
    assert at_start == at_end < len(stream.expected.lead_ids), (at_start, at_end)
    outcome = assert_imported_exactly_once(settings, stream.expected, worker.log_path)
    print(
        f"outage: {at_start} leads imported when it began, {len(stream.expected.lead_ids)}"
        f" distinct leads in all; {dropped} connections cut;"
        f" {len(waits)} database waits in the log;"
        f" first batch {recovery:.1f} s after recovery; {outcome}"
    )
