"""leadsync's Prometheus figures, one definition for every process.

Each process counts what it does in :data:`REGISTRY` and serves it on ``GET /metrics``
(the receiver and the admin on their own port, the worker and the scheduler on their
:mod:`leadsync.ops_server`), together with :data:`PROCESS` (CPU, memory, open files,
garbage collection).

Labels stay bounded: an outcome, an origin (``push``, ``schedule``, ``manual``), an error
code, a LinkedIn endpoint's template, a topic and partition. Never an account, form, lead
or connection id: a platform has thousands of them, and which ones are concerned is in the
admin API. Values that come from outside a fixed set go through :func:`bounded` first.

The receiver counts its own requests without these objects (:mod:`ingest.webhook.metrics`:
no lock on its hot path) and emits the same families under the same names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.registry import Collector

# Names shared with the receiver's own collector (ingest.webhook.metrics).
LEADS_RECEIVED = "leadsync_leads_received"
LEADS_PUBLISHED = "leadsync_leads_published"
LEADS_RECEIVED_HELP = (
    "Leads that came in: authentic webhook notifications (push), leads a pull found on"
    " LinkedIn (schedule, manual)."
)
LEADS_PUBLISHED_HELP = (
    "Leads written to Kafka and acknowledged: notifications by the receiver (push), raw"
    " leads by the puller (schedule, manual)."
)

ORIGINS = ("push", "schedule", "manual")
UNKNOWN = "unknown"
OTHER = "other"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")

# The process's own figures: CPU seconds, resident memory, file descriptors, GC.
PROCESS = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=PROCESS)
PlatformCollector(registry=PROCESS)
GCCollector(registry=PROCESS)

REGISTRY = CollectorRegistry(auto_describe=True)

LEADS_RECEIVED_TOTAL = Counter(LEADS_RECEIVED, LEADS_RECEIVED_HELP, ["origin"], registry=REGISTRY)
LEADS_PUBLISHED_TOTAL = Counter(
    LEADS_PUBLISHED, LEADS_PUBLISHED_HELP, ["origin"], registry=REGISTRY
)
IMPORTED_TOTAL = Counter(
    "leadsync_import_leads",
    "What the import did, by origin: contacts imported (created) and updated, counted as the"
    " forms' counters count them; leads skipped (Import off, account disabled), duplicates"
    " (already imported, dropped) and failed (an error event).",
    ["outcome", "origin"],
    registry=REGISTRY,
)
IMPORT_FAILURES_TOTAL = Counter(
    "leadsync_import_failures",
    "Leads the import turned into error events, by error code and origin.",
    ["code", "origin"],
    registry=REGISTRY,
)
ERRORS_RECORDED_TOTAL = Counter(
    "leadsync_errors_recorded",
    "Error events written to the error logs, by the stage that failed and the error code.",
    ["stage", "code"],
    registry=REGISTRY,
)
SYNC_RUNS_TOTAL = Counter(
    "leadsync_sync_runs",
    "Sync runs the puller ended, by trigger (schedule, manual) and outcome (succeeded,"
    " failed, refused: the form cannot be pulled as configured).",
    ["trigger", "outcome"],
    registry=REGISTRY,
)
LINKEDIN_CALLS_TOTAL = Counter(
    "leadsync_linkedin_calls",
    "HTTP exchanges with LinkedIn (each attempt), by endpoint template and HTTP status"
    " ('unreachable': no answer).",
    ["endpoint", "status"],
    registry=REGISTRY,
)

SCHEDULER_LEADER = Gauge(
    "leadsync_scheduler_leader",
    "1 while this scheduler holds the scheduling lock (exactly one of the schedulers should),"
    " else 0: it pulls, and stands by to lead.",
    registry=REGISTRY,
)


def bounded(value: str | None, allowed: Iterable[str] | None = None) -> str:
    """A label value that cannot grow without bound: one of ``allowed`` when given, else
    something shaped like a code (lower case, short); anything else reads ``other``."""
    if value is None or value == "":
        return UNKNOWN
    if allowed is not None:
        return value if value in allowed else OTHER
    return value if _CODE.match(value) else OTHER


def origin(value: str | None) -> str:
    return bounded(value, ORIGINS)


def exposition(*registries: CollectorRegistry | Collector) -> bytes:
    """The registries' figures in Prometheus' text format, one after the other (their
    families must not share names)."""
    return b"".join(generate_latest(r) for r in registries)
