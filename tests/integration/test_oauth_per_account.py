"""An account connects its own LinkedIn member through the admin process's OAuth callback
(the sandbox holding the app's registered redirect URI to the letter, as LinkedIn does): the
state binds the callback to the account and works once; the member is LinkedIn's."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import psycopg
import pytest
from psycopg import AsyncConnection

from harness.processes import leadsync
from harness.sandboxes import Sandbox, serving
from leadsync.settings import Settings
from tests.integration.admin_client import admin_client, new_account

Conn = AsyncConnection[tuple[object, ...]]
CALLBACK = "http://127.0.0.1:8000/oauth/linkedin/callback"


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    # The callback is registered in the app: any other redirect URI is refused.
    with serving(settings, redirect_uris=(CALLBACK,)) as running:
        yield running


@pytest.fixture(scope="module")
def app_settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "linkedin_api_url": f"{sandbox.url}/rest",
            "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
            "oauth_redirect_url": CALLBACK,
        }
    )


@pytest.fixture(scope="module")
async def client(app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The operator's client."""
    async with admin_client(app_settings) as http:
        yield http


async def _account(client: httpx.AsyncClient) -> str:
    name = f"acme-{uuid.uuid4().hex[:8]}"
    assert (await client.post("/api/accounts", json={"name": name})).status_code == 201
    return name


async def _approve(
    client: httpx.AsyncClient,
    account: str,
    member: str | None = None,
    path: str = "/api/accounts/{account}/linkedin/authorization",
) -> str:
    """The account's authorization link (asked for at ``path``), approved on the sandbox (as
    ``member``); the query LinkedIn sends back to the callback."""
    made = await client.post(path.format(account=account))
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert made.json()["expires_in_s"] == 900
    assert urlsplit(url).path == "/oauth/v2/authorization"
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == [CALLBACK]
    if member is not None:
        url += "&" + urlencode({"sandbox_member": member})
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return back.query


async def _connections(db: Conn, account: str) -> list[tuple[object, ...]]:
    cur = await db.execute(
        "SELECT c.member_urn, c.member_name, c.status FROM linkedin_connections c"
        " JOIN accounts a ON a.id = c.account_id WHERE a.name = %s ORDER BY c.id",
        (account,),
    )
    return await cur.fetchall()


async def test_an_account_connects_its_member_and_its_forms_are_discovered(
    client: httpx.AsyncClient, sandbox: Sandbox, db: Conn
) -> None:
    account = await _account(client)
    query = await _approve(client, account)
    connected = await client.get(f"/oauth/linkedin/callback?{query}")
    assert connected.status_code == 200, connected.text
    body = connected.json()
    demo = sandbox.state.catalog.member_urn
    assert (body["account"], body["member_urn"], body["member_name"]) == (
        account,
        demo,
        "Demo Member",
    )
    assert body["ad_accounts"] >= 2
    assert body["forms"] > 0
    assert await _connections(db, account) == [(demo, "Demo Member", "active")]
    cur = await db.execute(
        "SELECT count(*) FROM forms WHERE connection_id = %s", (body["connection_id"],)
    )
    assert await cur.fetchone() == (body["forms"],)

    # The same answer again (a reload, a replay): refused, nothing changes.
    replayed = await client.get(f"/oauth/linkedin/callback?{query}")
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "state_invalid"
    assert await _connections(db, account) == [(demo, "Demo Member", "active")]


async def test_each_account_gets_the_member_it_signed_in_with(
    client: httpx.AsyncClient, sandbox: Sandbox, db: Conn
) -> None:
    members = sandbox.state.catalog.members
    [priya] = [urn for urn, m in members.items() if m.first_name == "Priya"]
    demo = sandbox.state.catalog.member_urn
    first, second = await _account(client), await _account(client)
    query_first = await _approve(client, first)
    query_second = await _approve(client, second, member=priya)
    for query in (query_second, query_first):  # out of order: the state decides
        assert (await client.get(f"/oauth/linkedin/callback?{query}")).status_code == 200
    assert await _connections(db, first) == [(demo, "Demo Member", "active")]
    assert await _connections(db, second) == [(priya, "Priya Raman", "active")]


