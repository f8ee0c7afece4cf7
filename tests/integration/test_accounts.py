"""Accounts from the operator's command line: made with a token shown once and kept only as
a hash, listed, disabled (its token then stops working); and the commands acting on an
account's data, which take the account (``--account`` or LEADSYNC_ACCOUNT) and refuse to
run without a known one."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

from psycopg import AsyncConnection

from harness.operator import ensure_account
from harness.processes import leadsync
from leadsync.api_tokens import PREFIX, token_hash
from leadsync.kafka.topics import ensure_topics
from leadsync.settings import DEMO_ACCOUNT_TOKEN, Settings
from schemas.envelopes import RawLead
from sinks.accounts import account_for_token
from tests.integration.topics import read_topic

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
    assert re.search(rf"^\s*{found.id}\s+{name}\s+active\s+1\s+\d{{4}}-", listing, re.M), listing
    assert token not in listing


async def test_another_token_for_an_account_works_beside_the_first(
    settings: Settings, db: Conn
) -> None:
    name = _name()
    first = _created(settings, name)
    out = leadsync(settings, "accounts", "token", name)
    assert f"account {name}: a new API token (2 working in all)" in out
    (second,) = re.findall(r"API token \(shown once, keep it now\): (\S+)\n", out)
    assert second != first
    for token in (first, second):
        found = await account_for_token(db, token_hash(token))
        assert found is not None
        assert found.name == name

    err = leadsync(settings, "accounts", "token", "no-such-account", returncode=1, stderr=True)
    assert "there is no account named 'no-such-account'" in err


async def test_a_disabled_account_keeps_its_row_its_token_stops_working_until_enabled(
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
    assert re.search(rf"^\s*\d+\s+{name}\s+disabled\s+1\s", listing, re.MULTILINE), listing
    # Disabling twice is harmless.
    assert leadsync(settings, "accounts", "disable", name) == f"account {name} disabled\n"

    # Enabled again: the same token works again; enabling twice is harmless too.
    assert leadsync(settings, "accounts", "enable", name) == f"account {name} enabled\n"
    found = await account_for_token(db, token_hash(token))
    assert found is not None
    assert found.name == name
    cur = await db.execute("SELECT status, disabled_at FROM accounts WHERE name = %s", (name,))
    assert await cur.fetchone() == ("active", None)
    assert leadsync(settings, "accounts", "enable", name) == f"account {name} enabled\n"


def test_refusals_say_why_and_change_nothing(settings: Settings) -> None:
    name = _name()
    _created(settings, name)
    for args, reason in [
        (("create", name), f"an account named '{name}' exists already"),
        (("create", "Acme Corp"), "account name 'Acme Corp' is not allowed"),
        (("disable", "no-such-account"), "there is no account named 'no-such-account'"),
        (("enable", "no-such-account"), "there is no account named 'no-such-account'"),
    ]:
        err = leadsync(settings, "accounts", *args, returncode=1, stderr=True)
        assert reason in err, err
    listing = leadsync(settings, "accounts", "list")
    assert len(re.findall(rf"^\s*\d+\s+{name}\s", listing, re.MULTILINE)) == 1


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
    assert len(re.findall(rf"^\s*\d+\s+{name}\s+active\s+1\s", listing, re.MULTILINE)) == 1
    # Outside demo mode the public token is refused.
    real = settings.model_copy(update={"demo": False})
    refused = leadsync(
        real, "accounts", "create", _name(), "--demo-token", returncode=2, stderr=True
    )
    assert "--demo-token is for demo mode only" in refused


LEAD_FILE = Path(__file__).parent.parent / "data" / "lead_example.json"
UNKNOWN_FORM = 7_100_001  # no account has it; a command run for none must not make it
NO_ACCOUNT = (
    "this command acts on an account's data: name the account with --account NAME"
    " (or LEADSYNC_ACCOUNT)"
)
# Every command acting on an account's data, as an operator would type it.
ACCOUNT_COMMANDS: list[tuple[str, ...]] = [
    ("forms", "discover"),
    ("forms", "list"),
    ("forms", "import", str(UNKNOWN_FORM), "on"),
    ("sync", str(UNKNOWN_FORM), "--no-wait"),
    ("subscribe",),
    ("leads", "publish", str(LEAD_FILE)),
    ("linkedin", "connect", "--access-token", "not-a-token", "--no-discover"),
]


def _refusal(args: tuple[str, ...], reason: str) -> str:
    """What a refused command says: the connect command says what did not happen first."""
    return f"not connected: {reason}" if args[0] == "linkedin" else reason


async def test_a_command_on_account_data_without_an_account_is_refused_and_does_nothing(
    settings: Settings, db: Conn
) -> None:
    nobody = settings.model_copy(update={"account": None})  # no LEADSYNC_ACCOUNT, no --account
    for args in ACCOUNT_COMMANDS:
        err = leadsync(nobody, *args, returncode=2, stderr=True)
        assert _refusal(args, NO_ACCOUNT) in err, (args, err)
    cur = await db.execute("SELECT count(*) FROM forms WHERE id = %s", (UNKNOWN_FORM,))
    assert await cur.fetchone() == (0,)
    # The operator's commands and the accounts' take none.
    assert "no alarm" in leadsync(nobody, "alarm", "status")
    assert "account" in leadsync(nobody, "accounts", "list")


async def test_a_command_for_an_unknown_account_is_refused_and_does_nothing(
    settings: Settings, db: Conn
) -> None:
    reason = "there is no account named 'no-such-account'"
    for args in ACCOUNT_COMMANDS:
        # After the command, before it, and from the environment.
        for spelled in (
            leadsync(settings, *args, "--account", "no-such-account", returncode=2, stderr=True),
            leadsync(settings, "--account", "no-such-account", *args, returncode=2, stderr=True),
            leadsync(
                settings.model_copy(update={"account": "no-such-account"}),
                *args,
                returncode=2,
                stderr=True,
            ),
        ):
            assert _refusal(args, reason) in spelled, (args, spelled)
    cur = await db.execute("SELECT count(*) FROM forms WHERE id = %s", (UNKNOWN_FORM,))
    assert await cur.fetchone() == (0,)


def _listed(settings: Settings, *args: str) -> set[int]:
    """The form ids ``leadsync forms list`` prints."""
    out = leadsync(settings, *args)
    return {int(line.split()[0]) for line in out.splitlines()[1:] if line.strip()}


async def test_the_account_named_is_the_only_one_whose_forms_a_command_reads_and_writes(
    settings: Settings, db: Conn
) -> None:
    first, second = _name(), _name()
    _created(settings, first)
    _created(settings, second)
    forms = (7_100_002, 7_100_003, 7_100_004)
    # The account given before the command, after it, and from the environment.
    leadsync(settings, "--account", first, "forms", "import", str(forms[0]), "on")
    leadsync(settings, "forms", "import", str(forms[1]), "on", "--account", second)
    as_second = settings.model_copy(update={"account": second})
    assert leadsync(as_second, "forms", "import", str(forms[2]), "off") == (
        f"form {forms[2]}: import off\n"
    )

    cur = await db.execute(
        "SELECT a.name, f.id, f.import_enabled FROM forms f JOIN accounts a ON a.id = f.account_id"
        " WHERE f.id = ANY(%s) ORDER BY f.id",
        (list(forms),),
    )
    assert await cur.fetchall() == [
        (first, forms[0], True),
        (second, forms[1], True),
        (second, forms[2], False),
    ]
    assert _listed(settings, "forms", "list", "--account", first) == {forms[0]}
    assert _listed(as_second, "forms", "list") == {forms[1], forms[2]}
    # The command's own --account wins over the one before it, which wins over the
    # environment.
    assert _listed(as_second, "--account", second, "forms", "list", "--account", first) == {
        forms[0]
    }
    assert _listed(as_second, "--account", first, "forms", "list") == {forms[0]}
    # The settings' own account ("acme") sees none of them.
    assert not _listed(settings, "forms", "list") & set(forms)


def test_leads_published_by_hand_are_the_accounts_and_another_accounts_are_refused(
    settings: Settings, tmp_path: Path
) -> None:
    name = _name()
    _created(settings, name)
    account_id = ensure_account(settings, name)
    other_id = ensure_account(settings, _name())
    # Topics of this test alone, read back as a consumer would.
    own = settings.model_copy(
        update={"topic_prefix": f"{settings.topic_prefix}-publish-{uuid.uuid4().hex[:6]}"}
    )
    ensure_topics(own)
    bare = json.loads(LEAD_FILE.read_text())
    lead_id = bare["id"]
    in_envelope = {"lead": {**bare, "id": f"{lead_id}-e"}, "origin": "manual"}
    both = tmp_path / "leads.json"
    both.write_text(json.dumps([bare, in_envelope]))

    out = leadsync(own, "leads", "publish", str(both), "--account", name)
    assert out == f"published 2 lead(s) of account {name} to {own.topics.leads_raw}\n"
    records = read_topic(own.kafka_bootstrap_servers, own.topics.leads_raw)
    published = {key: RawLead.from_record(value) for key, value in records}
    assert set(published) == {
        f"{account_id}:{lead_id}".encode(),
        f"{account_id}:{lead_id}-e".encode(),
    }
    assert {raw.account_id for raw in published.values()} == {account_id}
    assert {raw.origin for raw in published.values()} == {"manual"}

    # An envelope naming another account is not published under this one, nor at all.
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({**in_envelope, "account_id": other_id}))
    err = leadsync(
        own, "leads", "publish", str(foreign), "--account", name, returncode=2, stderr=True
    )
    assert f"names account {other_id}, not {name} ({account_id}); nothing published" in err
    assert len(read_topic(own.kafka_bootstrap_servers, own.topics.leads_raw)) == 2
