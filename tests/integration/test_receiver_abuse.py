"""A real ``leadsync ingress`` abused (harness.receiver_abuse): every kind gets its documented
refusal, the receiver keeps answering its health check through a slowloris, no notification
reaches ``leadsync.notifications`` (so no lead is ever hydrated), and the errors topic gets
exactly the error events the report announces."""

from __future__ import annotations

import socket
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from harness.children import free_port
from harness.processes import Ingress
from harness.receiver_abuse import KINDS, abuse
from ingest.webhook.app import WEBHOOK_PATH
from leadsync.settings import Settings
from schemas.events import ErrorEvent
from tests.integration.topics import read_topic

pytestmark = pytest.mark.integration

ROUNDS = 2
READ_TIMEOUT_S = 3.0  # the receiver cuts the slow requests (kept going 7 s) after this
SETTLE_S = 30.0  # for the partitions of the session's new topics to answer
_SETTLING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE}


def records(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every record on ``topic``; asked again while its partitions, created by this session
    moments ago, still answer "not leader"."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        try:
            return read_topic(settings.kafka_bootstrap_servers, topic)
        except KafkaException as exc:
            error = exc.args[0]
            settling = isinstance(error, KafkaError) and error.code() in _SETTLING
            if not settling or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_abuse_of_the_receiver_is_refused_as_documented_and_imports_nothing(
    settings: Settings,
) -> None:
    topics = settings.topics
    # leads.raw is written by the worker alone (none runs here): it stays empty a fortiori.
    watched = (topics.notifications, topics.leads_raw, topics.errors)

    before = {topic: len(records(settings, topic)) for topic in watched}
    receiver_settings = settings.model_copy(
        update={"ingress_port": free_port(), "ingress_read_timeout_s": READ_TIMEOUT_S}
    )
    with Ingress(receiver_settings) as receiver:
        report = abuse(
            f"{receiver.url}{WEBHOOK_PATH}",
            settings.linkedin_client_secret.get_secret_value(),
            rounds=ROUNDS,
            body_limit=settings.ingress_max_body_bytes,
            read_timeout_s=READ_TIMEOUT_S,
        )
        receiver.check_running()
    print(report.line())

    assert report.unexpected == [], "\n".join(report.notes)
    assert all(report.sent[kind] > 0 for kind in KINDS), report.sent
    assert len(report.healthz_s) == ROUNDS
    assert None not in report.healthz_s, "/healthz did not answer during the slowloris"
    assert report.error_events_expected > 0  # the signed malformed ones

    after = {topic: records(settings, topic) for topic in watched}
    assert len(after[topics.notifications]) == before[topics.notifications], "a notification got in"
    assert len(after[topics.leads_raw]) == before[topics.leads_raw]
    assert len(after[topics.errors]) - before[topics.errors] == report.error_events_expected
    ours = [
        ErrorEvent.model_validate_json(value)
        for _, value in after[topics.errors]
        if report.marker.encode() in value
    ]
    assert len(ours) == report.error_events_expected
    for event in ours:
        assert (event.stage, event.code) == ("ingress", "invalid_notification")
        assert event.raw_ref is not None
        assert report.marker in event.raw_ref["bytes"]  # the abuse's own bodies, kept whole
    assert len({event.error_id for event in ours}) == len(ours)


def test_a_kept_alive_connection_idle_past_the_read_deadline_still_serves(
    settings: Settings,
) -> None:
    """The deadline is on reading a request, not on the quiet between two: a connection idle
    longer than it (but within the keep-alive timeout) serves the next request."""
    receiver_settings = settings.model_copy(
        update={"ingress_port": free_port(), "ingress_read_timeout_s": 1.0}
    )
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with (
        Ingress(receiver_settings) as receiver,
        socket.create_connection(("127.0.0.1", receiver.settings.ingress_port), 10) as sock,
    ):
        for _ in range(2):
            sock.sendall(request)
            assert _response(sock).startswith(b"HTTP/1.1 200 "), receiver.log_tail()
            time.sleep(2.0)  # past the read deadline, within uvicorn's 5 s keep-alive


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP response (its head and its Content-Length body may come apart)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body
