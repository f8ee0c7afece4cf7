"""``GET /rest/organizations/{id}``: the organization's name, for the members who administer
it; 403 for the others, 404 for an organization the world does not have."""

from __future__ import annotations

from sandbox.catalog import build_catalog
from tests.unit.sandbox.conftest import World

EPOCH = 1_795_000_000_000
ORG_ID = 2414183


def test_the_organization_has_a_name_from_the_seed_and_the_world_does_not_move() -> None:
    catalog = build_catalog(1, EPOCH, member_first_name="D", member_last_name="M")
    again = build_catalog(1, EPOCH + 5, member_first_name="D", member_last_name="M")
    other = build_catalog(2, EPOCH, member_first_name="D", member_last_name="M")
    # Seed 1's name before the organization could be asked for: the same draw.
    assert catalog.organization_name == "Carroll Inc"
    assert catalog.organization == again.organization
    assert other.organization_name != catalog.organization_name
    assert list(catalog.organizations) == [ORG_ID]
    assert catalog.organization_urn == f"urn:li:organization:{ORG_ID}"
    # The organization's organic leads still carry that name.
    assert catalog.owner_name(catalog.organization_urn) == "Carroll Inc"


def test_the_organization_answers_as_linkedin_does() -> None:
    organization = build_catalog(1, EPOCH, member_first_name="D", member_last_name="M").organization
    assert organization.to_json() == {
        "$URN": "urn:li:organization:2414183",
        "id": ORG_ID,
        "localizedName": "Carroll Inc",
        "vanityName": "carroll-inc",
        "name": {
            "localized": {"en_US": "Carroll Inc"},
            "preferredLocale": {"country": "US", "language": "en"},
        },
        "primaryOrganizationType": "NONE",
        "versionTag": "1",
    }


async def test_the_members_who_administer_it_read_its_name(world: World) -> None:
    demo, priya, _, _ = world.members
    name = world.state.catalog.organization_name
    for member in (demo, priya):
        answer = await world.rest(f"organizations/{ORG_ID}", await world.token(member))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["id"], body["localizedName"]) == (ORG_ID, name)
        assert body["name"]["localized"] == {"en_US": name}


async def test_a_member_without_a_role_on_it_is_refused(world: World) -> None:
    _, _, jonas, lucia = world.members
    for member in (jonas, lucia):
        answer = await world.rest(f"organizations/{ORG_ID}", await world.token(member))
        assert answer.status_code == 403
        assert answer.json() == {
            "message": f"Not enough permissions to access: GET /rest/organizations/{ORG_ID}",
            "serviceErrorCode": 100,
            "status": 403,
        }


async def test_a_token_without_r_organization_admin_is_refused(world: World) -> None:
    token = await world.token(scopes=["r_marketing_leadgen_automation", "r_ads"])
    answer = await world.rest(f"organizations/{ORG_ID}", token)
    assert answer.status_code == 403
    assert "r_organization_admin not granted" in answer.json()["message"]
    # What the token may read still answers: forms of the organization.
    forms = await world.rest(
        "leadForms?q=owner&owner=(organization:urn%3Ali%3Aorganization%3A2414183)", token
    )
    assert forms.status_code == 200, forms.text


async def test_an_unknown_organization_is_not_found(world: World) -> None:
    token = await world.token()
    for unknown in ("1", "2414184", "acme"):
        answer = await world.rest(f"organizations/{unknown}", token)
        assert answer.status_code == 404
        assert answer.json() == {
            "message": f"organization {unknown} does not exist",
            "serviceErrorCode": 404,
            "status": 404,
        }


async def test_the_call_gets_past_the_same_checks_as_every_rest_call(world: World) -> None:
    token = await world.token()
    unversioned = await world.http.get(
        f"/rest/organizations/{ORG_ID}",
        headers={"Authorization": f"Bearer {token}", "X-Restli-Protocol-Version": "2.0.0"},
    )
    assert unversioned.status_code == 400
    unauthenticated = await world.rest(f"organizations/{ORG_ID}", "not-a-token")
    assert unauthenticated.status_code == 401
