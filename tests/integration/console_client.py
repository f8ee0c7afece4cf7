"""The console in-process, as a signed-in browser sees it: console users to sign in with,
and an HTTP client that signed in through the sign-in form.

    account = await new_account(settings)                        # admin_client's
    user = await new_console_user(settings, account.id)          # an admin of it
    async with console_client(settings, user.email, user.password) as console:
        page = await console.http.get("/console/users")
        done = await console.http.post("/console/users", data=console.form(email=...))

``console.http`` does not follow redirects (a test sees the 303 and its Location);
``console.form(**fields)`` adds the session's CSRF token to a form's fields, as the pages'
hidden ``csrf_token`` input does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from admin.app import create_app
from admin.console.passwords import hash_password
from admin.console.session import SESSION_COOKIE, token_sha256
from leadsync.settings import Settings
from sinks.console_users import Role, add_user, session, user_by_email
from sinks.database import Database

PASSWORD = "correct horse battery staple"
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class ConsoleUserCredentials:
    id: int
    email: str
    password: str
    role: Role
    account_id: int | None


@dataclass(frozen=True)
class SignedInClient:
    http: httpx.AsyncClient
    csrf_token: str
    user: ConsoleUserCredentials

    def form(self, **fields: Any) -> dict[str, Any]:
        """A form's fields with the session's CSRF token, as the console's forms send."""
        return {"csrf_token": self.csrf_token, **fields}


async def new_console_user(
    settings: Settings,
    account_id: int | None,
    role: Role = "admin",
    *,
    email: str | None = None,
    password: str = PASSWORD,
) -> ConsoleUserCredentials:
    """A new active user of the account (``account_id`` None and role ``operator``: the
    platform operator), as ``leadsync users add`` makes one."""
    if account_id is None:
        role = "operator"
    email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    hashed = await hash_password(password)
    async with Database.from_settings(settings, max_size=1) as db, db.connection() as conn:
        user = await add_user(conn, email, role, account_id, hashed)
    return ConsoleUserCredentials(user.id, user.email, password, user.role, account_id)


async def sign_in(
    http: httpx.AsyncClient, email: str, password: str, next_path: str = ""
) -> httpx.Response:
    """What a browser does: open the sign-in page (its form token comes in a cookie and a
    hidden field), then post the form. The answer: 303 when signed in."""
    form_page = await http.get("/console/sign-in")
    assert form_page.status_code == 200, form_page.text
    match = _FORM_TOKEN.search(form_page.text)
    assert match, "the sign-in page has no csrf_token field"
    return await http.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf_token": match[1], "next": next_path},
    )


async def session_csrf_token(settings: Settings, http: httpx.AsyncClient) -> str:
    """The CSRF token of the session the client's cookie holds (as its pages carry it)."""
    cookie = http.cookies.get(SESSION_COOKIE)
    assert cookie, "not signed in"
    async with Database.from_settings(settings, max_size=1) as db, db.connection() as conn:
        found = await session(conn, token_sha256(cookie), timedelta(days=1), timedelta(days=1))
    assert found is not None, "the session cookie names no live session"
    return found.csrf_token


@asynccontextmanager
async def console_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The admin app, its Kafka producer and database pool closed afterwards (the ASGI
    transport runs no lifespan)."""
    app = create_app(settings)
    try:
        yield app
    finally:
        app.state.request_publisher.close()
        await app.state.database.close()


def browser(
    app: FastAPI, base_url: str = "http://admin.test", client_address: str = "127.0.0.1"
) -> httpx.AsyncClient:
    """A client with a cookie jar and no session; ``base_url`` https for a browser that
    reached the console over https; ``client_address`` the address the app sees (sign-in
    failures are counted per address: a test that fails on purpose takes its own)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(client_address, 50000)),
        base_url=base_url,
        follow_redirects=False,
    )


@asynccontextmanager
async def console_client(
    settings: Settings,
    email: str,
    password: str,
    *,
    app: FastAPI | None = None,
    base_url: str = "http://admin.test",
) -> AsyncIterator[SignedInClient]:
    """A client signed in as ``email`` through the sign-in form (on ``app``, else on an app
    of its own made from ``settings``)."""
    async with _app(settings, app) as running, browser(running, base_url) as http:
        answer = await sign_in(http, email, password)
        assert answer.status_code == 303, f"sign-in refused: {answer.status_code} {answer.text}"
        token = await session_csrf_token(settings, http)
        async with Database.from_settings(settings, max_size=1) as db, db.connection() as conn:
            row = await user_by_email(conn, email)
        user = ConsoleUserCredentials(row.id, row.email, password, row.role, row.account_id)
        yield SignedInClient(http, token, user)


@asynccontextmanager
async def _app(settings: Settings, app: FastAPI | None) -> AsyncIterator[FastAPI]:
    if app is not None:
        yield app
        return
    async with console_app(settings) as made:
        yield made
