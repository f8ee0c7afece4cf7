"""Several members: the world they share, and every REST answer given for the token's member."""

from __future__ import annotations

from sandbox.catalog import build_catalog
from sandbox.members import find_member
from tests.unit.sandbox.conftest import World

EPOCH = 1_795_000_000_000
ORG = "urn:li:organization:2414183"
ERROR_KEYS = {"message", "serviceErrorCode", "status"}


def _owner(account_id: int) -> str:
    return f"(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A{account_id})"


def _leads(owner: str, lead_type: str = "SPONSORED") -> str:
    return f"leadFormResponses?q=owner&owner={owner}&leadType=(leadType:{lead_type})&count=1000"


def test_the_demo_member_and_its_world_are_todays() -> None:
    """Golden values of seed 1 before there were several members: the world must not move."""
    catalog = build_catalog(1, EPOCH, member_first_name="Demo", member_last_name="Member")
    demo = catalog.default_member
    assert (demo.urn, demo.first_name, demo.last_name) == (
        "urn:li:person:SEiBQaUKQY",
        "Demo",
        "Member",
    )
    assert catalog.member_urn == demo.urn
    assert list(catalog.accounts) == [1234567, 564579331, 577685604, 562160254]
    assert demo.roles == (
        (1234567, "ACCOUNT_MANAGER"),
        (564579331, "CAMPAIGN_MANAGER"),
        (577685604, "VIEWER"),
    )
    assert demo.organizations == (ORG,)
    assert sorted(catalog.forms) == [
        7142865, 7234246, 7360330, 7414008, 7506292, 7510044, 7636048, 7737052, 7841559,
    ]  # fmt: skip


def test_several_members_share_and_split_the_ad_accounts() -> None:
    catalog = build_catalog(1, EPOCH, member_first_name="Demo", member_last_name="Member")
    demo, priya, jonas, lucia = catalog.members.values()
    a0, a1, a2, a3 = catalog.accounts
    assert [m.name for m in catalog.members.values()] == [
        "Demo Member",
        "Priya Raman",
        "Jonas Weber",
        "Lucia Fernandez",
    ]
    assert len({m.urn for m in catalog.members.values()}) == 4
    assert priya.roles == ((a1, "ACCOUNT_BILLING_ADMIN"), (a3, "ACCOUNT_MANAGER"))
    assert jonas.roles == ((a0, "CREATIVE_MANAGER"),)
    assert lucia.roles == ()
    assert (priya.organizations, jonas.organizations, lucia.organizations) == ((ORG,), (), ())
    # Shared accounts, and one that is another member's alone.
    assert catalog.users_of(a0) == [(demo.urn, "ACCOUNT_MANAGER"), (jonas.urn, "CREATIVE_MANAGER")]
    assert catalog.users_of(a1) == [
        (demo.urn, "CAMPAIGN_MANAGER"),
        (priya.urn, "ACCOUNT_BILLING_ADMIN"),
    ]
    assert catalog.users_of(a2) == [(demo.urn, "VIEWER")]
    assert catalog.users_of(a3) == [(priya.urn, "ACCOUNT_MANAGER")]
    a3_urn = f"urn:li:sponsoredAccount:{a3}"
    assert not catalog.accessible(demo.urn, a3_urn)
    assert catalog.accessible(priya.urn, a3_urn)
    assert catalog.accessible(jonas.urn, f"urn:li:sponsoredAccount:{a0}")
    assert not catalog.accessible(jonas.urn, ORG)
    assert not catalog.accessible("urn:li:person:nobody", ORG)


def test_members_are_seeded() -> None:
    one = build_catalog(1, EPOCH, member_first_name="D", member_last_name="M").members
    again = build_catalog(1, EPOCH + 5, member_first_name="D", member_last_name="M").members
    other = build_catalog(2, EPOCH, member_first_name="D", member_last_name="M").members
    assert list(one) == list(again)
    assert not set(one) & set(other)


def test_a_member_is_found_by_urn_or_id() -> None:
    members = build_catalog(1, EPOCH, member_first_name="D", member_last_name="M").members
    priya = list(members.values())[1]
    assert find_member(members, priya.urn) is priya
    assert find_member(members, priya.id) is priya
    assert find_member(members, "urn:li:person:nobody") is None
    assert find_member(members, "") is None


