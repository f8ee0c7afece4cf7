"""Registered redirect URIs, enforced as LinkedIn does: exact match at the authorization page,
the same URI again at the code exchange. None registered: any http(s) URI (the default)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner, Result

from leadsync.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox import cli
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.oauth import CODE_REFUSED
from sandbox.oauth_api import redirect_allowed
from sandbox.state import SandboxState
from tests.unit.sandbox.conftest import make_state

CALLBACK = "https://app.example.com:8443/linkedin/callback"
LOCAL = "http://127.0.0.1:8000/linkedin/callback"
REGISTERED = (CALLBACK, LOCAL)
NOT_REGISTERED = {
    "error": "invalid_redirect_uri",
    "error_description": "The redirect_uri does not match the registered value",
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    state = make_state(SandboxConfig(redirect_uris=REGISTERED))
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def _authorize(http: httpx.AsyncClient, redirect_uri: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": "s1",
    }
    return await http.get("/oauth/v2/authorization", params=params)


async def _exchange(http: httpx.AsyncClient, code: str, redirect_uri: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uri": redirect_uri,
    }
    return await http.post("/oauth/v2/accessToken", data=form)


def _code(answer: httpx.Response) -> str:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


@pytest.mark.parametrize("registered", REGISTERED)
async def test_a_registered_uri_gets_the_code_and_redeems_it(
    http: httpx.AsyncClient, registered: str
) -> None:
    answer = await _authorize(http, registered)
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == registered
    assert parse_qs(location.query)["state"] == ["s1"]
    tokens = await _exchange(http, _code(answer), registered)
    assert tokens.status_code == 200, tokens.text


@pytest.mark.parametrize(
    "near_miss",
    [
        "https://app.example.com:8443/linkedin/callback/",  # trailing slash
        "https://app.example.com:8443/linkedin/callback/extra",  # a registered prefix
        "https://app.example.com:8443/linkedin",  # a prefix of the registered
        "https://app.example.com:8443/linkedin/Callback",  # path case
        "http://app.example.com:8443/linkedin/callback",  # scheme
        "https://APP.example.com:8443/linkedin/callback",  # host case
        "https://evil.example.com:8443/linkedin/callback",  # host
        "https://app.example.com.evil.net:8443/linkedin/callback",  # host suffix
        "https://app.example.com/linkedin/callback",  # port
        "https://app.example.com:9443/linkedin/callback",  # port
        "http://127.0.0.1:80/linkedin/callback",  # port
        "http://127.0.0.1:8000/linkedin/callback?next=/x",  # query
        "http://localhost:8000/linkedin/callback",  # another name of the same host
        "https://app.example.com:8443/linkedin/callback#x",  # fragment
        "ftp://app.example.com:8443/linkedin/callback",  # not http(s)
    ],
)
async def test_anything_but_an_exact_match_is_refused(
    http: httpx.AsyncClient, near_miss: str
) -> None:
    answer = await _authorize(http, near_miss)
    assert answer.status_code == 400
    assert answer.json() == NOT_REGISTERED
    assert "location" not in answer.headers


async def test_a_missing_redirect_uri_is_invalid_request(http: httpx.AsyncClient) -> None:
    answer = await http.get(
        "/oauth/v2/authorization", params={"response_type": "code", "client_id": DEMO_CLIENT_ID}
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "invalid_request", "error_description": "missing redirect_uri"},
    )


async def test_the_exchange_must_repeat_the_authorizations_uri(http: httpx.AsyncClient) -> None:
    # Another registered URI is not enough: it must be the one the code was issued for.
    code = _code(await _authorize(http, CALLBACK))
    refused = await _exchange(http, code, LOCAL)
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "invalid_redirect_uri", "error_description": CODE_REFUSED},
    )
    # The code was spent by the refused attempt.
    again = await _exchange(http, code, CALLBACK)
    assert (again.status_code, again.json()) == (
        400,
        {"error": "invalid_request", "error_description": CODE_REFUSED},
    )
    other = _code(await _authorize(http, CALLBACK))
    assert (await _exchange(http, other, CALLBACK + "/")).status_code == 400


async def test_nothing_registered_accepts_any_http_uri() -> None:
    state = make_state()
    assert state.config.redirect_uris == ()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        for uri in ("http://localhost:9/cb", "https://anything.example/x?y=1"):
            code = _code(await _authorize(http, uri))
            assert (await _exchange(http, code, uri)).status_code == 200
        assert (await _authorize(http, "ftp://host/cb")).json() == NOT_REGISTERED
        code = _code(await _authorize(http, "http://localhost:9/cb"))
        assert (await _exchange(http, code, "http://localhost:9/cb/")).status_code == 400


def test_the_rule_itself() -> None:
    assert redirect_allowed((), "http://x/cb")
    assert not redirect_allowed((), "http://x/cb#frag")
    assert redirect_allowed(REGISTERED, LOCAL)
    assert not redirect_allowed(REGISTERED, LOCAL[:-1])
    assert not redirect_allowed(REGISTERED, LOCAL + "s")


async def test_registering_at_runtime_and_refusing_bad_uris() -> None:
    state = make_state()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        patched = await http.patch("/sandbox/config", json={"redirect_uris": [LOCAL]})
        assert patched.json()["redirect_uris"] == [LOCAL]
        assert (await _authorize(http, "http://localhost:9/cb")).json() == NOT_REGISTERED
        assert (await _authorize(http, LOCAL)).status_code == 302
        bad = await http.patch("/sandbox/config", json={"redirect_uris": ["/relative/cb"]})
        assert bad.status_code == 400
        assert state.config.redirect_uris == (LOCAL,)
    with pytest.raises(ValidationError, match="not an absolute http"):
        SandboxConfig(redirect_uris=("https://x/cb#f",))


# The command line and the state file.


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[list[SandboxState], Result]:
    started: list[SandboxState] = []

    def create(sandbox: SandboxState, **_kwargs: Any) -> object:
        started.append(sandbox)
        return object()

    monkeypatch.setattr(cli, "create_app", create)
    monkeypatch.setattr(cli, "serve", lambda *_args: None)
    return started, CliRunner().invoke(cli.app, ["--port", "1", *args])


def _start(monkeypatch: pytest.MonkeyPatch, *args: str) -> SandboxState:
    started, result = _run(monkeypatch, *args)
    assert result.exit_code == 0, result.output
    return started[0]


def test_redirect_uri_option_is_repeatable(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = _start(monkeypatch, "--redirect-uri", CALLBACK, "--redirect-uri", LOCAL)
    assert sandbox.config.redirect_uris == (CALLBACK, LOCAL)
    assert _start(monkeypatch).config.redirect_uris == ()


def test_a_bad_redirect_uri_option_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    started, result = _run(monkeypatch, "--redirect-uri", "localhost:8000/cb")
    assert started == []
    assert result.exit_code == 2
    said = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # unboxed, unwrapped
    assert "'localhost:8000/cb' is not an absolute http(s) URL without a fragment" in said


def test_registered_uris_live_in_the_state_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "sandbox.json"
    make_state(SandboxConfig(redirect_uris=REGISTERED)).save(path)
    assert _start(monkeypatch, "--state", str(path)).config.redirect_uris == REGISTERED
    overridden = _start(monkeypatch, "--state", str(path), "--redirect-uri", LOCAL)
    assert overridden.config.redirect_uris == (LOCAL,)
    other = make_state()
    other.config = other.config.patched({"retention_days": 30})
    other.save(path)
    untouched = _start(monkeypatch, "--state", str(path), "--retention-days", "40")
    assert (untouched.config.redirect_uris, untouched.config.retention_days) == ((), 40)
