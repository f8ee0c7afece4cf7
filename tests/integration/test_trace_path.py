"""One lead's path is one search in the logs: a notification pushed to ``leadsync ingress``
with a W3C ``traceparent`` is received, published, hydrated, imported and its contact change
relayed by ``leadsync worker``, each step logging in the trace the notification came with,
and the contact-change record on Kafka carries that trace in its ``traceparent`` header.

Real Kafka, PostgreSQL and LinkedIn sandbox; the receiver and the worker run as an operator
runs them, each with its own log file, read here as JSON lines (every line must parse).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import SecretStr

from harness.children import free_port
from harness.operator import migrate
from harness.processes import Ingress, Worker, leadsync
from harness.sandboxes import Sandbox, serving
from harness.scratch import run_database
from leadsync import tracing
from leadsync.kafka.topics import ensure_topics
from leadsync.settings import Settings
from sandbox.config import SignatureVariant
from sandbox.push import notification_body
from sandbox.signing import notification_signature

pytestmark = pytest.mark.integration

# The sandbox's reference form (seed 7): ad account 1234567, the demo member's.
FORM_ID = 7234246
# What LinkedIn, or a proxy in front of the receiver, would send.
UPSTREAM = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UPSTREAM_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    with serving(settings) as running:
        yield running


@pytest.fixture(scope="module")
def trace_settings(settings: Settings, sandbox: Sandbox) -> Iterator[Settings]:
    """This module's own database and topics, pointed at its sandbox, JSON logs."""
    port = free_port()
    with run_database(settings.database_conninfo()) as database_url:
        own = settings.model_copy(
            update={
                "database_url": SecretStr(database_url),
                "topic_prefix": f"{settings.topic_prefix}-trace-{uuid.uuid4().hex[:6]}",
                "linkedin_api_url": f"{sandbox.url}/rest",
                "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
                "ingress_port": port,
                "ingress_public_url": f"http://127.0.0.1:{port}/linkedin/webhook",
                "log_format": "json",
            }
        )
        migrate(own)
        ensure_topics(own)
        yield own


@pytest.fixture(scope="module")
def connected(trace_settings: Settings, sandbox: Sandbox) -> None:
    """The account connected to the sandbox's demo member, Import on for the form."""
    out = leadsync(trace_settings, "linkedin", "connect")
    assert "tokens stored encrypted" in out, out
    leadsync(trace_settings, "forms", "import", str(FORM_ID), "on")


def _new_lead(sandbox: Sandbox) -> str:
    """A lead the sandbox holds for the form (no subscription: nothing is pushed)."""
    before = sandbox.lead_ids({FORM_ID})
    job = sandbox.control.post("/leads", json={"count": 1, "rate": 100, "formId": FORM_ID})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 30
    while not (created := sandbox.lead_ids({FORM_ID}) - before):
        assert time.monotonic() < deadline, "the sandbox did not create the lead"
        time.sleep(0.1)
    [lead_id] = created
    return lead_id


def _push(settings: Settings, sandbox: Sandbox, ingress: Ingress, lead_id: str) -> None:
    """POST the lead's CREATED notification as LinkedIn does, with a traceparent."""
    lead = sandbox.state.store.get(lead_id)
    assert lead is not None
    body = notification_body(lead, "CREATED", int(time.time() * 1000))
    secret = settings.linkedin_client_secret.get_secret_value()
    signature = notification_signature(secret, body, SignatureVariant.PREFIXED_BODY)
    answer = httpx.post(
        f"{ingress.url}/linkedin/webhook",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-LI-Signature": signature,
            "traceparent": UPSTREAM,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _json_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of a process's log, each of which must be one JSON object."""
    lines = []
    for number, line in enumerate(log.read_text().splitlines(), start=1):
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"{log}:{number} is not JSON: {line!r}")
        assert isinstance(parsed, dict), line
        assert {"time", "level", "logger", "message", "process"} <= parsed.keys(), line
        lines.append(parsed)
    return lines


def _in_trace(lines: list[dict[str, Any]], trace_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        if line.get("trace_id") == trace_id or trace_id in line.get("trace_ids", ())
    ]


def _contact_change_traces(settings: Settings, contact_id: str) -> list[str | None]:
    """The traceparent header of each event on the contact-change topic about the contact."""
    topic = settings.topics.contact_changes
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"test-trace-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: list[str | None] = []
        done: set[int] = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + 30
        while len(done) < len(partitions) and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.5):
                if message.error():
                    continue
                partition, offset = message.partition(), message.offset()
                assert partition is not None
                assert offset is not None
                if offset + 1 >= ends[partition]:
                    done.add(partition)
                key = (message.key() or b"").decode()
                if key.endswith(f":{contact_id}"):
                    trace = tracing.from_headers(message.headers())
                    found.append(trace.trace_id if trace else None)
        return found
    finally:
        consumer.close()


def test_one_lead_s_path_is_one_trace_from_the_webhook_to_its_contact_change(
    trace_settings: Settings, sandbox: Sandbox, connected: None, tmp_path: Path
) -> None:
    lead_id = _new_lead(sandbox)
    with (
        Ingress(trace_settings, log_path=tmp_path / "ingress.log") as ingress,
        Worker(trace_settings, log_path=tmp_path / "worker.log") as worker,
    ):
        _push(trace_settings, sandbox, ingress, lead_id)
        worker.wait_caught_up(trace_settings.topics.notifications, 120)
        worker.settle(120)
    with psycopg.connect(trace_settings.database_conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT contact_id FROM imported_leads WHERE lead_id = %s", (lead_id,)
        ).fetchone()
        assert row is not None, "the lead was not imported"
        contact_id = str(row[0])
        (outbox_trace,) = conn.execute(
            "SELECT traceparent FROM outbox WHERE contact_id = %s", (row[0],)
        ).fetchone() or (None,)

    received = _in_trace(_json_lines(tmp_path / "ingress.log"), UPSTREAM_TRACE)
    worked = _in_trace(_json_lines(tmp_path / "worker.log"), UPSTREAM_TRACE)
    said = [line["message"] for line in received + worked]
    # Received and published by the receiver, in the trace LinkedIn's request came with.
    assert any(
        line["logger"] == "ingest.webhook.app" and lead_id in line["message"] for line in received
    ), said
    assert all(line["process"] == "ingress" for line in received)
    # Hydrated, imported, relayed by the worker: each step's line names the trace.
    loggers = {line["logger"] for line in worked}
    assert {"streams.hydrate", "streams.lead_batches", "streams.relay"} <= loggers, said
    hydrated = next(line for line in worked if line["logger"] == "streams.hydrate")
    assert lead_id in hydrated["message"]
    assert hydrated["span_id"] != UPSTREAM.split("-")[2]  # the worker's own span
    # The outbox row keeps the trace, and the event on Kafka carries it on.
    assert tracing.parse(outbox_trace) is not None
    assert outbox_trace.split("-")[1] == UPSTREAM_TRACE
    assert _contact_change_traces(trace_settings, contact_id) == [UPSTREAM_TRACE]
