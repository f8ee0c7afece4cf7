"""CSRF tokens as the console's pages carry them: masked afresh each time one is written.

Why: the admin process compresses its answers (gzip). A secret that stands unchanged in every
compressed page, next to text an attacker can place in the same page (a filter's value shown
back), can be recovered a character at a time from the sizes of the answers (BREACH). With a
fresh random mask each copy of the token differs, and still proves the same session's token.

A masked token is ``base64url(pad || pad XOR token)``. The token itself is also accepted as it
is: a client holding it (the session's own, e.g. a script) has nothing to mask.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets


def mask(token: str) -> str:
    """``token`` under a fresh one-time pad, for one place in one page."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    masked = bytes(p ^ t for p, t in zip(pad, raw, strict=True))
    return base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")


def matches(sent: str, token: str) -> bool:
    """``sent`` (from a form or a header) proves ``token``: masked by :func:`mask`, or plain.
    Compared in constant time; an empty ``token`` matches nothing."""
    expected = token.encode()
    if not expected:
        return False
    candidate = _unmasked(sent, len(expected))
    return hmac.compare_digest(sent.encode() if candidate is None else candidate, expected)


def _unmasked(sent: str, size: int) -> bytes | None:
    """The token inside a masked ``sent``, or None when ``sent`` is not one of that size."""
    try:
        decoded = base64.urlsafe_b64decode(sent + "=" * (-len(sent) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(decoded) != 2 * size:
        return None
    pad, masked = decoded[:size], decoded[size:]
    return bytes(p ^ m for p, m in zip(pad, masked, strict=True))