async def test_ad_account_users_are_the_token_members(world: World) -> None:
    demo, priya, jonas, lucia = world.members
    a0, a1, a2, a3 = world.accounts
    expected = {
        demo: [(a0, "ACCOUNT_MANAGER"), (a1, "CAMPAIGN_MANAGER"), (a2, "VIEWER")],
        priya: [(a1, "ACCOUNT_BILLING_ADMIN"), (a3, "ACCOUNT_MANAGER")],
        jonas: [(a0, "CREATIVE_MANAGER")],
        lucia: [],
    }
    for member, roles in expected.items():
        answer = await world.rest("adAccountUsers?q=authenticatedUser", await world.token(member))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(e["account"], e["role"], e["user"]) for e in body["elements"]] == [
            (f"urn:li:sponsoredAccount:{a}", role, member.urn) for a, role in roles
        ]
        assert body["paging"]["total"] == len(roles)


async def test_ad_account_details_answer_403_without_a_role(world: World) -> None:
    demo, priya, jonas, lucia = world.members
    a0, a1, a2, a3 = world.accounts
    allowed = {demo: {a0, a1, a2}, priya: {a1, a3}, jonas: {a0}, lucia: set()}
    for member, accounts in allowed.items():
        token = await world.token(member)
        for account in world.accounts:
            answer = await world.rest(f"adAccounts/{account}", token)
            if account in accounts:
                assert (answer.status_code, answer.json()["id"]) == (200, account)
            else:
                assert answer.status_code == 403
                assert answer.json() == {
                    "message": f"Not enough permissions to access: GET /rest/adAccounts/{account}",
                    "serviceErrorCode": 100,
                    "status": 403,
                }


async def test_the_lead_finder_answers_for_the_token_member(world: World) -> None:
    demo, priya, jonas, lucia = world.members
    a0, _, _, a3 = world.accounts
    stored = {
        urn: sum(1 for lead in world.state.store.all() if lead.owner_urn == urn)
        for urn in (f"urn:li:sponsoredAccount:{a0}", f"urn:li:sponsoredAccount:{a3}")
    }
    assert all(stored.values()), "the preload reaches both accounts"
    cases = [
        (demo, a0, 200),
        (demo, a3, 403),
        (priya, a3, 200),
        (priya, a0, 403),
        (jonas, a0, 200),
        (jonas, a3, 403),
        (lucia, a0, 403),
    ]
    for member, account, status in cases:
        answer = await world.rest(_leads(_owner(account)), await world.token(member))
        assert answer.status_code == status, (member.name, account, answer.text)
        if status == 200:
            total = answer.json()["paging"]["total"]
            assert total == stored[f"urn:li:sponsoredAccount:{account}"]
        else:
            assert set(answer.json()) == ERROR_KEYS
            assert answer.json()["serviceErrorCode"] == 100


async def test_organic_leads_need_a_role_on_the_organization(world: World) -> None:
    demo, priya, jonas, lucia = world.members
    owner = "(organization:urn%3Ali%3Aorganization%3A2414183)"
    for member, status in ((demo, 200), (priya, 200), (jonas, 403), (lucia, 403)):
        answer = await world.rest(_leads(owner, "COMPANY"), await world.token(member))
        assert answer.status_code == status, (member.name, answer.text)


async def test_one_lead_and_forms_answer_for_the_token_member(world: World) -> None:
    demo, priya, _, _ = world.members
    a3 = world.accounts[3]
    lead = next(x for x in world.state.store.all() if x.owner_urn.endswith(f":{a3}"))
    form = next(iter(world.state.catalog.forms_of(f"urn:li:sponsoredAccount:{a3}")))
    demo_token, priya_token = await world.token(demo), await world.token(priya)
    assert (await world.rest(f"leadFormResponses/{lead.id}", demo_token)).status_code == 403
    one = await world.rest(f"leadFormResponses/{lead.id}", priya_token)
    assert (one.status_code, one.json()["id"]) == (200, lead.id)
    assert (await world.rest(f"leadForms/{form.id}", demo_token)).status_code == 403
    assert (await world.rest(f"leadForms/{form.id}", priya_token)).json()["id"] == form.id
    finder = f"leadForms?q=owner&owner={_owner(a3)}"
    assert (await world.rest(finder, demo_token)).status_code == 403
    forms = (await world.rest(finder, priya_token)).json()
    assert forms["paging"]["total"] == len(
        world.state.catalog.forms_of(f"urn:li:sponsoredAccount:{a3}")
    )


