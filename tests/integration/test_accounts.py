"""Accounts from the operator's command line: made with a token shown once and kept only as
a hash, listed, disabled (its token then stops working)."""

from __future__ import annotations

import hashlib
import re
import uuid

from psycopg import AsyncConnection

from harness.processes import leadsync
from leadsync.api_tokens import PREFIX, token_hash
from leadsync.settings import DEMO_ACCOUNT_TOKEN, Settings
from sinks.accounts import account_for_token

Conn = AsyncConnection[tuple[object, ...]]


def _name() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


def _created(settings: Settings, name: str) -> str:
    """``leadsync accounts create NAME``; the token it printed."""
    out = leadsync(settings, "accounts", "create", name)
    assert re.match(rf"account {name} created \(id \d+\)\n", out), out
    (token,) = re.findall(r"API token \(shown once, keep it now\): (\S+)\n", out)
    return str(token)


async def test_an_account_is_made_with_one_token_kept_only_as_its_hash(
    settings: Settings, db: Conn
) -> None:
    name = _name()
    token = _created(settings, name)
    assert token.startswith(PREFIX)
    assert len(token) >= len(PREFIX) + 43

    cur = await db.execute(
        "SELECT a.status, t.token_sha256 FROM accounts a"
        " JOIN account_tokens t ON t.account_id = a.id WHERE a.name = %s",
        (name,),
    )
    assert await cur.fetchall() == [("active", hashlib.sha256(token.encode()).digest())]
    # Nowhere in the database as text.
    cur = await db.execute(
        "SELECT count(*) FROM account_tokens t JOIN accounts a ON a.id = t.account_id"
        " WHERE a.name = %s AND position(convert_to(%s, 'UTF8') in t.token_sha256) > 0",
        (name, token),
    )
    assert await cur.fetchone() == (0,)

    found = await account_for_token(db, token_hash(token))
    assert found is not None
    assert found.name == name
    assert await account_for_token(db, token_hash(token + "x")) is None

    listing = leadsync(settings, "accounts", "list")
    assert re.search(rf"^{name}\s+active\s+1\s+\d{{4}}-", listing, re.MULTILINE), listing
    assert token not in listing


async def test_a_disabled_account_keeps_its_row_and_its_token_stops_working(
    settings: Settings, db: Conn
) -> None:
    name = _name()
    token = _created(settings, name)
    assert leadsync(settings, "accounts", "disable", name) == f"account {name} disabled\n"
    assert await account_for_token(db, token_hash(token)) is None
    cur = await db.execute(
        "SELECT status, disabled_at IS NOT NULL FROM accounts WHERE name = %s", (name,)
    )
    assert await cur.fetchone() == ("disabled", True)
    listing = leadsync(settings, "accounts", "list")
    assert re.search(rf"^{name}\s+disabled\s+1\s", listing, re.MULTILINE), listing
    # Disabling twice is harmless.
    assert leadsync(settings, "accounts", "disable", name) == f"account {name} disabled\n"


def test_refusals_say_why_and_change_nothing(settings: Settings) -> None:
    name = _name()
    _created(settings, name)
    for args, reason in [
        (("create", name), f"an account named '{name}' exists already"),
        (("create", "Acme Corp"), "account name 'Acme Corp' is not allowed"),
        (("disable", "no-such-account"), "there is no account named 'no-such-account'"),
    ]:
        err = leadsync(settings, "accounts", *args, returncode=1, stderr=True)
        assert reason in err, err
    listing = leadsync(settings, "accounts", "list")
    assert len(re.findall(rf"^{name}\s", listing, re.MULTILINE)) == 1


def test_the_demo_account_is_made_once_with_the_public_demo_token(settings: Settings) -> None:
    demo = settings.model_copy(update={"demo": True})  # as `make run` sets it
    name = _name()
    first = leadsync(demo, "accounts", "create", name, "--demo-token")
    assert re.match(rf"account {name} created \(id \d+\)\n", first), first
    assert f"API token (the public demo one): {DEMO_ACCOUNT_TOKEN}\n" in first
    # `make run` again: the same account stands, nothing new is made.
    again = leadsync(demo, "accounts", "create", name, "--demo-token")
    assert re.match(rf"account {name} exists \(id \d+\)\n", again), again
    assert again.split("(id")[1] == first.split("(id")[1]
    listing = leadsync(demo, "accounts", "list")
    assert len(re.findall(rf"^{name}\s+active\s+1\s", listing, re.MULTILINE)) == 1
    # Outside demo mode the public token is refused.
    real = settings.model_copy(update={"demo": False})
    refused = leadsync(
        real, "accounts", "create", _name(), "--demo-token", returncode=2, stderr=True
    )
    assert "--demo-token is for demo mode only" in refused