@pytest.mark.parametrize(
    "query",
    ["", "code=abc", "state=never-made&code=abc", "state=&code=abc"],
)
async def test_a_callback_without_a_state_of_ours_is_refused(
    client: httpx.AsyncClient, query: str
) -> None:
    answer = await client.get(f"/oauth/linkedin/callback?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"] == "state_invalid"


async def test_a_member_who_declines_leaves_no_connection_and_the_state_is_spent(
    client: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    made = await client.post(f"/api/accounts/{account}/linkedin/authorization")
    state = parse_qs(urlsplit(made.json()["url"]).query)["state"][0]
    declined = urlencode(
        {"state": state, "error": "user_cancelled_authorize", "error_description": "declined"}
    )
    answer = await client.get(f"/oauth/linkedin/callback?{declined}")
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "not_connected",
        "message": "LinkedIn did not authorize leadsync: declined",
        "details": [],
    }
    assert await _connections(db, account) == []
    again = await client.get(f"/oauth/linkedin/callback?{declined}")
    assert again.json()["error"] == "state_invalid"


async def test_no_link_for_a_disabled_or_unknown_account(client: httpx.AsyncClient) -> None:
    account = await _account(client)
    assert (await client.post(f"/api/accounts/{account}/disable")).status_code == 200
    disabled = await client.post(f"/api/accounts/{account}/linkedin/authorization")
    assert (disabled.status_code, disabled.json()["error"]) == (409, "account_disabled")
    unknown = await client.post("/api/accounts/no-such-account/linkedin/authorization")
    assert unknown.status_code == 404


@pytest.fixture(scope="module")
def open_sandbox(settings: Settings) -> Iterator[Sandbox]:
    """A sandbox whose app registered no redirect URI (any is accepted): the command line's
    loopback flow."""
    with serving(settings) as running:
        yield running


def test_the_command_line_connects_for_the_account_it_names(
    settings: Settings, open_sandbox: Sandbox
) -> None:
    cli = settings.model_copy(
        update={
            "linkedin_api_url": f"{open_sandbox.url}/rest",
            "linkedin_oauth_url": f"{open_sandbox.url}/oauth/v2",
        }
    )
    name = f"acme-{uuid.uuid4().hex[:8]}"
    leadsync(cli, "accounts", "create", name)
    out = leadsync(cli, "linkedin", "connect", "--account", name, "--no-discover")
    demo = open_sandbox.state.catalog.member_urn
    assert re.search(rf"connected Demo Member \({demo}, connection \d+, account {name}\);", out)
    with psycopg.connect(settings.database_conninfo()) as conn:
        rows = conn.execute(
            "SELECT c.member_urn FROM linkedin_connections c"
            " JOIN accounts a ON a.id = c.account_id WHERE a.name = %s",
            (name,),
        ).fetchall()
    assert rows == [(demo,)]
    # An unknown account is refused before anyone is sent to LinkedIn.
    err = leadsync(cli, "linkedin", "connect", "--account", "no-such", returncode=2, stderr=True)
    assert "not connected: there is no account named 'no-such'" in err


async def test_an_account_asks_for_its_own_link_with_its_api_token(
    app_settings: Settings, client: httpx.AsyncClient, sandbox: Sandbox, db: Conn
) -> None:
    account = await new_account(app_settings)
    async with admin_client(app_settings, account.token) as own:
        query = await _approve(own, account.name, path="/api/linkedin/authorization")
        # The operator's route for a named account is not the account's to use.
        other = await _account(client)
        refused = await own.post(f"/api/accounts/{other}/linkedin/authorization")
        assert refused.status_code == 403
        assert refused.json()["error"] == "operator_token_required"
    # LinkedIn's redirect brings the member's browser, with no token: the state decides.
    connected = await client.get(f"/oauth/linkedin/callback?{query}", headers={"Authorization": ""})
    assert connected.status_code == 200, connected.text
    assert connected.json()["account"] == account.name
    demo = sandbox.state.catalog.member_urn
    assert await _connections(db, account.name) == [(demo, "Demo Member", "active")]
    assert await _connections(db, other) == []
    # The operator token cannot start an account's own link (it names no account).
    operator_only = await client.post("/api/linkedin/authorization")
    assert operator_only.status_code == 403
    assert operator_only.json()["error"] == "account_token_required"
