"""Every process's ``/metrics`` as Prometheus reads it (``prometheus_client.parser``): the
figures move by exactly what was sent, and no label value is an account, form or lead id.

The processes are real (``harness.processes``), on this module's database and topics and a
LinkedIn sandbox of its own (``tests.e2e.conftest``), so that the figures of a fresh
process count this module's work only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.children import free_port
from harness.operator import switch_import
from harness.processes import Admin, Ingress, LeadsyncProcess, Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from tests.e2e.conftest import query, sandbox, stack_settings, wait_for_runs
from tests.integration.produce import envelope, lead_for, publish_raw
from tests.integration.test_ingress import new_lead_id, notification, sign

pytestmark = pytest.mark.integration

__all__ = ["sandbox", "stack_settings"]

# What an id looks like in a label value: a URN, a UUID, a long number, an email.
ID_SHAPED = re.compile(r"urn:li:|[0-9a-f]{8}-[0-9a-f]{4}-|\d{6,}|@")
# A form of the sandbox's second ad account (seed 7), as in tests/e2e/test_pull.py.
SANDBOX_FORM = 7571309


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def scrape(process: LeadsyncProcess) -> list[Sample]:
    answer = httpx.get(f"{process.ops_url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return [
        Sample(s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    ]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` with these labels (0 when there is none)."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def moved(before: list[Sample], after: list[Sample], name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


ID_LABELS = {"account", "account_id", "form", "form_id", "lead", "lead_id", "connection", "email"}
# Labels that are configuration, not data: a topic's name (its prefix is the test run's) and
# a partition's index, below the topic's partition count.
CONFIGURED = {"topic", "partition"}


def assert_no_ids(samples: list[Sample], *ids: object) -> None:
    """No label names an account, form, lead or connection, and no label value is shaped
    like an id or is one of these. (An account's id is a small number, as counts are: the
    label names tell it.)"""
    named = {str(i) for i in ids}
    for sample in samples:
        assert not set(sample.labels) & ID_LABELS, sample
        for label, text in sample.labels.items():
            if label in CONFIGURED:
                continue
            assert not ID_SHAPED.search(text), (sample.name, label, text)
            assert text not in named, (sample.name, label, text)


def assert_ready(process: LeadsyncProcess) -> None:
    answer = httpx.get(f"{process.ops_url}/readyz", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ready"


@pytest.fixture(scope="module")
def worker(stack_settings: Settings) -> Iterator[Worker]:
    """The module's one worker: the group's every partition is its, every lead its count."""
    with Worker(stack_settings) as running:
        running.wait_until_ready()
        yield running


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _form(settings: Settings, import_on: bool) -> int:
    """A new form of the account, whose Import an operator switched on or off."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    switch_import(settings, [form_id], import_on)
    return form_id


def test_the_worker_counts_each_lead_once_by_outcome_and_origin(
    stack_settings: Settings, worker: Worker
) -> None:
    enabled, disabled = _form(stack_settings, True), _form(stack_settings, False)
    pushed = [lead_for(_unique("push"), f"{_unique('p')}@example.com", form_id=enabled)
              for _ in range(5)]  # fmt: skip
    manual = [lead_for(_unique("manual"), f"{_unique('m')}@example.com", form_id=enabled)
              for _ in range(3)]  # fmt: skip
    skipped = [lead_for(_unique("off"), f"{_unique('o')}@example.com", form_id=disabled)
               for _ in range(2)]  # fmt: skip
    before = scrape(worker)

    publish_raw(
        stack_settings,
        *(envelope(lead) for lead in pushed),
        *(envelope(lead, "manual") for lead in manual),
        *(envelope(lead) for lead in skipped),
        b"this is no lead",
    )
    worker.settle()
    publish_raw(stack_settings, *(envelope(lead) for lead in pushed[:2]))  # LinkedIn again
    worker.settle()
    after = scrape(worker)

    imports = "leadsync_import_leads_total"
    assert moved(before, after, imports, outcome="imported", origin="push") == 5
    assert moved(before, after, imports, outcome="imported", origin="manual") == 3
    assert moved(before, after, imports, outcome="skipped", origin="push") == 2
    assert moved(before, after, imports, outcome="duplicate", origin="push") == 2
    assert moved(before, after, imports, outcome="failed", origin="unknown") == 1
    assert moved(before, after, imports, outcome="updated") == 0
    assert moved(before, after, imports) == 5 + 3 + 2 + 2 + 1
    assert (
        moved(
            before, after, "leadsync_import_failures_total",
            code="undecodable_record", origin="unknown",
        ) == 1
    )  # fmt: skip
    recorded = "leadsync_errors_recorded_total"
    assert moved(before, after, recorded, stage="decode", code="undecodable_record") == 1
    # The same figures as the form's counters in the console.
    counters = query(
        stack_settings, "SELECT imported, skipped FROM form_counters WHERE form_id = ANY(%s)",
        [enabled, disabled],
    )  # fmt: skip
    assert sorted(counters) == [(0, 2), (8, 0)]

    # Settled: nothing left behind on any partition of the raw topic, all of them this
    # worker's.
    raw = stack_settings.topics.leads_raw
    lags = [s for s in after if s.name == "leadsync_consumer_lag" and s.labels["topic"] == raw]
    assert sorted(int(s.labels["partition"]) for s in lags) == list(
        range(stack_settings.topic_partitions)
    )
    assert all(s.value == 0 for s in lags), lags
    held = value(after, "leadsync_worker_assigned_partitions", topic=raw)
    assert held == stack_settings.topic_partitions
    assert value(after, "process_resident_memory_bytes") > 0

    leads = [lead["id"] for lead in (*pushed, *manual, *skipped)]
    assert_no_ids(after, enabled, disabled, *leads)
    assert_ready(worker)


