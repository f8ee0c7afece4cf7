"""The OAuth helper: authorization page, code exchange, and where the secret goes."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from linkedin import (
    BadRequest,
    InMemoryTokenStore,
    MalformedResponse,
    ServerError,
    Unavailable,
)

from .fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    NEW_ACCESS,
    T0,
    FakeClock,
    Script,
    error,
    make_client,
    ok,
    token_answer,
)

CODE = "AQT-authorization-code-xyz"
REDIRECT = "https://leadsync.example/linkedin/callback?x=1"


async def test_authorization_url() -> None:
    async with make_client(Script()) as linkedin:
        url = linkedin.oauth.authorization_url(REDIRECT, "st@te 1")
        custom = linkedin.oauth.authorization_url(REDIRECT, "s", scopes=["r_events"])
    assert url == (
        "https://www.linkedin.com/oauth/v2/authorization?response_type=code"
        f"&client_id={CLIENT_ID}"
        "&redirect_uri=https%3A%2F%2Fleadsync.example%2Flinkedin%2Fcallback%3Fx%3D1"
        "&state=st%40te%201"
        "&scope=r_marketing_leadgen_automation%20r_ads%20r_organization_admin%20openid%20profile"
    )
    assert custom.endswith("&scope=r_events")
    assert CLIENT_SECRET not in url


async def test_connect_exchanges_the_code_and_saves_the_pair() -> None:
    store = InMemoryTokenStore(None)
    answer = token_answer(
        expires_in=5_184_000, refresh_token="R1", refresh_token_expires_in=31_536_000, scope="r_ads"
    )
    script = Script(answer)
    async with make_client(script, store=store) as linkedin:
        pair = await linkedin.connect(CODE, REDIRECT)
    (request,) = script.requests
    assert str(request.url) == "https://www.linkedin.com/oauth/v2/accessToken"
    assert request.method == "POST"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": [CODE],
        "redirect_uri": [REDIRECT],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert store.tokens == pair
    assert pair.access_token.get_secret_value() == NEW_ACCESS
    assert pair.access_expires_at == T0 + 5_184_000
    assert pair.refresh_expires_at == T0 + 31_536_000
    assert pair.scope == "r_ads"


async def test_secret_is_never_in_a_url_or_header() -> None:
    script = Script(token_answer(), token_answer())
    async with make_client(script) as linkedin:
        await linkedin.oauth.exchange_code(CODE, REDIRECT)
        await linkedin.tokens.after_unauthorized("AQV-access-token-" + "a" * 40)
    for request in script.requests:
        assert CLIENT_SECRET.encode() not in request.url.raw_path
        assert all(CLIENT_SECRET not in v for v in request.headers.values())
        assert CLIENT_SECRET.encode() in request.content


async def test_bad_code_is_a_bad_request_not_a_reconnect() -> None:
    refused = httpx.Response(400, json={"error_description": "authorization code expired"})
    async with make_client(Script(refused)) as linkedin:
        with pytest.raises(BadRequest, match="authorization code expired") as caught:
            await linkedin.oauth.exchange_code(CODE, REDIRECT)
    assert type(caught.value) is BadRequest


async def test_code_exchange_is_not_retried_once_it_may_have_reached_linkedin() -> None:
    script = Script(error(500))
    async with make_client(script) as linkedin:
        with pytest.raises(ServerError):
            await linkedin.oauth.exchange_code(CODE, REDIRECT)
    assert len(script.requests) == 1
    script = Script(httpx.ReadTimeout("lost"))
    async with make_client(script) as linkedin:
        with pytest.raises(Unavailable):
            await linkedin.oauth.exchange_code(CODE, REDIRECT)
    assert len(script.requests) == 1


async def test_code_exchange_is_retried_when_throttled() -> None:
    clock = FakeClock()
    script = Script(error(429), token_answer())
    async with make_client(script, clock=clock) as linkedin:
        await linkedin.oauth.exchange_code(CODE, REDIRECT)
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": 10},
        {"access_token": "tok-in-body", "expires_in": "soon"},
        {"access_token": "", "expires_in": 10},
        ["tok-in-body"],
    ],
    ids=["no-token", "bad-expiry", "empty-token", "not-an-object"],
)
async def test_malformed_token_answer(body: object) -> None:
    async with make_client(Script(ok(body))) as linkedin:
        with pytest.raises(MalformedResponse) as caught:
            await linkedin.oauth.exchange_code(CODE, REDIRECT)
    assert "tok-in-body" not in str(caught.value)


async def test_non_json_token_answer() -> None:
    async with make_client(Script(httpx.Response(200, text="<html>"))) as linkedin:
        with pytest.raises(MalformedResponse):
            await linkedin.oauth.exchange_code(CODE, REDIRECT)
