"""``LinkedInClient.organization``: the URL and headers sent, the name read from the answer,
and LinkedIn's refusals and failures raised as the ad-account lookup raises them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from leadsync.errors import PermanentError, RetriableError
from linkedin import (
    Forbidden,
    LinkedInClient,
    LinkedInError,
    MalformedResponse,
    NotFound,
    Organization,
    ServerError,
    Unavailable,
)

from .fakes import ACCESS, Script, error, make_client, ok

# LinkedIn's example, shortened: the fields leadsync reads and a few it keeps.
ORGANIZATION = {
    "$URN": "urn:li:organization:2414183",
    "id": 2414183,
    "localizedName": "LinkedIn",
    "vanityName": "linkedin",
    "name": {
        "localized": {"en_US": "LinkedIn", "de_DE": "LinkedIn DE"},
        "preferredLocale": {"country": "US", "language": "en"},
    },
    "primaryOrganizationType": "NONE",
    "versionTag": "1",
}

Lookup = Callable[[LinkedInClient], Awaitable[object]]
LOOKUPS: dict[str, Lookup] = {
    "organization": lambda linkedin: linkedin.organization(2414183),
    "ad account": lambda linkedin: linkedin.ad_account(2414183),
}


async def test_one_organization_by_id_or_urn_with_its_name() -> None:
    script = Script(ok(ORGANIZATION), ok(ORGANIZATION))
    async with make_client(script) as linkedin:
        by_id = await linkedin.organization(2414183)
        by_urn = await linkedin.organization("urn:li:organization:2414183")
    assert script.raw_targets() == [b"/rest/organizations/2414183"] * 2
    for request in script.requests:
        assert request.method == "GET"
        assert request.headers["Authorization"] == f"Bearer {ACCESS}"
        assert request.headers["LinkedIn-Version"] == "202611"
        assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert by_id == by_urn
    assert (by_id.id, by_id.urn, by_id.vanity_name) == (
        2414183,
        "urn:li:organization:2414183",
        "linkedin",
    )
    assert by_id.display_name() == "LinkedIn"
    # Everything else LinkedIn sent is kept.
    assert (by_id.model_extra or {})["primaryOrganizationType"] == "NONE"


async def test_an_id_of_another_kind_is_refused_before_any_call() -> None:
    script = Script()
    async with make_client(script) as linkedin:
        with pytest.raises(ValueError, match="urn:li:organization"):
            await linkedin.organization("urn:li:sponsoredAccount:5")
    assert script.requests == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (ORGANIZATION, "LinkedIn"),
        ({**ORGANIZATION, "localizedName": "  Padded  "}, "Padded"),
        # No localizedName: the name in the preferred locale, else in any it has.
        ({"id": 1, "name": ORGANIZATION["name"]}, "LinkedIn"),
        (
            {"id": 1, "name": {"localized": {"de_DE": "Nur Deutsch"}, "preferredLocale": {}}},
            "Nur Deutsch",
        ),
        ({"id": 1, "localizedName": " ", "name": {"localized": {}}}, None),
        ({"id": 1}, None),
    ],
)
def test_the_name_shown_is_the_localized_one_else_any_given(
    body: dict[str, Any], expected: str | None
) -> None:
    assert Organization.model_validate(body).display_name() == expected


@pytest.mark.parametrize("lookup", LOOKUPS, ids=str)
@pytest.mark.parametrize(
    ("reply", "expected", "retriable"),
    [
        (error(403, "Not enough permissions to access: GET /rest/x", 100), Forbidden, False),
        (error(404, "does not exist"), NotFound, False),
        (ok({"localizedName": "no id"}), MalformedResponse, False),
        (httpx.Response(200, text="<html>"), MalformedResponse, False),
    ],
    ids=["403", "404", "no id", "not JSON"],
)
async def test_refusals_raise_as_for_an_ad_account(
    lookup: str, reply: httpx.Response, expected: type[LinkedInError], retriable: bool
) -> None:
    script = Script(reply)
    async with make_client(script) as linkedin:
        with pytest.raises(expected) as raised:
            await LOOKUPS[lookup](linkedin)
    assert isinstance(raised.value, RetriableError if retriable else PermanentError)
    assert len(script.requests) == 1  # a permanent refusal is not tried again


@pytest.mark.parametrize("lookup", LOOKUPS, ids=str)
async def test_a_server_error_is_retried_then_raised_retriable(lookup: str) -> None:
    script = Script(*(error(503, "busy") for _ in range(4)))
    async with make_client(script) as linkedin:
        with pytest.raises(ServerError) as raised:
            await LOOKUPS[lookup](linkedin)
    assert isinstance(raised.value, RetriableError)
    assert len(script.requests) == 4


@pytest.mark.parametrize("lookup", LOOKUPS, ids=str)
async def test_no_answer_at_all_is_retried_then_raised_retriable(lookup: str) -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(4)))
    async with make_client(script) as linkedin:
        with pytest.raises(Unavailable):
            await LOOKUPS[lookup](linkedin)
    assert len(script.requests) == 4


async def test_a_throttled_lookup_is_answered_after_a_retry() -> None:
    script = Script(error(429, "Resource level throttle limit"), ok(ORGANIZATION))
    async with make_client(script) as linkedin:
        organization = await linkedin.organization(2414183)
    assert organization.display_name() == "LinkedIn"
    assert len(script.requests) == 2
