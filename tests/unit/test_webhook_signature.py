"""The webhook's cryptography against HMACs computed here, independently of the code under test:
the challenge answer and the three readings of ``X-LI-Signature``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest

from ingest.webhook.app import create_app, received_notification
from ingest.webhook.signature import Variant, challenge_response, verify
from leadsync.kafka.async_publisher import AsyncPublisher, Headers
from leadsync.settings import Settings, load_settings
from schemas.notifications import ReceivedNotification

SECRET = "s3cr3t-of-the-app"
BODY = json.dumps(
    {
        "type": "LEAD_ACTION",
        "leadGenFormResponse": "urn:li:leadGenFormResponse:249592fc-d272-44ba-a7db-c2bdce579507-6",
        "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"},
        "leadType": "SPONSORED",
        "leadAction": "CREATED",
        "occurredAt": 1689894600000,
    },
    separators=(",", ":"),
).encode()


def _hmac_hex(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


READINGS = {
    Variant.PREFIXED_BODY: _hmac_hex(b"hmacsha256=" + BODY),  # (a)
    Variant.PREFIXED_HEADER: "hmacsha256=" + _hmac_hex(BODY),  # (b)
    Variant.PLAIN: _hmac_hex(BODY),  # (c)
}


def test_the_challenge_answer_is_the_lowercase_hex_hmac_of_the_code() -> None:
    code = "f6b7c2f4-3a4e-4d25-9c1b-0b2f3e6a7d11"
    answer = challenge_response(SECRET, code)
    assert answer == _hmac_hex(code.encode())
    assert answer == answer.lower()
    assert len(answer) == 64


@pytest.mark.parametrize(("variant", "header"), list(READINGS.items()), ids=["a", "b", "c"])
def test_each_reading_is_accepted_and_named(variant: Variant, header: str) -> None:
    assert verify(SECRET, BODY, header) is variant


@pytest.mark.parametrize(("variant", "header"), list(READINGS.items()), ids=["a", "b", "c"])
def test_upper_case_and_surrounding_whitespace_still_match(variant: Variant, header: str) -> None:
    assert verify(SECRET, BODY, header.upper()) is variant
    assert verify(SECRET, BODY, f"  {header}\t") is variant


@pytest.mark.parametrize(
    "header",
    [
        _hmac_hex(BODY, secret="another-secret"),  # signed with another app's secret
        _hmac_hex(BODY + b" "),  # over other bytes
        _hmac_hex(json.dumps(json.loads(BODY)).encode()),  # over re-serialised JSON
        "hmacsha256=" + _hmac_hex(b"hmacsha256=" + BODY),  # (a) and (b) combined
        READINGS[Variant.PLAIN][:-1],  # truncated
        READINGS[Variant.PLAIN] + "0",  # too long
        "sha256=" + READINGS[Variant.PLAIN],  # GitHub's prefix, not LinkedIn's
        "h m a c",
        " ",
    ],
)
def test_a_wrong_signature_matches_no_reading(header: str) -> None:
    assert verify(SECRET, BODY, header) is None


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_signature_matches_no_reading(header: str | None) -> None:
    assert verify(SECRET, BODY, header) is None


def test_the_signature_covers_the_raw_bytes_not_their_json_meaning() -> None:
    spaced = json.dumps(json.loads(BODY), indent=2).encode()
    assert json.loads(spaced) == json.loads(BODY)
    assert verify(SECRET, spaced, READINGS[Variant.PLAIN]) is None
    assert verify(SECRET, spaced, _hmac_hex(spaced)) is Variant.PLAIN


class _NoKafka(AsyncPublisher):
    """The app's challenge never publishes; this stands in for the producer."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, bytes]] = []

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: Headers | None = None
    ) -> None:
        self.published.append((topic, key, value))

    def close(self, timeout_s: float = 10.0) -> None:
        pass


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    import os

    for name in list(os.environ):
        if name.startswith("LEADSYNC_"):
            monkeypatch.delenv(name)
    return load_settings(demo=True)


async def test_the_receiver_answers_the_challenge_with_json(settings: Settings) -> None:
    secret = settings.linkedin_client_secret.get_secret_value()
    publisher = _NoKafka()
    app = create_app(settings, publisher=publisher)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
        code = "0c7a3a9e-51b4-4b8e-8d2a-7a4f0c1f9e22"
        response = await client.get("/linkedin/webhook", params={"challengeCode": code})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {
            "challengeCode": code,
            "challengeResponse": _hmac_hex(code.encode(), secret),
        }
        for params in ({}, {"challengeCode": ""}, {"challengeCode": "  "}):
            rejected = await client.get("/linkedin/webhook", params=params)
            assert rejected.status_code == 400, params
            assert rejected.json() == {
                "error": "missing_challenge",
                "message": "challengeCode is required",
            }
    assert publisher.published == []


def test_the_received_envelope_is_exactly_the_models_json() -> None:
    at = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    text = BODY.decode() + ' "é\\u2028"'  # non-ASCII and escapes are kept as they are
    expected = ReceivedNotification(received_at=at, signature_variant="b", body=text)
    assert received_notification(at, "b", text) == expected.model_dump_json().encode()
