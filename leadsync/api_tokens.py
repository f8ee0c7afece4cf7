"""API tokens of accounts: made from the system's random source, shown once, kept only as a
SHA-256 hash.

A token carries 256 random bits, so a plain SHA-256 is enough to store it (a slow password
hash protects guessable secrets; nobody guesses 256 bits). A token is looked up by its hash,
so the secret itself is never compared: what a timing could reveal is a prefix of a hash,
which helps nobody find a token.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "lsk_"  # says what it is in a leaked log or a secret scanner's report


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
