"""LinkedIn's webhook cryptography: the validation challenge and ``X-LI-Signature``.

The documentation says the signature is an HMAC-SHA256 keyed by the client secret, "on the
POST body prefixed by hmacsha256=", which integrators read three ways (reference page,
section 4). All three are accepted, always over the raw bytes, in constant time; the caller
records which one matched.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from enum import StrEnum


class Variant(StrEnum):
    PREFIXED_BODY = "a"  # hex(HMAC(secret, "hmacsha256=" + body))
    PREFIXED_HEADER = "b"  # "hmacsha256=" + hex(HMAC(secret, body))
    PLAIN = "c"  # hex(HMAC(secret, body))


_PREFIX = b"hmacsha256="


def _hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def challenge_response(secret: str, challenge_code: str) -> str:
    return _hex(secret.encode(), challenge_code.encode())


@functools.lru_cache(maxsize=4)
def _keyed(secret: str) -> tuple[hmac.HMAC, hmac.HMAC]:
    """HMACs keyed by the secret, one of them fed the prefix already: copies of them skip
    the key's set-up, a quarter of a notification's signature check."""
    plain = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    prefixed = plain.copy()
    prefixed.update(_PREFIX)
    return plain, prefixed


def _hex_of(keyed: hmac.HMAC, body: bytes) -> str:
    mac = keyed.copy()
    mac.update(body)
    return mac.hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> Variant | None:
    """The reading under which ``header`` signs ``body``, or None when none does."""
    if not header:
        return None
    keyed_plain, keyed_prefixed = _keyed(secret)
    given = header.strip().lower().encode()
    plain = _hex_of(keyed_plain, body)
    candidates = (
        (Variant.PREFIXED_BODY, _hex_of(keyed_prefixed, body)),
        (Variant.PREFIXED_HEADER, "hmacsha256=" + plain),
        (Variant.PLAIN, plain),
    )
    matched = None
    for variant, expected in candidates:
        # Every candidate is compared, so the time taken does not depend on which matched.
        if hmac.compare_digest(given, expected.encode()) and matched is None:
            matched = variant
    return matched
