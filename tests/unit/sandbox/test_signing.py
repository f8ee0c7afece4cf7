"""Signatures computed exactly as the reference documents them, for each reading."""

from __future__ import annotations

import hashlib
import hmac

from sandbox.config import SignatureVariant
from sandbox.signing import challenge_response, matching_variant, notification_signature

SECRET = "leadsync-demo-client-secret"
BODY = b'{"type":"LEAD_ACTION","leadAction":"CREATED","occurredAt":1689894600000}'


def _documented(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_challenge_response_is_lowercase_hex_hmac_of_the_code() -> None:
    code = "f1e3a0d2-1c44-4b5e-9a57-1f4b8ad2d6a1"
    answer = challenge_response(SECRET, code)
    assert answer == _documented(code.encode())
    assert answer == answer.lower()
    assert len(answer) == 64


def test_reading_a_hmac_over_prefixed_body() -> None:
    signature = notification_signature(SECRET, BODY, SignatureVariant.PREFIXED_BODY)
    assert signature == _documented(b"hmacsha256=" + BODY)


def test_reading_b_prefix_in_header() -> None:
    signature = notification_signature(SECRET, BODY, SignatureVariant.PREFIXED_HEADER)
    assert signature == "hmacsha256=" + _documented(BODY)


def test_reading_c_bare_hmac_of_body() -> None:
    signature = notification_signature(SECRET, BODY, SignatureVariant.BARE)
    assert signature == _documented(BODY)


def test_matching_variant_recognises_each_reading_and_rejects_tampering() -> None:
    for variant in SignatureVariant:
        header = notification_signature(SECRET, BODY, variant)
        assert matching_variant(SECRET, BODY, header) is variant
        assert matching_variant(SECRET, BODY + b" ", header) is None
        assert matching_variant("another-secret", BODY, header) is None