async def test_subscriptions_answer_for_the_token_member(world: World) -> None:
    demo, priya, jonas, _ = world.members
    a1 = world.accounts[1]
    subscription = world.state.webhooks.add(
        {
            "webhook": "https://hooks.example/a1",
            "owner_key": "sponsoredAccount",
            "owner_urn": f"urn:li:sponsoredAccount:{a1}",
            "lead_type": "SPONSORED",
            "versioned_form": None,
        },
        world.state.clock.now_ms(),
    )
    criteria = f"leadNotifications?q=criteria&owner=(value:{_owner(a1)})"
    for member in (demo, priya):  # both have a role on the shared account: the same list
        found = (await world.rest(criteria, await world.token(member))).json()
        assert [e["id"] for e in found["elements"]] == [subscription.id]
    jonas_token = await world.token(jonas)
    assert (await world.rest(criteria, jonas_token)).status_code == 403
    path = f"leadNotifications/{subscription.id}"
    assert (await world.rest(path, jonas_token)).status_code == 403
    assert (await world.rest(path, jonas_token, "DELETE")).status_code == 403
    assert (await world.rest(path, await world.token(priya), "DELETE")).status_code == 204
    assert not world.state.webhooks.subscriptions


async def test_throttling_counts_per_member(world: World) -> None:
    demo, priya, _, _ = world.members
    patch = await world.control("PATCH", "/config", {"throttle": {"member_daily_limit": 2}})
    assert patch.status_code == 200
    demo_token, priya_token = await world.token(demo), await world.token(priya)
    path = "adAccountUsers?q=authenticatedUser"
    for _ in range(2):
        assert (await world.rest(path, demo_token)).status_code == 200
    throttled = await world.rest(path, demo_token)
    assert throttled.status_code == 429
    assert throttled.json()["message"] == (
        "Resource level throttle MEMBER DAY limit for calls to this resource is reached."
    )
    assert (await world.rest(path, await world.token(demo))).status_code == 429  # a new token
    assert (await world.rest(path, priya_token)).status_code == 200


async def test_tokens_are_minted_per_member(world: World) -> None:
    demo, priya, _, _ = world.members
    default = await world.control("POST", "/tokens", {})
    by_id = await world.control("POST", "/tokens", {"member": priya.id})
    tokens = world.state.tokens
    assert tokens.authenticate(f"Bearer {default.json()['access_token']}").member_urn == demo.urn
    assert tokens.authenticate(f"Bearer {by_id.json()['access_token']}").member_urn == priya.urn
    assert default.json()["scope"] == (
        "r_marketing_leadgen_automation,r_ads,r_organization_admin,r_events"
    )
    unknown = await world.control("POST", "/tokens", {"member": "urn:li:person:nobody"})
    assert (unknown.status_code, unknown.json()["message"]) == (
        400,
        "no member urn:li:person:nobody",
    )
    not_text = await world.control("POST", "/tokens", {"member": 7})
    assert not_text.status_code == 400


async def test_status_lists_members_and_account_users(world: World) -> None:
    demo, priya, jonas, lucia = world.members
    status = (await world.control("GET", "/status")).json()
    assert (status["member"], status["memberName"], status["signedIn"]) == (
        demo.urn,
        "Demo Member",
        demo.urn,
    )
    assert [m["urn"] for m in status["members"]] == [m.urn for m in (demo, priya, jonas, lucia)]
    first, second, _, fourth = status["adAccounts"]
    assert first["role"] == "ACCOUNT_MANAGER"
    assert fourth["role"] is None
    assert fourth["users"] == [{"user": priya.urn, "role": "ACCOUNT_MANAGER"}]
    assert second["users"] == [
        {"user": demo.urn, "role": "CAMPAIGN_MANAGER"},
        {"user": priya.urn, "role": "ACCOUNT_BILLING_ADMIN"},
    ]
