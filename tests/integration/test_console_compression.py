"""The admin process compresses what browsers ask compressed, and the console's pages carry
their CSRF token masked afresh in every copy (compression must give away nothing of it):
each copy is accepted, a changed one is refused, the token itself never stands in a page."""

from __future__ import annotations

import gzip
import re
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from admin.console.assets import HTMX
from leadsync.settings import Settings
from tests.integration.admin_client import new_account
from tests.integration.console_client import (
    PASSWORD,
    console_app,
    console_client,
    new_console_user,
)

_TOKENS = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        yield running


async def test_pages_come_gzipped_with_a_csrf_token_masked_afresh_in_each_copy(
    settings: Settings, app: FastAPI
) -> None:
    account = await new_account(settings)
    admin = await new_console_user(settings, account.id, "admin")
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        pages = [
            await console.http.get("/console/users", headers={"Accept-Encoding": "gzip"})
            for _ in range(2)
        ]
        copies: list[str] = []
        for page in pages:
            assert page.status_code == 200
            assert page.headers["content-encoding"] == "gzip"
            assert int(page.headers["content-length"]) < len(page.content)
            assert console.csrf_token not in page.text
            copies += _TOKENS.findall(page.text)
        assert len(copies) >= 4  # the sign-out form and the add-user form, twice
        assert len(set(copies)) == len(copies), "a copy of the token was written twice"

        # Each copy adds a user; a copy with one character changed adds none.
        for n, copy in enumerate((copies[0], copies[-1])):
            email = f"colleague-{n}-{uuid.uuid4().hex[:8]}@example.com"
            fields = {"email": email, "role": "member", "password": PASSWORD}
            added = await console.http.post("/console/users", data={**fields, "csrf_token": copy})
            assert added.status_code == 303, added.text
            listed = await console.http.get("/console/users")
            assert email in listed.text
        tampered = copies[1][:10] + ("A" if copies[1][10] != "A" else "B") + copies[1][11:]
        email = f"intruder-{uuid.uuid4().hex[:8]}@example.com"
        refused = await console.http.post(
            "/console/users",
            data={"email": email, "role": "admin", "password": PASSWORD, "csrf_token": tampered},
        )
        assert refused.status_code == 403
        assert email not in (await console.http.get("/console/users")).text


async def test_the_console_script_comes_gzipped_and_whole(settings: Settings, app: FastAPI) -> None:
    account = await new_account(settings)
    admin = await new_console_user(settings, account.id, "admin")
    script = HTMX / "htmx.min.js"
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        answer = await console.http.get(
            "/console/vendor/htmx/htmx.min.js", headers={"Accept-Encoding": "gzip"}
        )
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.content == script.read_bytes()
    assert int(answer.headers["content-length"]) < len(gzip.compress(script.read_bytes())) * 1.1
    assert int(answer.headers["content-length"]) < script.stat().st_size / 2