def test_the_receiver_counts_each_notification_received_and_published(
    stack_settings: Settings,
) -> None:
    settings = stack_settings.model_copy(update={"ingress_port": free_port()})
    secret = settings.linkedin_client_secret.get_secret_value()
    lead_ids = [new_lead_id() for _ in range(4)]
    with Ingress(settings) as ingress:
        before = scrape(ingress)
        for lead_id in lead_ids:
            body = notification(lead_id)
            answer = httpx.post(
                f"{ingress.url}/linkedin/webhook",
                content=body,
                headers={"Content-Type": "application/json", "X-LI-Signature": sign(secret, body)},
            )
            assert answer.status_code == 200, answer.text
        forged = httpx.post(
            f"{ingress.url}/linkedin/webhook",
            content=notification(new_lead_id()),
            headers={"Content-Type": "application/json", "X-LI-Signature": "0" * 64},
        )
        assert forged.status_code == 401
        after = scrape(ingress)
        assert_ready(ingress)
        assert httpx.get(f"{ingress.url}/healthz").json() == {"status": "ok"}

    assert moved(before, after, "leadsync_leads_received_total", origin="push") == 4
    assert moved(before, after, "leadsync_leads_published_total", origin="push") == 4
    requests = "leadsync_ingress_requests_total"
    assert moved(before, after, requests, outcome="bad_signature") == 1
    assert_no_ids(after, *lead_ids)


def test_the_scheduler_counts_the_leads_it_pulled_its_runs_and_its_linkedin_calls(
    stack_settings: Settings, sandbox: Sandbox, worker: Worker
) -> None:
    leadsync(stack_settings, "linkedin", "connect")
    leadsync(stack_settings, "forms", "import", str(SANDBOX_FORM), "on")
    # The last pull was 60 days ago: the next one covers the leads since then.
    query(
        stack_settings,
        "UPDATE forms SET watermark = now() - interval '60 days' WHERE id = %s",
        SANDBOX_FORM,
    )
    sandbox.control.post(
        "/leads/preload", json={"count": 25, "spreadDays": 45, "formId": SANDBOX_FORM}
    ).raise_for_status()
    expected = sandbox.lead_ids({SANDBOX_FORM})

    # A fresh process: its figures are this run's.
    with Scheduler(stack_settings.model_copy(update={"scheduler_tick_s": 0.5})) as scheduler:
        scheduler.wait_until_ready()
        runs = wait_for_runs(stack_settings, {SANDBOX_FORM}, 1, scheduler=scheduler)
        assert [status for _, status, _ in runs] == ["succeeded"], runs
        after = scrape(scheduler)
        assert_ready(scheduler)

    published = query(
        stack_settings, "SELECT leads_published FROM sync_runs WHERE form_id = %s", SANDBOX_FORM
    )
    assert published == [(len(expected),)]
    assert value(after, "leadsync_leads_received_total", origin="schedule") == len(expected)
    assert value(after, "leadsync_leads_published_total", origin="schedule") == len(expected)
    assert value(after, "leadsync_sync_runs_total", trigger="schedule", outcome="succeeded") == 1
    assert value(after, "leadsync_sync_runs_total", outcome="failed") == 0
    calls = "leadsync_linkedin_calls_total"
    assert value(after, calls, endpoint="GET /leadFormResponses", status="200") >= 1
    endpoints = {s.labels["endpoint"] for s in after if s.name == calls}
    assert all(re.fullmatch(r"[A-Z]+ (/[A-Za-z]+(/\{id\})?|other)", e) for e in endpoints)
    assert_no_ids(after, SANDBOX_FORM, *expected)
    worker.settle()


def test_the_admin_reads_the_outbox_backlog_and_the_first_token_end(
    stack_settings: Settings, worker: Worker
) -> None:
    # After the scheduler's test: a LinkedIn connection exists, the outbox has had rows.
    worker.settle()
    settings = stack_settings.model_copy(update={"admin_port": free_port()})
    with Admin(settings) as admin:
        samples = scrape(admin)
        assert_ready(admin)
    unpublished = query(settings, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
    assert value(samples, "leadsync_outbox_backlog") == unpublished[0][0] == 0
    assert value(samples, "leadsync_outbox_oldest_seconds") == 0
    assert value(samples, "leadsync_linkedin_connections", status="active") >= 1
    assert value(samples, "leadsync_linkedin_token_first_end_seconds") > 0
    assert value(samples, "process_cpu_seconds_total") > 0
    assert_no_ids(samples)
