"""Which token opens which admin route (admin.auth), without PostgreSQL: a stand-in database
holds one account's token hash and records what it is asked."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from unittest.mock import call, patch

import httpx
import pytest

from admin.app import create_app
from leadsync.api_tokens import new_token, token_hash
from leadsync.settings import DEMO_ACCOUNT_TOKEN, Settings, load_settings
from sinks.database import Database

TOKEN = new_token()
ACCOUNT_ROW = (7, "acme", "active", datetime(2026, 1, 1, tzinfo=UTC), None)


class _Cursor:
    def __init__(self, row: tuple[Any, ...] | None) -> None:
        self._row = row

    async def fetchone(self) -> tuple[Any, ...] | None:
        return self._row


class _Connection:
    def __init__(self, asked: list[tuple[str, tuple[Any, ...]]], hashes: set[bytes]) -> None:
        self._asked = asked
        self._hashes = hashes

    async def execute(self, query: str, params: tuple[Any, ...] = ()) -> _Cursor:
        self._asked.append((query, params))
        assert "account_tokens" in query, query  # the token lookup is all auth may ask
        return _Cursor(ACCOUNT_ROW if params[0] in self._hashes else None)


class StandInDatabase(Database):
    """Knows one active account's token (by hash); no account data at all."""

    def __init__(self, *hashes: bytes) -> None:
        super().__init__("postgresql://stand-in.invalid/none")
        self.asked: list[tuple[str, tuple[Any, ...]]] = []
        self._hashes = set(hashes)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        yield _Connection(self.asked, self._hashes)


@pytest.fixture
def settings() -> Settings:
    return load_settings(demo=True, kafka_bootstrap_servers="127.0.0.1:1")


def _client(settings: Settings, db: Database) -> httpx.AsyncClient:
    app = create_app(settings, db)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin.test")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def db() -> StandInDatabase:
    return StandInDatabase(token_hash(TOKEN), token_hash(DEMO_ACCOUNT_TOKEN))


async def test_an_account_token_is_looked_up_by_its_hash_and_never_sent_itself(
    settings: Settings, db: StandInDatabase
) -> None:
    async with _client(settings, db) as client:
        # A bad cursor is refused after authentication and before any account data is read.
        answer = await client.get("/api/contacts?cursor=x", headers=_bearer(TOKEN))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_cursor")
    [(_query, params)] = db.asked
    assert params == (token_hash(TOKEN),)
    assert TOKEN not in repr(db.asked)


async def test_an_unknown_token_and_no_token_get_the_same_401(
    settings: Settings, db: StandInDatabase
) -> None:
    async with _client(settings, db) as client:
        answers = [
            await client.get("/api/forms", headers=headers)
            for headers in (_bearer(new_token()), {}, {"Authorization": "Basic YWRtaW4="})
        ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1  # nothing tells a wrong token from none
    assert all(a.headers["WWW-Authenticate"].startswith("Bearer") for a in answers)


async def test_the_operator_token_is_refused_on_account_routes_before_any_lookup(
    settings: Settings, db: StandInDatabase
) -> None:
    operator = settings.admin_token.get_secret_value()
    async with _client(settings, db) as client:
        answer = await client.get("/api/forms", headers=_bearer(operator))
    assert answer.status_code == 403
    assert answer.json()["error"] == "account_token_required"
    assert operator not in answer.text
    assert db.asked == []  # the operator token is never looked up among account tokens


async def test_an_account_token_on_an_operator_route_is_403_and_a_wrong_one_401(
    settings: Settings, db: StandInDatabase
) -> None:
    async with _client(settings, db) as client:
        as_account = await client.get("/api/accounts", headers=_bearer(TOKEN))
        unknown = await client.get("/api/accounts", headers=_bearer(new_token()))
    assert (as_account.status_code, as_account.json()["error"]) == (403, "operator_token_required")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "unauthorized")


async def test_the_public_demo_account_token_works_in_demo_mode_only(
    settings: Settings, db: StandInDatabase
) -> None:
    async with _client(settings, db) as client:
        demo = await client.get("/api/contacts?cursor=x", headers=_bearer(DEMO_ACCOUNT_TOKEN))
    assert demo.status_code == 400  # past authentication
    production = settings.model_copy(update={"demo": False})
    db.asked.clear()
    async with _client(production, db) as client:
        refused = await client.get("/api/contacts?cursor=x", headers=_bearer(DEMO_ACCOUNT_TOKEN))
    assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")
    assert db.asked == []


async def test_the_operator_token_is_compared_in_constant_time(
    settings: Settings, db: StandInDatabase
) -> None:
    operator = settings.admin_token.get_secret_value()
    near_miss = operator[:-1] + ("x" if operator[-1] != "x" else "y")
    with patch("admin.auth.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        async with _client(settings, db) as client:
            as_operator = await client.get("/api/forms", headers=_bearer(operator))
            almost = await client.get("/api/accounts", headers=_bearer(near_miss))
    assert as_operator.status_code == 403  # recognized as the operator's
    assert almost.status_code == 401
    assert compare.call_args_list[0] == call(operator.encode(), operator.encode())
    assert call(operator.encode(), near_miss.encode()) in compare.call_args_list


async def test_whether_a_token_is_the_operators_is_compare_digests_answer_alone(
    settings: Settings, db: StandInDatabase
) -> None:
    # No other comparison comes first: were compare_digest to say yes, any token would do.
    with patch("admin.auth.hmac.compare_digest", return_value=True):
        async with _client(settings, db) as client:
            answer = await client.get("/api/forms", headers=_bearer(new_token()))
    assert (answer.status_code, answer.json()["error"]) == (403, "account_token_required")
    assert db.asked == []


async def test_an_account_token_is_compared_with_nothing_but_found_by_its_hash(
    settings: Settings, db: StandInDatabase
) -> None:
    with patch("admin.auth.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        async with _client(settings, db) as client:
            answer = await client.get("/api/contacts?cursor=x", headers=_bearer(TOKEN))
    assert answer.status_code == 400  # past authentication: the account was found
    # Compared only to the operator token (is it that one?), in constant time ...
    operator = settings.admin_token.get_secret_value()
    assert compare.call_args_list == [call(operator.encode(), TOKEN.encode())]
    # ... and looked up by its SHA-256: the database never sees the token itself.
    [(query, params)] = db.asked
    assert "token_sha256 = %s" in query
    assert params == (token_hash(TOKEN),)
    assert TOKEN not in repr(db.asked)
