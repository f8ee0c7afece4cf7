"""Console passwords: argon2id hashes (argon2-cffi), the length rule, and a check that
takes as long whether or not the email belongs to anyone.

The hasher's parameters are argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB,
3 passes, 4 lanes, about 0.2 s on this project's machines). When they change, a password is
hashed again with the new ones at its next successful sign-in (:func:`verify`'s
``rehashed``). Hashing runs in a thread: 0.2 s of CPU would otherwise stall every other
request of the admin process. Those threads are few (:data:`ARGON2_THREADS`) and argon2's
own: a burst of sign-ins waits its turn instead of taking 64 MiB each at once, and the event
loop's default executor stays free for everything else.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
# Long enough for any passphrase; a bound keeps a megabyte "password" from costing anything.
MAX_LENGTH = 1024
# The demo user's password (`leadsync users add --demo-password`, demo mode only): public.
DEMO_PASSWORD = "leadsync-demo-password"  # noqa: S105 - public, demo mode only

_T = TypeVar("_T")
_HASHER = PasswordHasher()
# One hash at a time per core, at most four: each takes 64 MiB and a core for 0.2 s, so more
# threads would only add memory, never speed.
ARGON2_THREADS = min(4, os.cpu_count() or 1)
_ARGON2_POOL = ThreadPoolExecutor(max_workers=ARGON2_THREADS, thread_name_prefix="argon2")


@dataclass(frozen=True)
class Verified:
    ok: bool
    rehashed: str | None = None  # a new hash to store: the parameters changed since


def refusal(password: str) -> str | None:
    """Why ``password`` cannot be a console password (English, the catalog's key), or None."""
    if len(password) < MIN_LENGTH:
        return "A password needs at least {min} characters."
    if len(password) > MAX_LENGTH:
        return "A password can have at most {max} characters."
    return None


def hash_password_now(password: str) -> str:
    """The hash to store (synchronous: the command line)."""
    return _HASHER.hash(password)


async def _in_argon2_thread(work: Callable[..., _T], *args: str) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_ARGON2_POOL, work, *args)


async def hash_password(password: str) -> str:
    return await _in_argon2_thread(_HASHER.hash, password)


def _verify(password_hash: str, password: str) -> Verified:
    try:
        _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verified(False)
    if _HASHER.check_needs_rehash(password_hash):
        return Verified(True, _HASHER.hash(password))
    return Verified(True)


def verify_now(password_hash: str, password: str) -> Verified:
    """Synchronous :func:`verify` (the command line)."""
    return _verify(password_hash, password)


async def verify(password_hash: str | None, password: str) -> Verified:
    """Whether ``password`` matches ``password_hash``. With no hash (no such user) a dummy
    hash is checked instead, so the answer takes as long as for a real user: response times
    do not tell which emails have an account."""
    if password_hash is None:
        await _in_argon2_thread(_verify_against_dummy, password)
        return Verified(False)
    return await _in_argon2_thread(_verify, password_hash, password)


def _verify_against_dummy(password: str) -> Verified:
    # In the thread: the dummy hash itself is made there the first time, not in the loop.
    return _verify(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("leadsync: no user has this password")
