"""Finder parameters and subscription bodies: every refusal is a 400 in LinkedIn's shape."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.errors import RestliError
from sandbox.lead_api import parse_lead_type, parse_owner, parse_time_range
from sandbox.notification_api import subscription_fields
from sandbox.restli import RestliSyntaxError
from sandbox.state import SandboxState

ACCOUNT = "urn:li:sponsoredAccount:1234567"


def _bad(call: Any, *args: Any) -> RestliError:
    with pytest.raises(RestliError) as caught:
        call(*args)
    assert caught.value.status == 400
    assert set(caught.value.body()) == {"message", "serviceErrorCode", "status"}
    return caught.value


def test_owner_union() -> None:
    assert parse_owner({"sponsoredAccount": ACCOUNT}) == ("sponsoredAccount", ACCOUNT)
    org = "urn:li:organization:2414183"
    assert parse_owner({"organization": org}) == ("organization", org)
    _bad(parse_owner, {"sponsoredAccount": "123"})
    _bad(parse_owner, {"sponsoredAccount": "urn:li:organization:1"})
    _bad(parse_owner, {"account": ACCOUNT})
    _bad(parse_owner, {"sponsoredAccount": ACCOUNT, "organization": org})
    _bad(parse_owner, "urn:li:sponsoredAccount:1")


def test_lead_type_defaults_to_sponsored_and_must_fit_the_owner() -> None:
    assert parse_lead_type({}, "sponsoredAccount") == "SPONSORED"
    assert parse_lead_type({"leadType": "(leadType:EVENT)"}, "organization") == "EVENT"
    _bad(parse_lead_type, {}, "organization")
    _bad(parse_lead_type, {"leadType": "(leadType:COMPANY)"}, "sponsoredAccount")
    _bad(parse_lead_type, {"leadType": "(type:SPONSORED)"}, "sponsoredAccount")
    with pytest.raises(RestliSyntaxError):
        parse_lead_type({"leadType": "%28leadType%3ASPONSORED%29"}, "sponsoredAccount")


def test_time_range_needs_both_bounds_in_order() -> None:
    assert parse_time_range("(start:1689894599288,end:1689894600000)") == (
        1689894599288,
        1689894600000,
    )
    _bad(parse_time_range, "(start:1)")
    _bad(parse_time_range, "(start:5,end:4)")
    _bad(parse_time_range, "(start:1,end:2,extra:3)")
    with pytest.raises(RestliSyntaxError):
        parse_time_range("(start:yesterday,end:2)")


@pytest.fixture(scope="module")
def state() -> SandboxState:
    return SandboxState()


def test_subscription_body_as_in_the_reference(state: SandboxState) -> None:
    body = {
        "webhook": "https://host/path",
        "owner": {"sponsoredAccount": ACCOUNT},
        "leadType": "SPONSORED",
    }
    assert subscription_fields(body, state, state.catalog.member_urn) == {
        "webhook": "https://host/path",
        "owner_key": "sponsoredAccount",
        "owner_urn": ACCOUNT,
        "lead_type": "SPONSORED",
        "versioned_form": None,
    }
    form = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246, 1)"
    with_form = subscription_fields(body | {"versionedForm": form}, state, state.catalog.member_urn)
    assert with_form["versioned_form"] == form.replace(" ", "")


@pytest.mark.parametrize(
    "change",
    [
        {"webhook": "ftp://host/path"},
        {"webhook": None},
        {"owner": ACCOUNT},
        {"leadType": "COMPANY"},
        {"versionedForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1,1)"},
        {"callback": "https://x"},
    ],
)
def test_bad_subscription_bodies(state: SandboxState, change: dict[str, Any]) -> None:
    body = {"webhook": "https://host/path", "owner": {"sponsoredAccount": ACCOUNT}} | change
    _bad(subscription_fields, body, state, state.catalog.member_urn)


def test_subscribing_to_an_account_without_a_role_is_403(state: SandboxState) -> None:
    catalog = state.catalog
    hidden = next(
        a for a in catalog.accounts.values() if not catalog.accessible(catalog.member_urn, a.urn)
    )
    body = {"webhook": "https://host/path", "owner": {"sponsoredAccount": hidden.urn}}
    with pytest.raises(RestliError) as caught:
        subscription_fields(body, state, state.catalog.member_urn)
    assert caught.value.status == 403
