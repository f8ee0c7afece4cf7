"""The webhook receiver against the real broker: what LinkedIn (or an impostor) gets back, and
what ends up on ``leadsync.notifications`` and ``leadsync.errors``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ingest.webhook.app import create_app
from leadsync.settings import Settings
from schemas.events import ErrorEvent
from schemas.notifications import ReceivedNotification
from tests.integration.kafka_proxy import KafkaProxy
from tests.integration.topics import read_topic

pytestmark = pytest.mark.integration

WEBHOOK = "/linkedin/webhook"
LIMIT = 64 * 1024


def notification(lead_id: str, action: str = "CREATED", **extra: Any) -> bytes:
    body = {
        "type": "LEAD_ACTION",
        "leadGenFormResponse": f"urn:li:leadGenFormResponse:{lead_id}",
        "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"},
        "associatedEntity": {"sponsoredCreative": "urn:li:sponsoredCreative:241257736"},
        "leadType": "SPONSORED",
        "leadAction": action,
        "occurredAt": 1689894600000,
    } | extra
    return json.dumps(body).encode()


def new_lead_id() -> str:
    return f"{uuid.uuid4()}-6"


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, variant: str = "a") -> str:
    """``X-LI-Signature`` under reading (a), (b) or (c) of the reference page."""
    if variant == "a":
        return _hex(secret, b"hmacsha256=" + body)
    if variant == "b":
        return "hmacsha256=" + _hex(secret, body)
    return _hex(secret, body)


def assert_refused(response: httpx.Response, status: int, code: str, message: str) -> None:
    """The receiver's error answer: the status, and the body that says why."""
    assert response.status_code == status, response.text
    assert response.json() == {"error": code, "message": message}


class Ingress:
    """The receiver's app in this process (lifespan entered), and LinkedIn's side of it."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.secret = settings.linkedin_client_secret.get_secret_value()
        self.client = client

    async def push(
        self, body: bytes, variant: str = "a", content_type: str = "application/json"
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, "X-LI-Signature": sign(self.secret, body, variant)}
        return await self.client.post(WEBHOOK, content=body, headers=headers)

    async def metric(self, name: str, **labels: str) -> float:
        text = (await self.client.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Ingress]:
    """The app with its lifespan entered (its own idempotent producer), behind an httpx client
    that talks ASGI to it from a public-looking address."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 443))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://ingress", timeout=30) as client,
    ):
        yield Ingress(settings, client)


@pytest.fixture(scope="module")
async def ingress(settings: Settings) -> AsyncIterator[Ingress]:
    # One receiver for the module, as in production: it runs for long, started once.
    async with serving(settings) as running:
        yield running


def notifications_for(settings: Settings, *lead_ids: str) -> list[tuple[bytes | None, bytes]]:
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.notifications)
    keys = {lead_id.encode() for lead_id in lead_ids}
    return [(k, v) for k, v in records if k in keys]


def errors_about(settings: Settings, marker: str) -> list[ErrorEvent]:
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.errors)
    return [
        ErrorEvent.model_validate_json(value)
        for _, value in records
        if marker.encode() in value and b'"stage":"ingress"' in value
    ]


async def test_the_challenge_is_answered_with_json_and_lowercase_hex(ingress: Ingress) -> None:
    code = str(uuid.uuid4())
    response = await ingress.client.get(WEBHOOK, params={"challengeCode": code})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer == {
        "challengeCode": code,
        "challengeResponse": _hex(ingress.secret, code.encode()),
    }
    assert answer["challengeResponse"] == answer["challengeResponse"].lower()
    for params in ({}, {"challengeCode": ""}, {"challengeCode": "  "}):
        response = await ingress.client.get(WEBHOOK, params=params)
        assert_refused(response, 400, "missing_challenge", "challengeCode is required")


async def test_an_accepted_notification_is_in_kafka_when_the_200_arrives(ingress: Ingress) -> None:
    lead_id = new_lead_id()
    body = notification(lead_id)
    response = await ingress.push(body)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted"}
    # Read right away: the 200 promises the record is already acknowledged.
    records = notifications_for(ingress.settings, lead_id)
    assert len(records) == 1
    envelope = ReceivedNotification.model_validate_json(records[0][1])
    assert envelope.body.encode() == body  # the bytes as received, not re-serialised
    assert envelope.signature_variant == "a"
    assert envelope.notification().lead_id() == lead_id


