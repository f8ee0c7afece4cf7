"""Contract: headers, tokens, OAuth, throttling and faults, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from leadsync.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.contract.conftest import VERSION, Sandbox, leads_query

REDIRECT = "http://127.0.0.1:8000/linkedin/callback"


def _error(response: httpx.Response, status: int, code: int | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "serviceErrorCode", "status"}
    assert body["status"] == status
    if code is not None:
        assert body["serviceErrorCode"] == code
    message: str = body["message"]
    return message


def test_missing_version_is_400_and_sunset_is_426(sandbox: Sandbox) -> None:
    token = sandbox.token()
    _error(sandbox.rest("GET", leads_query(), token, headers={"LinkedIn-Version": ""}), 400)
    message = _error(
        sandbox.rest("GET", leads_query(), token, headers={"LinkedIn-Version": "202301"}), 426
    )
    assert "202301 is not active" in message
    _error(sandbox.rest("GET", leads_query(), token, headers={"LinkedIn-Version": "2026-11"}), 426)


def test_missing_protocol_header_is_400(sandbox: Sandbox) -> None:
    response = sandbox.rest("GET", leads_query(), headers={"X-Restli-Protocol-Version": ""})
    assert "2.0.0" in _error(response, 400)
    response = sandbox.rest("GET", leads_query(), headers={"X-Restli-Protocol-Version": "1.0.0"})
    _error(response, 400)


def test_missing_and_unknown_tokens_are_401(sandbox: Sandbox) -> None:
    no_token = sandbox.http.get(
        "/rest/adAccountUsers?q=authenticatedUser",
        headers={"LinkedIn-Version": VERSION, "X-Restli-Protocol-Version": "2.0.0"},
    )
    _error(no_token, 401, 65604)
    _error(sandbox.rest("GET", "adAccountUsers?q=authenticatedUser", "made-up"), 401, 65600)


def test_unknown_rest_path_answers_in_linkedin_shape(sandbox: Sandbox) -> None:
    _error(sandbox.rest("GET", "leadGenForms"), 404)
    _error(sandbox.rest("PUT", "leadForms/7234246"), 405)


def test_scopes_are_enforced(sandbox: Sandbox) -> None:
    ads_only = sandbox.token(["r_ads"])
    assert sandbox.rest("GET", "adAccounts/1234567", ads_only).status_code == 200
    _error(sandbox.rest("GET", leads_query(), ads_only), 403, 100)


def test_oauth_code_flow_refresh_and_revocation(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    authorize = sandbox.http.get(
        "/oauth/v2/authorization",
        params={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "xyz",
            "scope": "r_marketing_leadgen_automation r_ads r_organization_admin",
        },
    )
    assert authorize.status_code == 302
    location = urlsplit(authorize.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uri": REDIRECT,
    }
    tokens = sandbox.http.post("/oauth/v2/accessToken", data=form)
    assert tokens.status_code == 200, tokens.text
    answer = tokens.json()
    assert answer["expires_in"] == 60 * 86_400
    assert answer["refresh_token_expires_in"] == 365 * 86_400
    assert len(answer["access_token"]) >= 400
    assert sandbox.rest("GET", leads_query(), answer["access_token"]).status_code == 200
    # The code was single use.
    assert (
        sandbox.http.post("/oauth/v2/accessToken", data=form).json()["error"] == "invalid_request"
    )

    # 61 days later the access token has expired; refreshing mints a new one.
    sandbox.control("POST", "/clock/advance", {"seconds": 61 * 86_400})
    _error(sandbox.rest("GET", leads_query(), answer["access_token"]), 401, 65602)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": answer["refresh_token"],
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    refreshed = sandbox.http.post("/oauth/v2/accessToken", data=refresh).json()
    assert refreshed["refresh_token"] == answer["refresh_token"]
    # The clock runs in real time too: allow the seconds the test itself took.
    left = (365 - 61) * 86_400
    assert left - 30 <= refreshed["refresh_token_expires_in"] <= left
    assert sandbox.rest("GET", leads_query(), refreshed["access_token"]).status_code == 200

    # Revoked at LinkedIn: every call answers 401 and the refresh token is dead too.
    revoke = {"token": refreshed["access_token"], "client_id": DEMO_CLIENT_ID}
    revoked = sandbox.http.post(
        "/oauth/v2/revoke", data=revoke | {"client_secret": DEMO_CLIENT_SECRET}
    )
    assert revoked.status_code == 200
    _error(sandbox.rest("GET", leads_query(), refreshed["access_token"]), 401, 65601)
    bad = sandbox.http.post("/oauth/v2/accessToken", data=refresh)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")


def test_a_member_who_cancels_consent(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    sandbox.control("PATCH", "/config", {"member_denies_consent": True})
    params = {"response_type": "code", "client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT}
    answer = sandbox.http.get("/oauth/v2/authorization", params=params | {"state": "s1"})
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["user_cancelled_authorize"]
    assert query["state"] == ["s1"]
    assert "code" not in query


def test_oauth_refusals(sandbox: Sandbox) -> None:
    wrong_secret = {
        "grant_type": "refresh_token",
        "refresh_token": "x",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": "wrong",
    }
    response = sandbox.http.post("/oauth/v2/accessToken", data=wrong_secret)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert "wrong" not in response.text
    unknown_client = sandbox.http.get(
        "/oauth/v2/authorization",
        params={"response_type": "code", "client_id": "nope", "redirect_uri": REDIRECT},
    )
    assert unknown_client.status_code == 400
    json_body = sandbox.http.post("/oauth/v2/accessToken", json={"grant_type": "refresh_token"})
    assert json_body.status_code == 400


def test_control_revocation_makes_calls_401(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    token = sandbox.token()
    assert sandbox.rest("GET", leads_query(), token).status_code == 200
    assert sandbox.control("POST", "/tokens/revoke", {}) == {"revoked": 1}
    _error(sandbox.rest("GET", leads_query(), token), 401, 65601)


def test_member_budget_then_429_with_or_without_retry_after(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    token = sandbox.token()
    sandbox.control("PATCH", "/config", {"throttle": {"member_daily_limit": 3}})
    for _ in range(3):
        assert sandbox.rest("GET", leads_query(), token).status_code == 200
    throttled = sandbox.rest("GET", leads_query(), token)
    assert "DAY limit" in _error(throttled, 429, 101)
    assert "retry-after" not in throttled.headers
    sandbox.control("PATCH", "/config", {"throttle": {"retry_after": True}})
    throttled = sandbox.rest("GET", leads_query(), token)
    _error(throttled, 429)
    assert 0 < int(throttled.headers["retry-after"]) <= 86_400
    sandbox.control("POST", "/clock/advance", {"seconds": 86_400})
    assert sandbox.rest("GET", leads_query(), sandbox.token()).status_code == 200


def test_injected_server_errors_and_latency(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    token = sandbox.token()
    sandbox.control("PATCH", "/config", {"faults": {"error_rate": 1.0, "error_statuses": [504]}})
    _error(sandbox.rest("GET", leads_query(), token), 504)
    sandbox.control("PATCH", "/config", {"faults": {"error_rate": 0.0, "latency_ms": 300.0}})
    response = sandbox.rest("GET", leads_query(), token)
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.3
    refused = sandbox.http.patch("/sandbox/config", json={"faults": {"error_rate": 7}})
    assert refused.status_code == 400


def test_state_survives_save_and_load(fresh: Callable[[], Sandbox], tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    sandbox = fresh()
    created = sandbox.control("POST", "/leads", {"count": 25})
    token = sandbox.token()
    path = tmp_path / "state.json"
    assert sandbox.control("POST", "/state/save", {"path": str(path)})["leads"] == 25
    other = fresh()
    assert other.control("POST", "/state/load", {"path": str(path)})["leads"] == 25
    lead_id = created["ids"][0]
    again = other.rest("GET", f"leadFormResponses/{lead_id}", token)
    assert again.status_code == 200
    original = sandbox.rest("GET", f"leadFormResponses/{lead_id}", token)
    assert again.json() == original.json()
