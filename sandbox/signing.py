"""HMAC-SHA256 as LinkedIn uses it: the webhook challenge and the notification signature.

Pure functions, keyed by the app's client secret. The notification signature has three
readings (reference, section 4); the sandbox signs with the configured one, and
:func:`matching_variant` tells which reading a header satisfies, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

from sandbox.config import SignatureVariant

PREFIX = "hmacsha256="


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def challenge_response(secret: str, challenge_code: str) -> str:
    """The lowercase hex HMAC a webhook must answer to ``GET <url>?challengeCode=...``."""
    return _hex_hmac(secret, challenge_code.encode())


def notification_signature(secret: str, body: bytes, variant: SignatureVariant) -> str:
    """The ``X-LI-Signature`` header for ``body`` (the exact bytes POSTed)."""
    if variant is SignatureVariant.PREFIXED_BODY:
        return _hex_hmac(secret, PREFIX.encode() + body)
    if variant is SignatureVariant.PREFIXED_HEADER:
        return PREFIX + _hex_hmac(secret, body)
    return _hex_hmac(secret, body)


def matching_variant(secret: str, body: bytes, header: str) -> SignatureVariant | None:
    """The reading under which ``header`` signs ``body``, or None if none does."""
    found = None
    for variant in SignatureVariant:
        expected = notification_signature(secret, body, variant)
        # Compare every variant so the time taken does not depend on which one matched.
        if hmac.compare_digest(expected.encode(), header.encode()) and found is None:
            found = variant
    return found
