"""The operator's account routes of the admin API: make (the token is in that answer only),
list, disable, enable again, another token; refusals in the API's error shape; nothing
without the operator token, and nothing for an account's token; a disabled account's token
opens nothing any more."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from psycopg import AsyncConnection

from leadsync.api_tokens import PREFIX
from leadsync.settings import Settings
from tests.integration.admin_client import admin_client, new_account

Conn = AsyncConnection[tuple[object, ...]]
# The operator's routes: accounts, and a named account's LinkedIn link.
OPERATOR_ROUTES = [
    ("GET", "/api/accounts"),
    ("POST", "/api/accounts"),
    ("POST", "/api/accounts/x/disable"),
    ("POST", "/api/accounts/x/enable"),
    ("POST", "/api/accounts/x/tokens"),
    ("POST", "/api/accounts/x/linkedin/authorization"),
]


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings) as http:
        yield http


def _name() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


async def test_an_account_made_through_the_api_answers_its_token_once(
    client: httpx.AsyncClient, db: Conn
) -> None:
    name = _name()
    made = await client.post("/api/accounts", json={"name": name})
    assert made.status_code == 201, made.text
    body = made.json()
    token = body.pop("token")
    assert token.startswith(PREFIX)
    assert body["name"] == name
    assert (body["status"], body["disabled_at"], body["tokens"]) == ("active", None, 1)
    cur = await db.execute(
        "SELECT t.token_sha256 FROM account_tokens t JOIN accounts a ON a.id = t.account_id"
        " WHERE a.name = %s",
        (name,),
    )
    assert await cur.fetchall() == [(hashlib.sha256(token.encode()).digest(),)]

    listed = (await client.get("/api/accounts")).json()["accounts"]
    [mine] = [a for a in listed if a["name"] == name]
    assert mine == body  # the listing never holds a token
    assert token not in str(listed)
    assert all("token" not in a for a in listed)

    disabled = await client.post(f"/api/accounts/{name}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert disabled.json()["disabled_at"] is not None


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        (("POST", "/api/accounts", {"name": "Acme Corp"}), 422, "invalid_account_name"),
        (("POST", "/api/accounts", {"name": "x", "extra": 1}), 422, "invalid_request"),
        (("POST", "/api/accounts/no-such-account/disable", None), 404, "not_found"),
    ],
)
async def test_refusals_say_why(
    client: httpx.AsyncClient, request_: tuple[str, str, object], status: int, code: str
) -> None:
    method, path, body = request_
    answer = await client.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code


async def test_a_taken_name_is_409(client: httpx.AsyncClient) -> None:
    name = _name()
    assert (await client.post("/api/accounts", json={"name": name})).status_code == 201
    again = await client.post("/api/accounts", json={"name": name})
    assert again.status_code == 409
    assert again.json()["error"] == "account_exists"
    listed = (await client.get("/api/accounts")).json()["accounts"]
    assert [a["name"] for a in listed].count(name) == 1


async def test_no_account_route_without_the_operator_token(settings: Settings) -> None:
    async with admin_client(settings) as client:
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer lsk_not-it"}):
            for method, path in OPERATOR_ROUTES:
                answer = await client.request(method, path, json={"name": "x"}, headers=headers)
                assert answer.status_code == 401, (method, path, answer.text)


async def test_an_account_token_opens_no_operator_route(settings: Settings, db: Conn) -> None:
    account = await new_account(settings)
    async with admin_client(settings, account.token) as as_account:
        for method, path in [
            *OPERATOR_ROUTES,
            ("POST", f"/api/accounts/{account.name}/disable"),
            ("POST", f"/api/accounts/{account.name}/linkedin/authorization"),
        ]:
            answer = await as_account.request(method, path, json={"name": _name()})
            assert answer.status_code == 403, (method, path, answer.text)
            body = answer.json()
            assert body["error"] == "operator_token_required"
            assert "operator token (LEADSYNC_ADMIN_TOKEN)" in body["message"]
        # Its own routes it does open.
        assert (await as_account.get("/api/forms")).status_code == 200
    cur = await db.execute(
        "SELECT a.status, (SELECT count(*) FROM oauth_states s WHERE s.account_id = a.id)"
        " FROM accounts a WHERE a.id = %s",
        (account.id,),
    )
    assert await cur.fetchone() == ("active", 0)  # neither disabled nor a link made


async def test_a_disabled_accounts_token_stops_working_at_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await new_account(settings)
    async with admin_client(settings, account.token) as as_account:
        assert (await as_account.get("/api/forms")).status_code == 200
        assert (await as_account.post("/api/linkedin/authorization")).status_code == 201
        assert (await client.post(f"/api/accounts/{account.name}/disable")).status_code == 200
        for method, path in [
            ("GET", "/api/forms"),
            ("GET", "/api/contacts"),
            ("GET", "/api/errors.csv"),
            ("POST", "/api/linkedin/authorization"),
        ]:
            answer = await as_account.request(method, path)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["error"] == "unauthorized"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_disabled_account_enabled_again_opens_with_its_tokens_and_a_new_one(
    client: httpx.AsyncClient, settings: Settings, db: Conn
) -> None:
    account = await new_account(settings)
    assert (await client.post(f"/api/accounts/{account.name}/disable")).status_code == 200
    enabled = await client.post(f"/api/accounts/{account.name}/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "active"
    assert enabled.json()["disabled_at"] is None
    made = await client.post(f"/api/accounts/{account.name}/tokens")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == account.name
    assert body["tokens"] == 2
    assert body["token"].startswith(PREFIX)
    assert body["token"] != account.token
    for token in (account.token, body["token"]):
        async with admin_client(settings, token) as as_account:
            assert (await as_account.get("/api/forms")).status_code == 200
    # The new token is kept as its hash only.
    cur = await db.execute(
        "SELECT count(*) FROM account_tokens WHERE account_id = %s AND token_sha256 = %s",
        (account.id, hashlib.sha256(body["token"].encode()).digest()),
    )
    assert await cur.fetchone() == (1,)
    for path in ("/api/accounts/no-such/enable", "/api/accounts/no-such/tokens"):
        missing = await client.post(path)
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
