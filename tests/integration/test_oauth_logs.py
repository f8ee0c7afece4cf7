"""The admin process, run as an operator runs it, keeps a LinkedIn authorization's secrets
out of its log: neither the link's state, nor LinkedIn's code and state, which the member's
browser brings in the query of ``/oauth/linkedin/*``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from harness.children import free_port
from harness.processes import Admin
from harness.sandboxes import Sandbox, serving
from leadsync.settings import Settings
from tests.integration.oauth_browser import approve, browser, query_of


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def sandbox(settings: Settings, port: int) -> Iterator[Sandbox]:
    with serving(settings, redirect_uris=(_callback(port),)) as running:
        yield running


def _callback(port: int) -> str:
    return f"http://127.0.0.1:{port}/oauth/linkedin/callback"


async def test_no_oauth_code_or_state_reaches_the_admin_process_log(
    settings: Settings, sandbox: Sandbox, port: int
) -> None:
    callback_url = _callback(port)
    served = settings.model_copy(
        update={
            "admin_port": port,
            "log_level": "debug",  # everything the process would ever say
            "linkedin_api_url": f"{sandbox.url}/rest",
            "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
            "oauth_redirect_url": callback_url,
        }
    )
    operator = {"Authorization": f"Bearer {served.admin_token.get_secret_value()}"}
    name = f"acme-{uuid.uuid4().hex[:8]}"
    with Admin(served) as admin:
        async with httpx.AsyncClient(base_url=admin.url, headers=operator) as api:
            assert (await api.post("/api/accounts", json={"name": name})).status_code == 201
            made = await api.post(f"/api/accounts/{name}/linkedin/authorization")
            assert made.status_code == 201, made.text
        link = made.json()["url"]
        async with browser() as member:
            callback = await approve(member, link, callback_url)
            connected = await member.get(callback)
            assert connected.status_code == 200, connected.text
            replayed = await member.get(callback)  # a refusal is logged as well
            assert replayed.status_code == 400
        raw = admin.log_tail(100_000)
    # One JSON object per line (leadsync.logs): the messages, as uvicorn and leadsync wrote them.
    log = "\n".join(json.loads(line)["message"] for line in raw.splitlines())
    # The access log is on and read here: the paths are there, their queries are not.
    assert '"GET /oauth/linkedin/start HTTP/1.1" 200' in log
    assert '"POST /oauth/linkedin/start HTTP/1.1" 303' in log
    assert '"GET /oauth/linkedin/callback HTTP/1.1" 200' in log
    assert '"GET /oauth/linkedin/callback HTTP/1.1" 400' in log
    assert f"account {name} connected LinkedIn member" in log
    secrets = {
        "link state": query_of(link)["state"],
        "code": query_of(callback)["code"],
        "LinkedIn state": query_of(callback)["state"],
    }
    for what, value in secrets.items():
        assert value not in raw, what
