"""The console's own error pages over HTTP on the real database: a query value a page cannot
read (a link edited by hand) is the console's 400 page, in HTML with the user's menu and
language, never the API's JSON; the API keeps its JSON 422 for the same mistake; and no
console page is described in the API's OpenAPI document."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from leadsync.settings import Settings
from tests.integration.admin_client import AccountWithToken, new_account
from tests.integration.console_client import (
    SignedInClient,
    browser,
    console_app,
    console_client,
    new_console_user,
)

HEADING = "This address cannot be shown"


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "errorpages")


@pytest.fixture
async def admin(
    app: FastAPI, settings: Settings, account: AccountWithToken
) -> AsyncIterator[SignedInClient]:
    user = await new_console_user(settings, account.id, "admin")
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        yield signed_in


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace("&#39;", "'")


@pytest.mark.parametrize(
    "path",
    [
        "/console/users?added=x",
        "/console/users?disabled=1.5",
        "/console/forms/1/mapping?version=x",
        f"/console/runs/{uuid.uuid4()}?since=yesterday",
        f"/console/runs/{uuid.uuid4()}?seen=-1",
    ],
)
async def test_a_query_value_the_page_cannot_use_is_the_400_page(
    admin: SignedInClient, path: str
) -> None:
    answer = await admin.http.get(path)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    text = _text(answer.text)
    assert HEADING in text
    assert "This address has a value the page cannot use" in text
    # The signed-in user's page: their menu and the way back.
    assert admin.user.email in text
    assert 'href="/console/forms"' in answer.text
    assert answer.headers["cache-control"] == "no-store"


async def test_the_400_page_speaks_italian(admin: SignedInClient) -> None:
    answer = await admin.http.get("/console/users?added=x&lang=it")
    assert answer.status_code == 400
    assert "Impossibile mostrare questo indirizzo" in _text(answer.text)


async def test_signed_out_the_address_still_leads_to_the_sign_in_page(app: FastAPI) -> None:
    async with browser(app) as anonymous:
        answer = await anonymous.get("/console/users?added=x")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/sign-in?next=")


async def test_a_path_id_that_cannot_be_one_stays_the_404_page(admin: SignedInClient) -> None:
    answer = await admin.http.get("/console/forms/abc/mapping?version=x")
    assert answer.status_code == 404
    assert "Page not found" in _text(answer.text)


async def test_the_api_keeps_its_json_422(app: FastAPI, account: AccountWithToken) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://admin.test",
        headers={"Authorization": f"Bearer {account.token}"},
    ) as api:
        answer = await api.get("/api/forms/1/runs", params={"limit": "x"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert body["details"][0]["location"] == "query.limit"


async def test_no_console_page_is_in_the_openapi_document(app: FastAPI) -> None:
    async with browser(app) as anonymous:
        document = (await anonymous.get("/openapi.json")).json()
    assert [path for path in document["paths"] if path.startswith("/console")] == []
    assert "/api/forms" in document["paths"]
