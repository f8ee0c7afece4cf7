"""Routing by what each member may read: a lead goes only to the accounts whose own
connection may read its owner, as discovery found it and as LinkedIn answers at fetch time.

Three accounts behind one webhook URL, each connected by its own member (sandbox/members.py):
``acme`` the demo member (ad accounts 1234567, 577211843, 555981424; admin of the
organization), ``beta`` Jonas Weber (a role on 1234567 only; none on the organization that
ad account belongs to), ``gamma`` Priya Raman (577211843 and 568816085; admin of the
organization). The sandbox runs in this process: a member's roles are changed in its
catalog, as a LinkedIn administrator would change them.

Real broker, database and sandbox; ``leadsync ingress`` and ``leadsync worker`` as
subprocesses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from harness.operator import ensure_account
from harness.processes import Ingress, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from tests.e2e.conftest import query
from tests.e2e.test_push import (
    _create_leads,
    _member_urn,
    _outcome,
    _settle,
    account_id,
    account_rows,
    connect,
    for_account,
    ingress,
    push_settings,
)

__all__ = ["ingress", "push_settings"]  # fixtures shared with the push tests

ORGANIZATION = "urn:li:organization:2414183"
ORGANIC_FORM = 7427873  # the organization's company-page form (lead type COMPANY)
JONAS_AD_ACCOUNT = "urn:li:sponsoredAccount:1234567"
SPONSORED_FORM = 7571309  # ad account 1234567's form


@pytest.fixture(scope="module")
def acme(push_settings: Settings) -> Settings:
    assert push_settings.account == "acme"
    return push_settings


@pytest.fixture(scope="module")
def beta(push_settings: Settings) -> Settings:
    ensure_account(push_settings, "beta")
    return for_account(push_settings, "beta")


@pytest.fixture(scope="module")
def gamma(push_settings: Settings) -> Settings:
    ensure_account(push_settings, "gamma")
    return for_account(push_settings, "gamma")


@pytest.fixture(scope="module", autouse=True)
def no_invalid_answers(sandbox: Sandbox) -> Iterator[None]:
    """Every generated lead valid: each lead must reach exactly the accounts it is for."""
    sandbox.control.patch("/config", json={"generation": {"invalid_answer_rate": 0}})
    yield
    sandbox.control.patch("/config", json={"generation": {"invalid_answer_rate": 0.03}})


@pytest.fixture(scope="module")
def set_roles(sandbox: Sandbox) -> Iterator[Callable[..., None]]:
    """Change a member's roles on LinkedIn (the sandbox's catalog); restored at the end."""
    members = sandbox.state.catalog.members
    original = dict(members)

    def change(first_name: str, **roles: object) -> None:
        urn = _member_urn(sandbox, first_name)
        members[urn] = dataclasses.replace(members[urn], **roles)  # type: ignore[arg-type]

    yield change
    members.clear()
    members.update(original)


@pytest.fixture(scope="module")
def connected(
    acme: Settings, beta: Settings, gamma: Settings, sandbox: Sandbox, ingress: Ingress
) -> None:
    """acme, beta and gamma connected in this order (acme's connection is the oldest, tried
    first), Import on where each holds the form, the owners subscribed."""
    connect(acme, sandbox)
    connect(beta, sandbox, member=_member_urn(sandbox, "Jonas"))
    connect(gamma, sandbox, member=_member_urn(sandbox, "Priya"))
    for settings, forms in (
        (acme, (ORGANIC_FORM, SPONSORED_FORM)),
        (beta, (SPONSORED_FORM,)),
        (gamma, (ORGANIC_FORM,)),
    ):
        for form_id in forms:
            leadsync(settings, "forms", "import", str(form_id), "on")
        leadsync(settings, "subscribe")
    hooks = sandbox.control.get("/webhooks").json()["subscriptions"]
    owners = {urn for h in hooks for urn in h["owner"].values()}
    assert {ORGANIZATION, JONAS_AD_ACCOUNT} <= owners


def _owners(settings: Settings) -> set[str]:
    """The owners the settings' account's connection may read (connection_owners)."""
    rows = account_rows(settings, "SELECT owner_urn FROM connection_owners WHERE account_id = %s")
    return {owner for (owner,) in rows}


def _holds_nothing_of(settings: Settings, lead_ids: set[str]) -> None:
    """The account has no row of these leads at all: not routed them."""
    for table in ("imported_leads", "skipped_leads", "form_submissions", "error_log"):
        rows = account_rows(
            settings,
            f"SELECT lead_id FROM {table} WHERE account_id = %s AND lead_id = ANY(%s)",
            sorted(lead_ids),
        )
        assert rows == [], (settings.account, table, rows)


def test_each_connection_reads_the_owners_its_member_has_a_role_on(
    acme: Settings, beta: Settings, gamma: Settings, connected: None
) -> None:
    sponsored = "urn:li:sponsoredAccount:"
    assert _owners(acme) == {
        f"{sponsored}1234567",
        f"{sponsored}577211843",
        f"{sponsored}555981424",
        ORGANIZATION,
    }
    # Jonas holds an ad account of the organization, and no role on the organization.
    assert _owners(beta) == {JONAS_AD_ACCOUNT}
    assert account_rows(
        beta, "SELECT urn, organization_urn FROM ad_accounts WHERE account_id = %s"
    ) == [(JONAS_AD_ACCOUNT, ORGANIZATION)]
    assert _owners(gamma) == {f"{sponsored}577211843", f"{sponsored}568816085", ORGANIZATION}


def test_an_organic_lead_goes_only_to_accounts_whose_member_has_a_role_on_the_organization(
    acme: Settings,
    beta: Settings,
    gamma: Settings,
    sandbox: Sandbox,
    connected: None,
    worker: Worker,
) -> None:
    created = _create_leads(sandbox, ORGANIC_FORM, 3, rate=50)
    _settle(worker)

    for settings in (acme, gamma):
        assert _outcome(settings, ORGANIC_FORM) == (created, {}), settings.account
    # beta holds an ad account of the organization, but Jonas may not read its leads: beta
    # is not routed them (no lead, no skip, no error, not even the form).
    _holds_nothing_of(beta, created)
    assert (
        account_rows(beta, "SELECT id FROM forms WHERE account_id = %s AND id = %s", ORGANIC_FORM)
        == []
    )
    assert query(acme, "SELECT owner_urn FROM unrouted_owners") == []


def test_an_account_whose_member_lost_the_role_gets_the_refusal_and_the_others_the_lead(
    acme: Settings,
    beta: Settings,
    gamma: Settings,
    sandbox: Sandbox,
    connected: None,
    worker: Worker,
    set_roles: Callable[..., None],
) -> None:
    # The demo member is no longer an administrator of the organization; leadsync has not
    # rediscovered since. acme's connection, the oldest, is tried first: LinkedIn answers
    # 403, and gamma's connection fetches the lead.
    set_roles("Demo", organizations=())
    (refused,) = _create_leads(sandbox, ORGANIC_FORM, 1, rate=50)
    _settle(worker)

    assert refused in _outcome(gamma, ORGANIC_FORM)[0]
    imported, errors = _outcome(acme, ORGANIC_FORM)
    assert refused not in imported
    assert errors == {refused: "owner_not_readable"}
    ((logged_account, stage, message),) = query(
        acme, "SELECT account_id, stage, message FROM error_log WHERE lead_id = %s", refused
    )
    assert (logged_account, stage) == (account_id(acme), "hydrate")
    assert ORGANIZATION in message, message
    assert "no role" in message, message
    _holds_nothing_of(beta, {refused})
    # LinkedIn's refusal is remembered: acme's connection reads the organization no more.
    assert ORGANIZATION not in _owners(acme)
    assert ORGANIZATION in _owners(gamma)

    # The next leads are not routed to acme at all; gamma imports them.
    later = _create_leads(sandbox, ORGANIC_FORM, 2, rate=50)
    _settle(worker)
    assert later <= _outcome(gamma, ORGANIC_FORM)[0]
    _holds_nothing_of(acme, later)

    # The role given back, a discovery finds the organization readable again: acme gets
    # the organization's leads again.
    set_roles("Demo", organizations=(ORGANIZATION,))
    leadsync(acme, "forms", "discover")
    assert ORGANIZATION in _owners(acme)
    again = _create_leads(sandbox, ORGANIC_FORM, 2, rate=50)
    _settle(worker)
    for settings in (acme, gamma):
        assert again <= _outcome(settings, ORGANIC_FORM)[0], settings.account


def test_after_a_rediscovery_a_member_who_lost_an_ad_account_is_routed_its_leads_no_more(
    acme: Settings,
    beta: Settings,
    sandbox: Sandbox,
    connected: None,
    worker: Worker,
    set_roles: Callable[..., None],
) -> None:
    # While Jonas holds his role, both accounts import the ad account's leads.
    before = _create_leads(sandbox, SPONSORED_FORM, 2, rate=50)
    _settle(worker)
    for settings in (acme, beta):
        assert _outcome(settings, SPONSORED_FORM) == (before, {}), settings.account

    # Jonas loses his role on the ad account; beta's forms are discovered again.
    set_roles("Jonas", roles=())
    out = leadsync(beta, "forms", "discover")
    assert "0 forms" in out, out
    # LinkedIn lists no ad account for him: beta's connection holds none, and reads nothing.
    assert account_rows(beta, "SELECT urn FROM ad_accounts WHERE account_id = %s") == []
    assert _owners(beta) == set()

    after = _create_leads(sandbox, SPONSORED_FORM, 3, rate=50)
    _settle(worker)
    assert _outcome(acme, SPONSORED_FORM) == (before | after, {})
    # beta keeps what it imported, and gets nothing of the ad account's new leads.
    assert _outcome(beta, SPONSORED_FORM) == (before, {})
    _holds_nothing_of(beta, after)


def test_a_disabled_account_s_connection_fetches_its_own_leads_and_never_another_s(
    acme: Settings,
    gamma: Settings,
    sandbox: Sandbox,
    connected: None,
    worker: Worker,
    set_roles: Callable[..., None],
) -> None:
    # Last in this module: acme stays disabled. Priya is no longer an administrator of the
    # organization: of the two accounts routed its leads, only the disabled one's
    # connection may still read them.
    assert "disabled" in leadsync(acme, "accounts", "disable", "acme")
    set_roles("Priya", organizations=())
    (lead_id,) = _create_leads(sandbox, ORGANIC_FORM, 1, rate=50)
    _settle(worker)

    # gamma's own connection was refused: it gets the refusal, not the lead acme's
    # connection fetched.
    imported, errors = _outcome(gamma, ORGANIC_FORM)
    assert lead_id not in imported
    assert errors.get(lead_id) == "owner_not_readable"
    # acme's connection fetched it for acme alone, which records it as skipped.
    assert account_rows(
        acme,
        "SELECT reason, origin FROM skipped_leads WHERE account_id = %s AND lead_id = %s",
        lead_id,
    ) == [("account_disabled", "push")]
    assert lead_id not in _outcome(acme, ORGANIC_FORM)[0]
