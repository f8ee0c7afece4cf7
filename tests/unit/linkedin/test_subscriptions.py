"""Lead notification subscriptions: listing, idempotent subscribe, unsubscribe."""

from __future__ import annotations

import httpx
import pytest

from linkedin import Forbidden, LeadType, Owner, Subscribed

from .fakes import Script, body_of, collection, error, make_client, ok

ADS = Owner.sponsored_account(123)
ORG = Owner.organization(77)
HOOK = "https://leadsync.example/linkedin/webhook"


def existing(
    sub_id: int, webhook: str = HOOK, owner: Owner = ADS, lead_type: str | None = "SPONSORED"
) -> dict[str, object]:
    element: dict[str, object] = {"id": sub_id, "webhook": webhook, "owner": owner.to_json()}
    if lead_type is not None:
        element["leadType"] = lead_type
    return element


async def test_subscribe_creates_when_missing_and_reads_the_new_id_from_the_header() -> None:
    script = Script(collection([]), ok(status=201, headers={"X-RestLi-Id": "90210"}))
    async with make_client(script) as linkedin:
        result = await linkedin.subscribe(HOOK, ADS, LeadType.SPONSORED)
    assert result == Subscribed("90210", created=True)
    post = script.requests[1]
    assert post.method == "POST"
    assert post.headers["Content-Type"] == "application/json"
    assert body_of(post) == {
        "webhook": HOOK,
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:123"},
        "leadType": "SPONSORED",
    }


async def test_subscribe_twice_creates_once() -> None:
    script = Script(
        collection([]),
        ok(status=201, headers={"x-restli-id": "5"}),
        collection([existing(5)]),
    )
    async with make_client(script) as linkedin:
        first = await linkedin.subscribe(HOOK, ADS, "SPONSORED")
        second = await linkedin.subscribe(HOOK, ADS, "SPONSORED")
    assert first == Subscribed("5", created=True)
    assert second == Subscribed("5", created=False)
    assert [r.method for r in script.requests] == ["GET", "POST", "GET"]


@pytest.mark.parametrize(
    "webhook", [HOOK, HOOK + "/", " " + HOOK], ids=["same", "trailing-slash", "whitespace"]
)
async def test_existing_subscription_is_recognised(webhook: str) -> None:
    script = Script(collection([existing(1, "https://other/x"), existing(2, webhook)]))
    async with make_client(script) as linkedin:
        result = await linkedin.subscribe(HOOK, ADS, "SPONSORED")
    assert result == Subscribed("2", created=False)
    assert len(script.requests) == 1


async def test_existing_subscription_without_lead_type_in_the_answer_still_matches() -> None:
    script = Script(collection([existing(3, lead_type=None)]))
    async with make_client(script) as linkedin:
        assert (await linkedin.subscribe(HOOK, ADS, "SPONSORED")).created is False


@pytest.mark.parametrize(
    "other",
    [
        existing(1, webhook="https://elsewhere.example/hook"),
        existing(1, owner=Owner.sponsored_account(999)),
        existing(1, lead_type="COMPANY"),
        {
            **existing(1),
            "versionedForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7,1)",
        },
    ],
    ids=["other-webhook", "other-owner", "other-lead-type", "form-level"],
)
async def test_a_different_subscription_does_not_count(other: dict[str, object]) -> None:
    script = Script(collection([other]), ok(status=201, headers={"x-restli-id": "8"}))
    async with make_client(script) as linkedin:
        assert await linkedin.subscribe(HOOK, ADS, "SPONSORED") == Subscribed("8", created=True)


async def test_organic_subscription_uses_the_organization_owner() -> None:
    script = Script(collection([]), ok(status=201, headers={"x-restli-id": "11"}))
    async with make_client(script) as linkedin:
        await linkedin.subscribe(HOOK, ORG, LeadType.COMPANY)
    assert script.requests[0].url.raw_path == (
        b"/rest/leadNotifications?q=criteria"
        b"&owner=(value:(organization:urn%3Ali%3Aorganization%3A77))"
        b"&leadType=(leadType:COMPANY)"
    )
    assert body_of(script.requests[1])["owner"] == {"organization": "urn:li:organization:77"}


async def test_subscriptions_are_parsed() -> None:
    script = Script(collection([existing(4), existing(5, lead_type="SPONSORED")]))
    async with make_client(script) as linkedin:
        found = await linkedin.subscriptions(ADS, "SPONSORED")
    assert [(s.id, s.webhook, s.lead_type) for s in found] == [
        ("4", HOOK, "SPONSORED"),
        ("5", HOOK, "SPONSORED"),
    ]


async def test_unsubscribe_is_idempotent() -> None:
    script = Script(httpx.Response(204), error(404, "Not found"))
    async with make_client(script) as linkedin:
        assert await linkedin.unsubscribe(5) is True
        assert await linkedin.unsubscribe(5) is False
    assert [(r.method, r.url.raw_path) for r in script.requests] == [
        ("DELETE", b"/rest/leadNotifications/5"),
        ("DELETE", b"/rest/leadNotifications/5"),
    ]


async def test_unsubscribe_other_failures_propagate() -> None:
    async with make_client(Script(error(403))) as linkedin:
        with pytest.raises(Forbidden):
            await linkedin.unsubscribe(5)


async def test_unknown_lead_type_is_refused_before_any_call() -> None:
    script = Script()
    async with make_client(script) as linkedin:
        with pytest.raises(ValueError, match="JOBS"):
            await linkedin.subscribe(HOOK, ADS, "JOBS")
    assert script.requests == []
