"""Who signs in at the authorization page, and ``GET /v2/userinfo`` telling a client who it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from leadsync.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox import cli
from tests.unit.sandbox.conftest import NOW_MS, World

REDIRECT = "http://127.0.0.1:8000/linkedin/callback"
DAY_S = 86_400


async def _authorize(world: World, **extra: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT}
    return await world.http.get("/oauth/v2/authorization", params=params | extra)


async def _connect(world: World, scope: str = "r_ads openid profile", **extra: str) -> str:
    """The OAuth dance as a client does it; the access token."""
    answer = await _authorize(world, scope=scope, **extra)
    assert answer.status_code == 302, answer.text
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uri": REDIRECT,
    }
    tokens = await world.http.post("/oauth/v2/accessToken", data=form)
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["access_token"]
    return token


async def _userinfo(world: World, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await world.http.get("/v2/userinfo", headers=headers)


async def test_the_demo_member_signs_in_by_default(world: World) -> None:
    demo = world.members[0]
    token = await _connect(world)
    assert (await _userinfo(world, token)).json()["sub"] == demo.id
    assert world.state.tokens.authenticate(f"Bearer {token}").member_urn == demo.urn


async def test_signin_chooses_who_approves_until_changed(world: World) -> None:
    demo, priya, jonas, _ = world.members
    signed = await world.control("POST", "/signin", {"member": priya.urn})
    assert signed.json() == {"signedIn": priya.urn, "name": "Priya Raman"}
    first, second = await _connect(world), await _connect(world)
    for token in (first, second):  # a browser session: every authorization until changed
        users = (await world.rest("adAccountUsers?q=authenticatedUser", token)).json()
        assert {e["user"] for e in users["elements"]} == {priya.urn}
    by_id = await world.control("POST", "/signin", {"member": jonas.id})
    assert by_id.json()["signedIn"] == jonas.urn
    assert (await _userinfo(world, await _connect(world))).json()["sub"] == jonas.id
    back = await world.control("POST", "/signin", {"member": None})
    assert back.json() == {"signedIn": demo.urn, "name": "Demo Member"}
    assert (await _userinfo(world, await _connect(world))).json()["sub"] == demo.id
    assert (await world.control("POST", "/signin", {})).json()["signedIn"] == demo.urn


async def test_signin_refuses_an_unknown_member(world: World) -> None:
    priya = world.members[1]
    await world.control("POST", "/signin", {"member": priya.urn})
    refused = await world.control("POST", "/signin", {"member": "urn:li:person:nobody"})
    assert refused.status_code == 400
    assert refused.json() == {
        "message": "no member urn:li:person:nobody",
        "serviceErrorCode": 400,
        "status": 400,
    }
    assert world.state.signed_in is priya
    assert (await world.control("POST", "/signin", {"member": 3})).status_code == 400


async def test_the_sandbox_member_parameter_picks_one_authorization(world: World) -> None:
    demo, priya, jonas, _ = world.members
    await world.control("POST", "/signin", {"member": priya.urn})
    token = await _connect(world, sandbox_member=jonas.id)
    assert (await _userinfo(world, token)).json()["sub"] == jonas.id
    assert (await _userinfo(world, await _connect(world))).json()["sub"] == priya.id
    assert world.state.signed_in is priya
    unknown = await _authorize(world, sandbox_member="nobody")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "invalid_request",
        "error_description": "sandbox_member: no member nobody",
    }
    assert demo is world.state.catalog.default_member


async def test_members_lists_roles_and_who_is_signed_in(world: World) -> None:
    demo, priya, _, lucia = world.members
    await world.control("POST", "/signin", {"member": priya.id})
    listed = (await world.control("GET", "/members")).json()["members"]
    assert [(m["name"], m["signedIn"]) for m in listed] == [
        ("Demo Member", False),
        ("Priya Raman", True),
        ("Jonas Weber", False),
        ("Lucia Fernandez", False),
    ]
    assert listed[0] == {
        "urn": demo.urn,
        "id": demo.id,
        "name": "Demo Member",
        "adAccounts": [
            {"account": f"urn:li:sponsoredAccount:{a}", "role": r} for a, r in demo.roles
        ],
        "organizations": ["urn:li:organization:2414183"],
        "signedIn": False,
    }
    assert (listed[3]["id"], listed[3]["adAccounts"]) == (lucia.id, [])
    assert (await world.control("GET", "/status")).json()["signedIn"] == priya.urn


async def test_the_signed_in_member_survives_save_and_load(world: World, tmp_path: Path) -> None:
    priya = world.members[1]
    await world.control("POST", "/signin", {"member": priya.urn})
    path = tmp_path / "state.json"
    world.state.save(path)
    await world.control("POST", "/signin", {})
    assert world.state.signed_in.urn != priya.urn
    await world.state.load(path)
    assert world.state.signed_in.urn == priya.urn


# /v2/userinfo.


async def test_userinfo_claims_follow_the_scopes(world: World) -> None:
    demo, priya, _, _ = world.members
    only_openid = await _userinfo(world, await world.token(demo, ["openid"]))
    assert only_openid.status_code == 200
    assert only_openid.headers["content-type"] == "application/json"
    assert only_openid.json() == {"sub": demo.id}
    full = await _userinfo(world, await world.token(priya, ["openid", "profile", "email"]))
    assert full.json() == {
        "sub": priya.id,
        "name": "Priya Raman",
        "given_name": "Priya",
        "family_name": "Raman",
        "locale": {"country": "US", "language": "en"},
        "picture": f"https://media.licdn.com/dms/image/sandbox/{priya.id}/"
        "profile-displayphoto-shrink_100_100/0/",
        "email": "priya.raman@example.com",
        "email_verified": True,
    }
    profile = await _userinfo(world, await world.token(demo, ["openid", "profile"]))
    assert profile.json() == {
        "sub": demo.id,
        "name": "Demo Member",
        "given_name": "Demo",
        "family_name": "Member",
        "locale": {"country": "US", "language": "en"},
    }
    assert demo.urn == f"urn:li:person:{demo.id}"


async def test_userinfo_needs_no_version_headers_but_the_openid_scope(world: World) -> None:
    answer = await _userinfo(world, await world.token(scopes=["r_ads", "profile"]))
    assert answer.status_code == 403
    assert answer.json() == {
        "message": "Not enough permissions to access: userinfo.GET.NO_VERSION",
        "serviceErrorCode": 100,
        "status": 403,
    }
    assert (await _userinfo(world, await world.token(scopes=["openid"]))).status_code == 200


async def test_userinfo_401s_in_linkedins_shape(world: World) -> None:
    def refusal(code: int, message: str) -> dict[str, Any]:
        return {"message": message, "serviceErrorCode": code, "status": 401}

    missing = await _userinfo(world, None)
    assert (missing.status_code, missing.json()) == (
        401,
        refusal(65604, "Empty oauth2_access_token"),
    )
    unknown = await _userinfo(world, "made-up")
    assert unknown.json() == refusal(65600, "Invalid access token")
    revoked = await world.token(scopes=["openid"])
    await world.control("POST", "/tokens/revoke", {"token": revoked})
    assert (await _userinfo(world, revoked)).json() == refusal(
        65601, "The token used in the request has been revoked by the user"
    )
    expiring = await world.token(scopes=["openid"])
    world.state.clock.advance(61 * DAY_S)
    assert world.state.clock.now_ms() > NOW_MS
    expired = await _userinfo(world, expiring)
    assert (expired.status_code, expired.json()) == (
        401,
        refusal(65602, "The token used in the request has expired"),
    )


async def test_userinfo_counts_against_the_member_budget(world: World) -> None:
    await world.control("PATCH", "/config", {"throttle": {"member_daily_limit": 1}})
    token = await world.token(scopes=["openid"])
    assert (await _userinfo(world, token)).status_code == 200
    assert (await _userinfo(world, token)).status_code == 429


# The CLI counterparts.


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    recorded: list[tuple[str, str, Any]] = []

    def request(method: str, url: str, json: Any = None, timeout: float = 0) -> httpx.Response:
        recorded.append((method, url, json))
        answers = {
            "/sandbox/signin": {"signedIn": "urn:li:person:abc", "name": "Priya Raman"},
            "/sandbox/members": {"members": []},
            "/sandbox/tokens": {"access_token": "t"},
        }
        return httpx.Response(200, json=answers[urlsplit(url).path])

    monkeypatch.setattr(httpx, "request", request)  # as control_cli calls it
    return recorded


def test_cli_members_signin_list_and_tokens(calls: list[tuple[str, str, Any]]) -> None:
    runner = CliRunner()
    base = "http://127.0.0.1:1"
    signin = runner.invoke(cli.app, ["--port", "1", "members", "signin", "abc"])
    assert signin.exit_code == 0, signin.output
    assert "signed in: Priya Raman (urn:li:person:abc)" in signin.output
    assert runner.invoke(cli.app, ["--port", "1", "members", "signin"]).exit_code == 0
    assert runner.invoke(cli.app, ["--port", "1", "members", "list"]).exit_code == 0
    issue = runner.invoke(cli.app, ["--port", "1", "tokens", "issue", "--member", "abc"])
    assert issue.exit_code == 0, issue.output
    assert calls == [
        ("POST", f"{base}/sandbox/signin", {"member": "abc"}),
        ("POST", f"{base}/sandbox/signin", {"member": None}),
        ("GET", f"{base}/sandbox/members", None),
        ("POST", f"{base}/sandbox/tokens", {"member": "abc"}),
    ]