@pytest.mark.parametrize("variant", ["a", "b", "c"])
async def test_each_signature_reading_is_accepted_and_counted(
    ingress: Ingress, variant: str
) -> None:
    name = "leadsync_ingress_signature_variant_total"
    before = {v: await ingress.metric(name, variant=v) for v in "abc"}
    lead_id = new_lead_id()
    response = await ingress.push(notification(lead_id), variant=variant)
    assert response.status_code == 200, response.text
    after = {v: await ingress.metric(name, variant=v) for v in "abc"}
    assert {v: after[v] - before[v] for v in "abc"} == {v: float(v == variant) for v in "abc"}
    (record,) = notifications_for(ingress.settings, lead_id)
    assert ReceivedNotification.model_validate_json(record[1]).signature_variant == variant


async def test_a_bad_or_missing_signature_is_401_and_publishes_nothing(
    ingress: Ingress, caplog: pytest.LogCaptureFixture
) -> None:
    rejected = []
    before = await ingress.metric("leadsync_ingress_requests_total", outcome="bad_signature")
    wrong_secret = "not-the-client-secret"
    for variant in ("a", "b", "c", "missing", "empty", "prefix only"):
        lead_id = new_lead_id()
        rejected.append(lead_id)
        body = notification(lead_id, comment="Ada Lovelace ada@example.com")
        headers = {"Content-Type": "application/json"}
        if variant in "abc":
            headers["X-LI-Signature"] = sign(wrong_secret, body, variant)
        elif variant != "missing":
            headers["X-LI-Signature"] = {"empty": "", "prefix only": "hmacsha256="}[variant]
        with caplog.at_level(logging.INFO):
            response = await ingress.client.post(WEBHOOK, content=body, headers=headers)
        assert_refused(response, 401, "bad_signature", "X-LI-Signature does not match")
    # Signed for another body: authentic bytes, wrong pairing.
    lead_id = new_lead_id()
    rejected.append(lead_id)
    other = notification(new_lead_id())
    response = await ingress.client.post(
        WEBHOOK,
        content=notification(lead_id),
        headers={"Content-Type": "application/json", "X-LI-Signature": sign(ingress.secret, other)},
    )
    assert_refused(response, 401, "bad_signature", "X-LI-Signature does not match")
    after = await ingress.metric("leadsync_ingress_requests_total", outcome="bad_signature")
    assert after - before == len(rejected)
    assert notifications_for(ingress.settings, *rejected) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "signature" in logged
    assert "ada@example.com" not in logged
    assert "Lovelace" not in logged
    assert not any(lead_id in logged for lead_id in rejected)


async def test_a_body_over_64_kib_is_413_without_being_read(ingress: Ingress) -> None:
    assert ingress.settings.ingress_max_body_bytes == LIMIT
    sent: list[int] = []

    async def chunks(total: int, size: int = 8 * 1024) -> AsyncIterator[bytes]:
        while sum(sent) < total:
            sent.append(size)
            yield b" " * size

    # Declared: refused on the Content-Length header alone.
    response = await ingress.client.post(
        WEBHOOK,
        content=chunks(1024 * 1024),
        headers={"Content-Type": "application/json", "Content-Length": str(1024 * 1024)},
    )
    assert_refused(response, 413, "too_large", f"body over {LIMIT} bytes")
    assert sum(sent) == 0
    # Chunked (no length): refused as soon as the limit is passed.
    sent.clear()
    response = await ingress.client.post(
        WEBHOOK, content=chunks(1024 * 1024), headers={"Content-Type": "application/json"}
    )
    assert_refused(response, 413, "too_large", f"body over {LIMIT} bytes")
    assert LIMIT < sum(sent) <= LIMIT + 8 * 1024
    # Exactly at the limit is still a notification.
    lead_id = new_lead_id()
    body = notification(lead_id)
    padded = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(padded) == LIMIT
    assert (await ingress.push(padded)).status_code == 200
    assert len(notifications_for(ingress.settings, lead_id)) == 1


async def test_a_wrong_content_type_is_415(ingress: Ingress) -> None:
    lead_id = new_lead_id()
    body = notification(lead_id)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = await ingress.push(body, content_type=content_type)
        assert_refused(response, 415, "unsupported_media_type", "expected application/json")
    assert notifications_for(ingress.settings, lead_id) == []
    with_charset = await ingress.push(body, content_type="application/json; charset=utf-8")
    assert with_charset.status_code == 200, with_charset.text
    assert len(notifications_for(ingress.settings, lead_id)) == 1


