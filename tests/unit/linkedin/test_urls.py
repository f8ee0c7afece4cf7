"""The exact bytes of every URL the client sends, and the headers on every call."""

from __future__ import annotations

import httpx
import pytest

from leadsync.settings import load_settings
from linkedin import InMemoryTokenStore, LeadType, LinkedInClient, Owner
from schemas.linkedin import Lead

from .fakes import ACCESS, FakeClock, Script, collection, lead, make_client, ok, tokens

FIELDS = (
    "ownerInfo,associatedEntityInfo,leadMetadataInfo,owner,leadType,versionedLeadGenFormUrn,"
    "id,submittedAt,testLead,formResponse,form:(hiddenFields,creationLocale,name,id,content)"
    ",leadMetadata,associatedEntity,submitter"
)
LEAD_ID = "249592fc-d272-44ba-a7db-c2bdce579507-6"
SPONSORED_123 = "(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123)"


async def test_lead_finder_is_the_reference_example_byte_for_byte() -> None:
    script = Script(collection([], count=100))
    async with make_client(script) as linkedin:
        owner = Owner.sponsored_account(123)
        leads = [x async for x in linkedin.iter_leads(owner, LeadType.SPONSORED, 1000, 2000)]
    assert leads == []
    expected = (
        "/rest/leadFormResponses?q=owner"
        f"&owner={SPONSORED_123}"
        "&leadType=(leadType:SPONSORED)"
        "&limitedToTestLeads=false"
        "&submittedAtTimeRange=(start:1000,end:2000)"
        f"&fields={FIELDS}"
        "&count=100&start=0"
    )
    assert script.raw_targets() == [expected.encode()]
    assert str(script.requests[0].url.host) == "api.linkedin.com"


async def test_lead_finder_with_organization_form_version_and_test_leads() -> None:
    script = Script(collection([], count=25))
    async with make_client(script) as linkedin:
        pages = linkedin.iter_lead_pages(
            Owner.organization(98765),
            "EVENT",
            1689894599288,
            1689894600000,
            form_version_urn="urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246, 1)",
            test_leads_only=True,
            page_size=25,
        )
        assert [p.number async for p in pages] == [1]
    expected = (
        "/rest/leadFormResponses?q=owner"
        "&owner=(organization:urn%3Ali%3Aorganization%3A98765)"
        "&leadType=(leadType:EVENT)"
        "&versionedLeadGenFormUrn="
        "urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A7234246%2C1%29"
        "&limitedToTestLeads=true"
        "&submittedAtTimeRange=(start:1689894599288,end:1689894600000)"
        f"&fields={FIELDS}"
        "&count=25&start=0"
    )
    assert script.raw_targets() == [expected.encode()]


@pytest.mark.parametrize(
    "given",
    [
        LEAD_ID,
        f"urn:li:leadGenFormResponse:{LEAD_ID}",
    ],
)
async def test_get_lead_by_id_or_notification_urn(given: str) -> None:
    script = Script(ok(lead()))
    async with make_client(script) as linkedin:
        got = await linkedin.get_lead(given)
    assert isinstance(got, Lead)
    assert got.form_version() == (7234246, 1)
    assert script.raw_targets() == [
        f"/rest/leadFormResponses/249592fc-d272-44ba-a7db-c2bdce579507-6?fields={FIELDS}".encode()
    ]


async def test_forms_finder_and_form_by_id() -> None:
    form = {"id": 7234246, "versionId": 1, "name": "Test Form", "state": "PUBLISHED"}
    script = Script(collection([form], count=50), ok(form))
    async with make_client(script) as linkedin:
        forms = [f async for f in linkedin.iter_forms(Owner.sponsored_account(123), page_size=50)]
        one = await linkedin.get_form(7234246)
    assert [f.name for f in forms] == ["Test Form"]
    assert one.version_id == 1
    assert one.model_extra == {"state": "PUBLISHED"}
    assert script.raw_targets() == [
        f"/rest/leadForms?q=owner&owner={SPONSORED_123}&count=50&start=0".encode(),
        b"/rest/leadForms/7234246",
    ]


