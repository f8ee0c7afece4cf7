"""Where the import's time goes, by stage: CPU seconds of the pure steps of a batch, and the
seconds its transaction spent waiting; exported as ``leadsync_import_stage_seconds_total``.

- ``decode``: raw records to typed leads;
- ``map``: leads to contact, submission and ledger rows (the form's mapping);
- ``sql_build``: rows to the JSON documents the statements take;
- ``events``: the contact-change events (CloudEvents JSON);
- ``waiting``: the transaction's wall time minus the CPU the worker's thread spent in it:
  PostgreSQL's work and the round trips to it (or, on a busy machine, the cores being
  elsewhere).

The CPU stages are measured with the thread's CPU clock around code that does not await, so
they are the stage's own; what no stage names (Kafka, faust, hydration, the relay) is the
process's CPU less their sum. ``bench/pipeline.py`` prints them per lead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator

from prometheus_client import Counter

from leadsync.metrics import REGISTRY

CPU_STAGES = ("decode", "map", "sql_build", "events")
STAGES = (*CPU_STAGES, "waiting")

IMPORT_STAGE_SECONDS = Counter(
    "leadsync_import_stage_seconds",
    "Seconds spent importing, by stage: CPU of decode, map, sql_build and events; wall"
    " seconds the batch's transaction waited (PostgreSQL) as waiting.",
    ["stage"],
    registry=REGISTRY,
)
_BY_STAGE = {stage: IMPORT_STAGE_SECONDS.labels(stage=stage) for stage in STAGES}


@contextlib.contextmanager
def cpu(stage: str) -> Iterator[None]:
    """Count the thread's CPU in the block (which must not await) against ``stage``."""
    started = time.thread_time()
    try:
        yield
    finally:
        _BY_STAGE[stage].inc(time.thread_time() - started)


@contextlib.asynccontextmanager
async def waiting() -> AsyncIterator[None]:
    """Count the block's wall time less the thread's CPU in it as ``waiting``."""
    wall, thread = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        idle = (time.perf_counter() - wall) - (time.thread_time() - thread)
        _BY_STAGE["waiting"].inc(max(0.0, idle))