@pytest.mark.parametrize(
    "kind",
    ["not json", "truncated json", "not a notification", "unknown action", "big", "binary"],
)
async def test_an_authentic_unreadable_notification_is_400_and_kept_on_the_error_topic(
    ingress: Ingress, kind: str
) -> None:
    marker = str(uuid.uuid4())
    body = {
        "not json": f"<xml>{marker}</xml>".encode(),
        "truncated json": notification(marker)[:-20],
        "not a notification": json.dumps({"hello": marker}).encode(),
        "unknown action": notification(marker, action="UPDATED"),
        # Beyond the first few KiB too: the whole payload is kept, not a prefix.
        "big": b'{"note": "' + "é".encode() * 10_000 + b'", ' + marker.encode(),
        # Not UTF-8, and a NUL (which PostgreSQL's jsonb refuses): kept exactly all the same.
        "binary": b"\xff\xfe\x00{" + marker.encode() + b"\x00\xc3",
    }[kind]
    response = await ingress.push(body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_notification"
    (event,) = errors_about(ingress.settings, marker)
    assert event.code == "invalid_notification"
    reason = response.json()["message"]
    assert event.message == f"an authentic notification could not be read: {reason}"
    assert event.raw_ref is not None
    assert marker in event.raw_ref["bytes"]
    kept = (
        base64.b64decode(event.raw_ref["base64"])
        if "base64" in event.raw_ref
        else event.raw_ref["bytes"].encode()
    )
    assert kept == body
    assert "\x00" not in event.raw_ref["bytes"]
    assert notifications_for(ingress.settings, marker) == []


async def test_an_unauthentic_unreadable_body_is_401_and_not_recorded(ingress: Ingress) -> None:
    marker = str(uuid.uuid4())
    response = await ingress.client.post(
        WEBHOOK,
        content=f"garbage {marker}".encode(),
        headers={"Content-Type": "application/json", "X-LI-Signature": "0" * 64},
    )
    assert_refused(response, 401, "bad_signature", "X-LI-Signature does not match")
    assert errors_about(ingress.settings, marker) == []


async def until_accepted(ingress: Ingress, lead_id: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while (status := (await ingress.push(notification(lead_id))).status_code) != 200:
        assert status == 503
        assert time.monotonic() < deadline, "the receiver never accepted a notification"
        await asyncio.sleep(0.2)


@pytest.fixture
def kafka_proxy(settings: Settings) -> Iterator[KafkaProxy]:
    proxy = KafkaProxy.for_bootstrap(settings.kafka_bootstrap_servers)
    with proxy:
        yield proxy


async def test_kafka_down_is_503_publishes_nothing_and_accepts_again_once_back(
    settings: Settings, kafka_proxy: KafkaProxy
) -> None:
    assert settings.ingress_ack_timeout_s == 2.0  # the default bound
    through_proxy = settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{kafka_proxy.port}"}
    )
    async with serving(through_proxy) as ingress:
        before = new_lead_id()
        await until_accepted(ingress, before)  # the producer's first connection, via the proxy

        unavailable = await ingress.metric("leadsync_ingress_requests_total", outcome="unavailable")
        assert kafka_proxy.outage() > 0, "the receiver's Kafka connections go through the proxy"
        refused = new_lead_id()
        started = time.monotonic()
        response = await ingress.push(notification(refused))
        assert_refused(response, 503, "unavailable", "not stored; Kafka is unavailable")
        assert time.monotonic() - started <= settings.ingress_ack_timeout_s + 0.5
        counted = await ingress.metric("leadsync_ingress_requests_total", outcome="unavailable")
        assert counted - unavailable == 1

        # Notifications keep coming while Kafka is down, and on after it is back: each one
        # answered 503 must be absent from the topic (it counts as not received), each one
        # answered 200 present. Kafka comes back the moment the first of them is refused.
        async def push_at(delay_s: float, lead_id: str) -> tuple[str, int]:
            await asyncio.sleep(delay_s)
            return lead_id, (await ingress.push(notification(lead_id))).status_code

        pushes = [asyncio.create_task(push_at(i * 0.05, new_lead_id())) for i in range(80)]
        answers = []
        for finished in asyncio.as_completed(pushes):
            answers.append(await finished)
            if len(answers) == 1:
                kafka_proxy.recover()
        statuses = [status for _, status in answers]
        assert set(statuses) <= {200, 503}
        assert statuses.count(503) >= 1
        # Accepted again once Kafka is back, without a restart of the receiver.
        assert statuses.count(200) >= 20, statuses
        last = new_lead_id()
        assert (await ingress.push(notification(last))).status_code == 200

    accepted = {before, last} | {lead_id for lead_id, status in answers if status == 200}
    everything = [before, refused, last, *(lead_id for lead_id, _ in answers)]
    found = [k.decode() for k, _ in notifications_for(settings, *everything) if k]
    assert sorted(found) == sorted(accepted)  # each accepted one once, no refused one
