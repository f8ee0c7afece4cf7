"""Routing pushes to accounts: two accounts connected to the same ad account (through two
members who both hold a role on it) behind one webhook URL. Each gets every pushed lead,
each once, as contacts of its own; a lead LinkedIn withdraws is erased in both; a disabled
account's leads are recorded as skipped, not imported.

Real broker, database and sandbox; ``leadsync ingress`` and ``leadsync worker`` as
subprocesses. ``acme`` connects the demo member, ``globex`` Priya Raman: both hold a role
on ad account 577211843 (sandbox/members.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.operator import ensure_account
from harness.processes import Ingress, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from sinks.connections import TokenCipher
from tests.e2e.conftest import query
from tests.e2e.test_push import (
    _assert_each_lead_once,
    _create_leads,
    _member_urn,
    _outcome,
    _pushes,
    _settle,
    account_id,
    account_rows,
    connect,
    for_account,
    ingress,
    push_settings,
)

__all__ = ["ingress", "push_settings"]  # fixtures shared with the push tests

SHARED_OWNER = "urn:li:sponsoredAccount:577211843"
SHARED_FORM = 7410233  # the shared ad account's published form


@pytest.fixture(scope="module")
def acme(push_settings: Settings) -> Settings:
    assert push_settings.account == "acme"
    return push_settings


@pytest.fixture(scope="module")
def globex(push_settings: Settings) -> Settings:
    ensure_account(push_settings, "globex")
    return for_account(push_settings, "globex")


@pytest.fixture(scope="module")
def routed(acme: Settings, globex: Settings, sandbox: Sandbox, ingress: Ingress) -> None:
    """Both accounts connected (each through its own member) with Import on for the shared
    form, and its owner subscribed to the one receiver."""
    connect(acme, sandbox)
    connect(globex, sandbox, member=_member_urn(sandbox, "Priya"))
    for settings in (acme, globex):
        leadsync(settings, "forms", "import", str(SHARED_FORM), "on")
        leadsync(settings, "subscribe")
    # Both accounts reach the owner, each through its own connection.
    reaching = query(
        acme,
        "SELECT a.name, c.member_urn FROM ad_accounts d"
        " JOIN linkedin_connections c ON c.account_id = d.account_id AND c.id = d.connection_id"
        " JOIN accounts a ON a.id = d.account_id WHERE d.urn = %s ORDER BY a.name",
        SHARED_OWNER,
    )
    members = sandbox.state.catalog.members
    assert [(name, members[urn].first_name) for name, urn in reaching] == [
        ("acme", "Demo"),
        ("globex", "Priya"),
    ]
    # And each connection may read it (what routing goes by).
    reading = query(
        acme,
        "SELECT a.name FROM connection_owners o JOIN accounts a ON a.id = o.account_id"
        " WHERE o.owner_urn = %s ORDER BY a.name",
        SHARED_OWNER,
    )
    assert reading == [("acme",), ("globex",)]
    # One subscription of the app for the owner: LinkedIn pushes each lead once, and
    # leadsync hands it to both accounts.
    hooks = sandbox.control.get("/webhooks").json()["subscriptions"]
    assert [h["owner"] for h in hooks if SHARED_OWNER in h["owner"].values()] == [
        {"sponsoredAccount": SHARED_OWNER}
    ]


def _seen(settings: Settings) -> set[str]:
    """The shared form's leads the account imported or logged so far (the module's tests
    share the form: each checks the leads it adds)."""
    imported, errors = _outcome(settings, SHARED_FORM)
    return imported | set(errors)


@pytest.fixture
def no_invalid_answers(sandbox: Sandbox) -> Iterator[None]:
    """Every generated lead valid, so that every lead must reach every account."""
    sandbox.control.patch("/config", json={"generation": {"invalid_answer_rate": 0}})
    try:
        yield
    finally:
        sandbox.control.patch("/config", json={"generation": {"invalid_answer_rate": 0.03}})


def test_two_accounts_connected_to_one_ad_account_each_get_every_pushed_lead_once(
    acme: Settings, globex: Settings, sandbox: Sandbox, routed: None, worker: Worker
) -> None:
    # Redelivered notifications too: each account still imports each lead once.
    sandbox.control.patch("/config", json={"push_faults": {"duplicate_rate": 0.3}})
    try:
        created = _create_leads(sandbox, SHARED_FORM, 300, rate=300)
    finally:
        sandbox.control.patch("/config", json={"push_faults": {"duplicate_rate": 0}})
    pushes = _pushes(sandbox, created)
    assert {p["lead_id"] for p in pushes if p["status"] == 200} == created
    assert len(pushes) > len(created)  # some pushed twice
    _settle(worker)

    imported = {}
    for settings in (acme, globex):
        imported[settings.account] = _assert_each_lead_once(settings, SHARED_FORM, created)
    # The same leads in both (each one's invalid answers are the same lead's), none lost.
    assert imported["acme"] == imported["globex"]
    assert _outcome(acme, SHARED_FORM)[1] == _outcome(globex, SHARED_FORM)[1]
    # Each account's ledger row of a lead points at a contact of its own: two contacts for
    # one person, one per account.
    ledgers = query(
        acme,
        "SELECT l.account_id, count(*), count(DISTINCT l.contact_id),"
        "       count(*) FILTER (WHERE c.account_id = l.account_id)"
        " FROM imported_leads l JOIN contacts c ON c.id = l.contact_id"
        " WHERE l.lead_id = ANY(%s) GROUP BY l.account_id ORDER BY l.account_id",
        sorted(created),
    )
    people = len(imported["acme"])
    assert [(row[0], row[1], row[3]) for row in ledgers] == [
        (account_id(acme), people, people),
        (account_id(globex), people, people),
    ]
    contacts = {
        settings.account: row[2] for settings, row in zip((acme, globex), ledgers, strict=True)
    }
    assert contacts["acme"] == contacts["globex"]  # the same people answered, in each
    shared = query(
        acme,
        "SELECT count(*) FROM imported_leads a JOIN imported_leads g"
        " ON g.lead_id = a.lead_id AND g.contact_id = a.contact_id"
        " WHERE a.account_id = %s AND g.account_id = %s",
        account_id(acme),
        account_id(globex),
    )
    assert shared == [(0,)], "two accounts share a contact row"
    # Each account's counters count the contacts it created (the form's first leads in
    # either account).
    for settings in (acme, globex):
        counted = account_rows(
            settings,
            "SELECT imported FROM form_counters WHERE account_id = %s AND form_id = %s",
            SHARED_FORM,
        )
        assert counted == [(contacts[settings.account],)], settings.account


def test_a_withdrawn_lead_is_erased_in_every_account_that_imported_it(
    acme: Settings,
    globex: Settings,
    sandbox: Sandbox,
    routed: None,
    worker: Worker,
    no_invalid_answers: None,
) -> None:
    before = {settings.account: _seen(settings) for settings in (acme, globex)}
    created = _create_leads(sandbox, SHARED_FORM, 4, rate=50)
    _settle(worker)
    for settings in (acme, globex):
        expected = created | before[settings.account]
        assert created <= _assert_each_lead_once(settings, SHARED_FORM, expected)

    withdrawn = sorted(created)[:2]
    for lead_id in withdrawn:
        sandbox.control.delete(f"/leads/{lead_id}").raise_for_status()
    sandbox.control.post("/pushes/flush").raise_for_status()
    deleted = [p for p in _pushes(sandbox, set(withdrawn)) if p["action"] == "DELETED"]
    assert [p["status"] for p in deleted] == [200, 200]  # once each, for both accounts
    _settle(worker)

    for settings in (acme, globex):
        ledger = account_rows(
            settings,
            "SELECT lead_id, erased_at IS NOT NULL FROM imported_leads"
            " WHERE account_id = %s AND lead_id = ANY(%s)",
            sorted(created),
        )
        assert {lead_id for lead_id, erased in ledger if erased} == set(withdrawn)
        remaining = account_rows(
            settings,
            "SELECT lead_id FROM form_submissions WHERE account_id = %s AND lead_id = ANY(%s)",
            sorted(created),
        )
        assert {r[0] for r in remaining} == created - set(withdrawn), settings.account


def test_an_account_whose_connection_linkedin_refuses_gets_the_error_the_other_the_leads(
    acme: Settings,
    globex: Settings,
    sandbox: Sandbox,
    routed: None,
    worker: Worker,
    no_invalid_answers: None,
) -> None:
    # The demo member revokes acme's access on LinkedIn (globex's stays). acme's connection,
    # the older, is tried first: refused, it is marked, and globex's fetches the leads.
    ((sealed,),) = account_rows(
        acme, "SELECT access_token FROM linkedin_connections WHERE account_id = %s"
    )
    access = TokenCipher(acme).open(sealed)
    assert access is not None
    revoked = sandbox.control.post("/tokens/revoke", json={"token": access.get_secret_value()})
    assert revoked.json() == {"revoked": 1}
    before = {settings.account: _seen(settings) for settings in (acme, globex)}
    created = _create_leads(sandbox, SHARED_FORM, 3, rate=50)
    _settle(worker)

    assert created <= _assert_each_lead_once(globex, SHARED_FORM, created | before["globex"])
    imported, errors = _outcome(acme, SHARED_FORM)
    assert not imported & created
    assert {lead_id: errors.get(lead_id) for lead_id in created} == dict.fromkeys(
        created, "connection_revoked"
    )
    statuses = query(
        acme,
        "SELECT a.name, c.status FROM linkedin_connections c"
        " JOIN accounts a ON a.id = c.account_id ORDER BY a.name",
    )
    assert statuses == [("acme", "revoked"), ("globex", "active")]

    # Connected again, acme gets the next leads (the tests after this one need it).
    connect(acme, sandbox)
    again = _create_leads(sandbox, SHARED_FORM, 2, rate=50)
    _settle(worker)
    imported, _ = _outcome(acme, SHARED_FORM)
    assert again <= imported


def test_a_disabled_account_s_pushed_leads_are_recorded_as_skipped(
    acme: Settings,
    globex: Settings,
    sandbox: Sandbox,
    routed: None,
    worker: Worker,
    no_invalid_answers: None,
) -> None:
    # Last in this module: globex stays disabled.
    assert "disabled" in leadsync(acme, "accounts", "disable", "globex")
    created = _create_leads(sandbox, SHARED_FORM, 5, rate=50)
    _settle(worker)

    # acme imports them as ever; globex keeps a trace of each, and nothing else.
    imported, errors = _outcome(acme, SHARED_FORM)
    assert created <= imported
    assert not created & set(errors)
    skipped = account_rows(
        globex,
        "SELECT lead_id, reason, origin FROM skipped_leads"
        " WHERE account_id = %s AND lead_id = ANY(%s)",
        sorted(created),
    )
    assert {lead_id for lead_id, _, _ in skipped} == created
    assert {(reason, origin) for _, reason, origin in skipped} == {("account_disabled", "push")}
    for table in ("imported_leads", "form_submissions", "error_log"):
        rows = account_rows(
            globex,
            f"SELECT lead_id FROM {table} WHERE account_id = %s AND lead_id = ANY(%s)",
            sorted(created),
        )
        assert rows == [], (table, rows)