async def test_ad_accounts_and_one_account() -> None:
    users = [
        {
            "account": "urn:li:sponsoredAccount:123456",
            "role": "ACCOUNT_MANAGER",
            "user": "urn:li:person:ABC123def",
        }
    ]
    account = {
        "id": 123456,
        "name": "Acme",
        "status": "ACTIVE",
        "test": True,
        "reference": "urn:li:organization:5",
    }
    script = Script(collection(users), ok(account), ok(account))
    async with make_client(script) as linkedin:
        found = await linkedin.ad_accounts()
        by_id = await linkedin.ad_account(123456)
        by_urn = await linkedin.ad_account("urn:li:sponsoredAccount:123456")
    assert [(u.account_id(), u.role) for u in found] == [(123456, "ACCOUNT_MANAGER")]
    assert by_id.reference == "urn:li:organization:5"
    assert by_id == by_urn
    assert script.raw_targets() == [
        b"/rest/adAccountUsers?q=authenticatedUser",
        b"/rest/adAccounts/123456",
        b"/rest/adAccounts/123456",
    ]


async def test_subscription_calls() -> None:
    script = Script(
        collection([]),
        ok(status=201, headers={"x-restli-id": "5001"}),
        ok({"id": 5001, "webhook": "https://h/p", "owner": {}, "leadType": "SPONSORED"}),
        httpx.Response(204),
    )
    async with make_client(script) as linkedin:
        owner = Owner.sponsored_account(123)
        await linkedin.subscribe("https://h/p", owner, LeadType.SPONSORED)
        assert (await linkedin.subscription(5001)).id == "5001"
        assert await linkedin.unsubscribe("5001") is True
    assert script.raw_targets() == [
        b"/rest/leadNotifications?q=criteria"
        b"&owner=(value:(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123))"
        b"&leadType=(leadType:SPONSORED)",
        b"/rest/leadNotifications",
        b"/rest/leadNotifications/5001",
        b"/rest/leadNotifications/5001",
    ]
    assert [r.method for r in script.requests] == ["GET", "POST", "GET", "DELETE"]


async def test_every_api_call_carries_token_version_and_protocol_headers() -> None:
    script = Script(
        collection([]),  # leads
        ok(lead()),
        collection([]),  # forms
        ok({"id": 1}),
        collection([]),  # ad account users
        ok({"id": 1}),
        collection([]),  # subscriptions (listing inside subscribe)
        ok(status=201, headers={"x-restli-id": "9"}),
        httpx.Response(204),
    )
    owner = Owner.sponsored_account(1)
    async with make_client(script) as linkedin:
        [x async for x in linkedin.iter_leads(owner, "SPONSORED", 0, 1)]
        await linkedin.get_lead("x")
        [x async for x in linkedin.iter_forms(owner)]
        await linkedin.get_form(1)
        await linkedin.ad_accounts()
        await linkedin.ad_account(1)
        await linkedin.subscribe("https://h/p", owner, "SPONSORED")
        await linkedin.unsubscribe(9)
    assert len(script.requests) == 9
    for request in script.requests:
        assert request.headers["Authorization"] == f"Bearer {ACCESS}"
        assert request.headers["LinkedIn-Version"] == "202611"
        assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"


async def test_from_settings_uses_the_configured_urls_and_version() -> None:
    settings = load_settings(
        demo=True,
        linkedin_api_url="http://127.0.0.1:8090/rest/",
        linkedin_version="202601",
    )
    script = Script(ok({"id": 1}))
    client = LinkedInClient.from_settings(
        settings, InMemoryTokenStore(tokens()), transport=script.transport, clock=FakeClock()
    )
    async with client as linkedin:
        await linkedin.get_form(1)
    request = script.requests[0]
    assert str(request.url) == "http://127.0.0.1:8090/rest/leadForms/1"
    assert request.headers["LinkedIn-Version"] == "202601"
