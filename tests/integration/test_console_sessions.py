"""How long a console session lives, against the real PostgreSQL: a page's automatic
refresh (htmx polling, ``X-Poll: 1``) keeps no session alive, the user's own requests do;
signing in again ends the session the browser had."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection

from admin.console.auth_pages import FORM_COOKIE
from leadsync.settings import Settings
from tests.integration.admin_client import new_account
from tests.integration.console_client import (
    ConsoleUserCredentials,
    browser,
    console_app,
    console_client,
    new_console_user,
    sign_in,
)

Conn = AsyncConnection[tuple[object, ...]]
# What an htmx poll sends (hx-headers of the polling elements, HX-Request from htmx).
POLL = {"X-Poll": "1", "HX-Request": "true", "HX-Current-URL": "http://admin.test/console/users"}


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        yield running


@pytest.fixture
async def admin(settings: Settings) -> ConsoleUserCredentials:
    account = await new_account(settings)
    return await new_console_user(settings, account.id, "admin")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _idle_for(db: Conn, token: str, minutes: float) -> datetime:
    """The session was last used ``minutes`` ago (on the database's clock); that moment."""
    cur = await db.execute(
        "UPDATE console_sessions SET last_seen_at = now() - make_interval(secs => %s)"
        " WHERE token_sha256 = %s RETURNING last_seen_at",
        (minutes * 60, _digest(token)),
    )
    row = await cur.fetchone()
    assert row is not None, "no such session"
    assert isinstance(row[0], datetime)
    return row[0]


async def _time_passes(db: Conn, token: str, minutes: float) -> None:
    """``minutes`` go by for the session (its times move back by as much)."""
    await db.execute(
        "UPDATE console_sessions SET last_seen_at = last_seen_at - make_interval(secs => %s),"
        " created_at = created_at - make_interval(secs => %s) WHERE token_sha256 = %s",
        (minutes * 60, minutes * 60, _digest(token)),
    )


async def _last_seen(db: Conn, token: str) -> datetime | None:
    cur = await db.execute(
        "SELECT last_seen_at FROM console_sessions WHERE token_sha256 = %s", (_digest(token),)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    assert isinstance(row[0], datetime)
    return row[0]


async def test_polling_leaves_the_session_idle_and_the_user_s_own_request_does_not(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, db: Conn
) -> None:
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        token = console.http.cookies["leadsync_session"]
        seen = await _idle_for(db, token, 10)
        polled = await console.http.get("/console/users", headers=POLL)
        assert polled.status_code == 200
        assert await _last_seen(db, token) == seen  # a poll is no sign of the user
        clicked = await console.http.get("/console/users", headers={"HX-Request": "true"})
        assert clicked.status_code == 200
        moved = await _last_seen(db, token)
        assert moved is not None
        assert moved > seen


async def test_a_session_idle_past_the_limit_ends_even_though_its_page_kept_polling(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, db: Conn
) -> None:
    idle = settings.console_session_idle_minutes
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        token = console.http.cookies["leadsync_session"]
        # The user left a minute before the limit; the page polled all along.
        await _idle_for(db, token, idle - 1)
        for _ in range(3):
            assert (await console.http.get("/console/users", headers=POLL)).status_code == 200
        # Two minutes later, the limit has passed, whatever the polls did.
        await _time_passes(db, token, 2)
        ended = await console.http.get("/console/users", headers=POLL)
        assert ended.status_code == 401
        assert ended.headers["hx-redirect"] == "/console/sign-in?next=/console/users"
        # The user's own click finds the session ended too.
        page = await console.http.get("/console/users")
        assert page.status_code == 303
        assert page.headers["location"] == "/console/sign-in?next=/console/users"


async def _sign_in_again(
    app: FastAPI, http: httpx.AsyncClient, email: str, password: str
) -> httpx.Response:
    """The sign-in form posted by a browser that is still signed in (a tab that showed the
    form before; the sign-in page itself sends a signed-in browser on)."""
    async with browser(app) as fresh:
        form_page = await fresh.get("/console/sign-in")
        cookie = fresh.cookies[FORM_COOKIE]
    # The page carries the form token masked (admin.console.csrf), the cookie as it is.
    [token] = re.findall(r'name="csrf_token" value="([^"]+)"', form_page.text)
    http.cookies.set(FORM_COOKIE, cookie, domain="admin.test", path="/console/sign-in")
    return await http.post(
        "/console/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )


async def test_signing_in_again_ends_the_browser_s_previous_session(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, db: Conn
) -> None:
    colleague = await new_console_user(settings, admin.account_id, "member")
    async with browser(app) as http:
        assert (await sign_in(http, admin.email, admin.password)).status_code == 303
        first = http.cookies["leadsync_session"]
        # The same browser signs in again: as someone else, then as the same user again.
        again = await _sign_in_again(app, http, colleague.email, colleague.password)
        assert again.status_code == 303
        second = http.cookies["leadsync_session"]
        again = await _sign_in_again(app, http, colleague.email, colleague.password)
        assert again.status_code == 303
        third = http.cookies["leadsync_session"]
        assert len({first, second, third}) == 3
        assert await _last_seen(db, first) is None
        assert await _last_seen(db, second) is None
        assert await _last_seen(db, third) is not None
    # The old cookies, kept by someone, open nothing; the new one still works.
    for old in (first, second):
        async with browser(app) as http:
            http.cookies.set("leadsync_session", old, domain="admin.test", path="/")
            refused = await http.get("/console/users")
            assert refused.status_code == 303
            assert refused.headers["location"].startswith("/console/sign-in")
    async with browser(app) as http:
        http.cookies.set("leadsync_session", third, domain="admin.test", path="/")
        assert (await http.get("/console/forms")).status_code == 200
