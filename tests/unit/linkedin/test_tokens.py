"""Proactive refresh, one refresh on 401, and the member-must-reconnect cases."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from linkedin import InMemoryTokenStore, ReconnectRequired, TokenPair

from .fakes import (
    ACCESS,
    CLIENT_ID,
    CLIENT_SECRET,
    NEW_ACCESS,
    REFRESH,
    T0,
    FakeClock,
    Script,
    error,
    make_client,
    ok,
    token_answer,
    tokens,
)

FORM = ok({"id": 1})


def form_body(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def is_refresh(request: httpx.Request) -> bool:
    return str(request.url) == "https://www.linkedin.com/oauth/v2/accessToken"


async def get_form(
    script: Script, store: InMemoryTokenStore, clock: FakeClock | None = None
) -> None:
    async with make_client(script, store=store, clock=clock) as linkedin:
        await linkedin.get_form(1)


async def test_fresh_token_is_used_without_refresh() -> None:
    store = InMemoryTokenStore(tokens(expires_in=3600))
    script = Script(FORM)
    await get_form(script, store)
    assert len(script.requests) == 1
    assert store.saves == 0


async def test_token_near_expiry_is_refreshed_before_the_call() -> None:
    store = InMemoryTokenStore(tokens(expires_in=100))  # inside the 300 s margin
    script = Script(token_answer(expires_in=5_184_000), FORM)
    await get_form(script, store)
    refresh, call = script.requests
    assert is_refresh(refresh)
    assert refresh.method == "POST"
    assert refresh.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_body(refresh) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert "Authorization" not in refresh.headers
    assert call.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    saved = store.tokens
    assert saved is not None
    assert saved.access_token.get_secret_value() == NEW_ACCESS
    assert saved.access_expires_at == T0 + 5_184_000
    # LinkedIn does not extend the refresh token: the old one and its expiry are kept.
    assert saved.refresh_token is not None
    assert saved.refresh_token.get_secret_value() == REFRESH
    assert saved.refresh_expires_at == T0 + 300 * 86_400
    assert store.saves == 1


async def test_refresh_answer_with_a_refresh_token_replaces_it() -> None:
    store = InMemoryTokenStore(tokens(expires_in=0))
    answer = token_answer(refresh_token="R2", refresh_token_expires_in=1000, scope="r_ads")
    await get_form(Script(answer, FORM), store)
    assert store.tokens is not None
    assert store.tokens.refresh_token == SecretStr("R2")
    assert store.tokens.refresh_expires_at == T0 + 1000
    assert store.tokens.scope == "r_ads"


async def test_401_refreshes_once_and_retries_the_call() -> None:
    store = InMemoryTokenStore(tokens())
    script = Script(error(401, "Expired access token", 65601), token_answer(), FORM)
    await get_form(script, store)
    first, refresh, retry = script.requests
    assert first.headers["Authorization"] == f"Bearer {ACCESS}"
    assert is_refresh(refresh)
    assert retry.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert retry.url == first.url
    assert store.saves == 1


async def test_second_401_means_reconnect() -> None:
    store = InMemoryTokenStore(tokens())
    script = Script(error(401, "Revoked access token", 65602), token_answer(), error(401))
    with pytest.raises(ReconnectRequired) as caught:
        await get_form(script, store)
    assert len(script.requests) == 3
    assert caught.value.status == 401
    assert not caught.value.retriable


async def test_revoked_refresh_token_on_401_means_reconnect() -> None:
    store = InMemoryTokenStore(tokens())
    refused = httpx.Response(
        400,
        json={
            "error": "invalid_request",
            "error_description": "The token has been revoked",
        },
    )
    script = Script(error(401), refused)
    with pytest.raises(ReconnectRequired, match="reconnect") as caught:
        await get_form(script, store)
    assert caught.value.status == 400
    assert "revoked" in str(caught.value.message)
    assert len(script.requests) == 2
    assert store.saves == 0


async def test_revoked_refresh_token_on_proactive_refresh_means_reconnect() -> None:
    store = InMemoryTokenStore(tokens(expires_in=10))
    script = Script(httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(ReconnectRequired):
        await get_form(script, store)
    assert len(script.requests) == 1


async def test_refresh_endpoint_5xx_is_retried() -> None:
    clock = FakeClock()
    store = InMemoryTokenStore(tokens(expires_in=10))
    script = Script(error(503), token_answer(), FORM)
    await get_form(script, store, clock)
    assert len(clock.sleeps) == 1
    assert store.saves == 1


async def test_no_stored_connection_means_reconnect_without_any_call() -> None:
    script = Script()
    with pytest.raises(ReconnectRequired, match="connect"):
        await get_form(script, InMemoryTokenStore(None))
    assert script.requests == []


@pytest.mark.parametrize(
    "pair",
    [
        tokens(expires_in=-1, refresh=None),
        tokens(expires_in=-1, refresh_expires_in=-1),
        tokens(expires_in=-1, refresh=""),
    ],
    ids=["no-refresh-token", "refresh-token-expired", "empty-refresh-token"],
)
async def test_expired_with_nothing_to_refresh_with_means_reconnect(pair: TokenPair) -> None:
    script = Script()
    with pytest.raises(ReconnectRequired, match="expired"):
        await get_form(script, InMemoryTokenStore(pair))
    assert script.requests == []


async def test_last_minutes_of_a_token_that_cannot_be_refreshed_are_still_used() -> None:
    script = Script(FORM)
    await get_form(script, InMemoryTokenStore(tokens(expires_in=60, refresh=None)))
    assert script.requests[0].headers["Authorization"] == f"Bearer {ACCESS}"


async def test_401_without_a_refresh_token_means_reconnect() -> None:
    script = Script(error(401))
    with pytest.raises(ReconnectRequired, match="no refresh token"):
        await get_form(script, InMemoryTokenStore(tokens(refresh=None)))
    assert len(script.requests) == 1


async def test_401_after_another_process_refreshed_uses_the_stored_token() -> None:
    store = InMemoryTokenStore(tokens())
    script = Script(FORM)
    async with make_client(script, store=store) as linkedin:
        await linkedin.get_form(1)  # caches ACCESS
        store.tokens = tokens(access=NEW_ACCESS)  # the puller refreshed meanwhile
        script.add(error(401), FORM)
        await linkedin.get_form(1)
    assert [r.headers["Authorization"] for r in script.requests] == [
        f"Bearer {ACCESS}",
        f"Bearer {ACCESS}",
        f"Bearer {NEW_ACCESS}",
    ]
    assert not any(is_refresh(r) for r in script.requests)


async def test_concurrent_calls_share_one_refresh() -> None:
    store = InMemoryTokenStore(tokens(expires_in=10))
    script = Script(token_answer(), *[FORM] * 5)
    async with make_client(script, store=store) as linkedin:
        await asyncio.gather(*(linkedin.get_form(1) for _ in range(5)))
    assert sum(is_refresh(r) for r in script.requests) == 1
    assert store.saves == 1
    calls = [r for r in script.requests if not is_refresh(r)]
    assert all(r.headers["Authorization"] == f"Bearer {NEW_ACCESS}" for r in calls)


async def test_the_refreshed_token_is_reused_until_it_nears_expiry() -> None:
    clock = FakeClock()
    store = InMemoryTokenStore(tokens(expires_in=10))
    script = Script(token_answer(expires_in=1000), FORM, FORM)
    async with make_client(script, store=store, clock=clock) as linkedin:
        await linkedin.get_form(1)
        clock.now += 600  # 400 s left: still outside the margin
        await linkedin.get_form(1)
        clock.now += 200  # 200 s left: inside it
        script.add(token_answer(access="third"), FORM)
        await linkedin.get_form(1)
    assert sum(is_refresh(r) for r in script.requests) == 2
    assert script.requests[-1].headers["Authorization"] == "Bearer third"


def test_token_pair_repr_hides_tokens() -> None:
    pair = tokens()
    assert ACCESS not in repr(pair)
    assert REFRESH not in repr(pair)
    assert set(pair.secrets()) == {ACCESS, REFRESH}
