"""Token lifecycle on the sandbox clock, and the 401 each bad token earns."""

from __future__ import annotations

import pytest

from sandbox.clock import Clock
from sandbox.errors import RestliError
from sandbox.oauth import CODE_REFUSED, OAuthError, TokenStore

DAY_S = 86_400
MEMBER = "urn:li:person:abc"


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at_ms=1_790_000_000_000)


def _unauthorized(store: TokenStore, header: str | None) -> RestliError:
    with pytest.raises(RestliError) as caught:
        store.authenticate(header)
    assert caught.value.status == 401
    return caught.value


def test_code_exchange_gives_long_tokens_with_lifetimes(clock: Clock) -> None:
    store = TokenStore(clock)
    code = store.issue_code("http://localhost/cb", ["r_ads"], MEMBER)
    answer = store.exchange_code(code, "http://localhost/cb", 60 * DAY_S, 365 * DAY_S)
    assert answer["expires_in"] == 60 * DAY_S
    assert answer["refresh_token_expires_in"] == 365 * DAY_S
    assert answer["scope"] == "r_ads"
    assert len(answer["access_token"]) > 400
    assert len(answer["refresh_token"]) > 400
    assert store.authenticate(f"Bearer {answer['access_token']}").member_urn == MEMBER


def test_code_is_single_use_and_bound_to_its_redirect(clock: Clock) -> None:
    store = TokenStore(clock)
    code = store.issue_code("http://localhost/cb", ["r_ads"], MEMBER)
    with pytest.raises(OAuthError) as mismatch:
        store.exchange_code(code, "http://evil/cb", 60, 120)
    assert (mismatch.value.status, mismatch.value.error) == (400, "invalid_redirect_uri")
    assert mismatch.value.description == CODE_REFUSED
    with pytest.raises(OAuthError) as spent:
        store.exchange_code(code, "http://localhost/cb", 60, 120)
    assert (spent.value.status, spent.value.error) == (400, "invalid_request")
    assert spent.value.description == CODE_REFUSED


def test_code_expires_after_30_minutes(clock: Clock) -> None:
    store = TokenStore(clock)
    code = store.issue_code("http://localhost/cb", ["r_ads"], MEMBER)
    clock.advance(31 * 60)
    with pytest.raises(OAuthError):
        store.exchange_code(code, "http://localhost/cb", 60, 120)


def test_missing_unknown_expired_and_revoked_tokens_are_told_apart(clock: Clock) -> None:
    store = TokenStore(clock)
    assert _unauthorized(store, None).service_error_code == 65604
    assert _unauthorized(store, "Bearer ").service_error_code == 65604
    assert _unauthorized(store, "Basic abc").service_error_code == 65604
    assert _unauthorized(store, "Bearer nope").service_error_code == 65600
    token = store.new_grant(MEMBER, ["r_ads"], 60, 3600)["access_token"]
    clock.advance(61)
    assert _unauthorized(store, f"Bearer {token}").service_error_code == 65602
    fresh = store.new_grant(MEMBER, ["r_ads"], 60, 3600)["access_token"]
    assert store.revoke(fresh)
    assert _unauthorized(store, f"Bearer {fresh}").service_error_code == 65601


def test_refresh_mints_access_but_never_extends_the_refresh_token(clock: Clock) -> None:
    store = TokenStore(clock)
    first = store.new_grant(MEMBER, ["r_ads"], 60 * DAY_S, 365 * DAY_S)
    clock.advance(100 * DAY_S)
    second = store.refresh(first["refresh_token"], 60 * DAY_S)
    assert second["refresh_token"] == first["refresh_token"]
    assert second["refresh_token_expires_in"] == 265 * DAY_S
    assert second["access_token"] != first["access_token"]
    store.authenticate(f"Bearer {second['access_token']}")
    clock.advance(266 * DAY_S)
    with pytest.raises(OAuthError) as caught:
        store.refresh(first["refresh_token"], 60)
    assert (caught.value.status, caught.value.error) == (400, "invalid_request")


def test_revoking_the_refresh_token_revokes_the_whole_grant(clock: Clock) -> None:
    store = TokenStore(clock)
    answer = store.new_grant(MEMBER, ["r_ads"], 60, 3600)
    assert store.revoke(answer["refresh_token"])
    assert _unauthorized(store, f"Bearer {answer['access_token']}").service_error_code == 65601
    with pytest.raises(OAuthError):
        store.refresh(answer["refresh_token"], 60)
    assert not store.revoke("unknown")


def test_tokens_survive_a_save_and_restore(clock: Clock) -> None:
    store = TokenStore(clock)
    answer = store.new_grant(MEMBER, ["r_ads"], 60, 3600)
    restored = TokenStore(clock)
    restored.restore(store.to_state())
    assert restored.authenticate(f"Bearer {answer['access_token']}").member_urn == MEMBER
