"""Signing in to the console, as a browser does it over HTTP, against the real PostgreSQL:
the right password opens a session whose cookie scripts cannot read; a wrong password and
an unknown email get the same answer; a disabled account's users are out at once; every
state change needs the session's CSRF token; guessing is throttled; sign-out ends the
session on the server; ``next=`` never leaves the console; each kind of user sees only
their own pages; the command line makes users whose passwords are argon2id hashes."""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from psycopg import AsyncConnection

from admin.console.session import AccountPageDep, OperatorPageDep
from harness.processes import leadsync_argv, settings_env
from leadsync.settings import Settings
from sinks.accounts import disable_account
from sinks.database import Database
from tests.integration.admin_client import AccountWithToken, new_account
from tests.integration.console_client import (
    PASSWORD,
    ConsoleUserCredentials,
    browser,
    console_app,
    console_client,
    new_console_user,
    sign_in,
)

Conn = AsyncConnection[tuple[object, ...]]
WRONG = "The email or the password is not right."

# Pages only for one kind of user, to check the dependencies apart from any real page.
_probe = APIRouter()


@_probe.get("/console/test-probe/account")
async def _account_only(page: AccountPageDep) -> PlainTextResponse:
    return PlainTextResponse(f"account {page.scope.account.name}")


@_probe.post("/console/test-probe/account")
async def _account_change(page: AccountPageDep) -> PlainTextResponse:
    return PlainTextResponse("changed")


@_probe.get("/console/test-probe/operator")
async def _operator_only(page: OperatorPageDep) -> PlainTextResponse:
    return PlainTextResponse("operator")


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        running.include_router(_probe)
        yield running


@pytest.fixture
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings)


@pytest.fixture
async def admin(settings: Settings, account: AccountWithToken) -> ConsoleUserCredentials:
    return await new_console_user(settings, account.id, "admin")


def _address() -> str:
    """An address of its own for a test that fails sign-ins on purpose (counted per
    address, so the other tests' sign-ins stay unthrottled)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _set_cookie(response: httpx.Response, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


async def _rows(db: Conn, query: str, *params: Any) -> list[tuple[object, ...]]:
    cur = await db.execute(query, params)
    return await cur.fetchall()


async def test_the_right_password_opens_a_session_kept_only_as_its_hash(
    app: FastAPI, admin: ConsoleUserCredentials, account: AccountWithToken, db: Conn
) -> None:
    async with browser(app) as http:
        signed_in = await sign_in(http, admin.email.upper(), admin.password)  # any case
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/console/"
        cookie = _set_cookie(signed_in, "leadsync_session")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        # The whole site: LinkedIn's callback (/oauth/linkedin/callback) reads it too.
        assert {"httponly", "path=/", "samesite=lax"} <= flags
        assert "secure" not in flags  # plain http: a Secure cookie would never come back

        token = http.cookies["leadsync_session"]
        stored = await _rows(
            db, "SELECT token_sha256, user_id FROM console_sessions WHERE user_id = %s", admin.id
        )
        assert stored == [(hashlib.sha256(token.encode()).digest(), admin.id)]

        home = await http.get("/console/")
        assert (home.status_code, home.headers["location"]) == (303, "/console/forms")
        probe = await http.get("/console/test-probe/account")
        assert probe.text == f"account {account.name}"
        users = await http.get("/console/users")
        assert users.status_code == 200
        assert admin.email in users.text
        # The pages' protections.
        assert users.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in users.headers["content-security-policy"]
        assert users.headers["x-frame-options"] == "DENY"
        assert users.headers["referrer-policy"] == "same-origin"


async def test_over_https_the_session_cookie_is_secure(
    app: FastAPI, admin: ConsoleUserCredentials
) -> None:
    async with browser(app, base_url="https://admin.test") as http:
        signed_in = await sign_in(http, admin.email, admin.password)
        assert signed_in.status_code == 303
        assert "secure" in _set_cookie(signed_in, "leadsync_session").lower()
        assert (await http.get("/console/users")).status_code == 200


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    app: FastAPI, admin: ConsoleUserCredentials, db: Conn
) -> None:
    async with browser(app, client_address=_address()) as http:
        wrong = await sign_in(http, admin.email, "not the password at all")
        unknown = await sign_in(http, "nobody-here@example.com", admin.password)
        for answer in (wrong, unknown):
            assert answer.status_code == 401
            assert WRONG in answer.text
            assert "leadsync_session" not in http.cookies
        assert admin.email in wrong.text  # the email stays typed in
        assert (await http.get("/console/users")).status_code == 303  # still signed out
    assert await _rows(
        db, "SELECT count(*) FROM console_sessions WHERE user_id = %s", admin.id
    ) == [(0,)]


@pytest.mark.parametrize("email", ["nul\x00@example.com", "\x00", "tab\tin@example.com\x01"])
async def test_an_email_no_address_can_be_gets_the_usual_refusal(
    app: FastAPI, admin: ConsoleUserCredentials, email: str
) -> None:
    async with browser(app, client_address=_address()) as http:
        refused = await sign_in(http, email, admin.password)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("text/html")
        assert WRONG in refused.text
        # The account's own email with a NUL inside is no way in either.
        spliced = admin.email.replace("@", "\x00@")
        assert (await sign_in(http, spliced, admin.password)).status_code == 401


async def test_the_password_is_stored_as_an_argon2id_hash(
    admin: ConsoleUserCredentials, db: Conn
) -> None:
    [(stored,)] = await _rows(db, "SELECT password_hash FROM console_users WHERE id = %s", admin.id)
    assert isinstance(stored, str)
    assert stored.startswith("$argon2id$")
    assert admin.password not in stored


async def test_a_disabled_account_s_users_cannot_sign_in_and_their_sessions_end_at_once(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, account: AccountWithToken
) -> None:
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        assert (await console.http.get("/console/users")).status_code == 200
        async with Database.from_settings(settings, max_size=1) as db, db.connection() as conn:
            await disable_account(conn, account.name)
        after = await console.http.get("/console/users")
        assert after.status_code == 303
        assert after.headers["location"] == "/console/sign-in?next=/console/users"
    async with browser(app, client_address=_address()) as http:
        refused = await sign_in(http, admin.email, admin.password)
        assert refused.status_code == 401
        assert WRONG in refused.text  # no hint that the account exists


async def test_a_state_change_needs_the_session_s_own_csrf_token(
    app: FastAPI, settings: Settings, account: AccountWithToken, db: Conn
) -> None:
    first = await new_console_user(settings, account.id, "admin")
    second = await new_console_user(settings, account.id, "admin")
    new_email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    fields = {"email": new_email, "role": "member", "password": PASSWORD}
    async with (
        console_client(settings, first.email, first.password, app=app) as mine,
        console_client(settings, second.email, second.password, app=app) as other,
    ):
        without = await mine.http.post("/console/users", data=fields)
        foreign = await mine.http.post(
            "/console/users", data={**fields, "csrf_token": other.csrf_token}
        )
        for refused in (without, foreign):
            assert refused.status_code == 403
            assert "This request was refused" in refused.text
        assert await _rows(db, "SELECT 1 FROM console_users WHERE email = %s", new_email) == []

        # htmx sends it as a header; a form, as its hidden field.
        by_header = await mine.http.post(
            "/console/test-probe/account", headers={"X-CSRF-Token": mine.csrf_token}
        )
        assert (by_header.status_code, by_header.text) == (200, "changed")
        added = await mine.http.post("/console/users", data=mine.form(**fields))
        assert added.status_code == 303, added.text
    assert await _rows(
        db, "SELECT role, account_id FROM console_users WHERE email = %s", new_email
    ) == [("member", account.id)]


async def test_repeated_failures_are_throttled_per_email_then_allowed_after_the_window(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, db: Conn
) -> None:
    address = _address()
    limit = settings.console_sign_in_failures_per_email
    async with browser(app, client_address=address) as http:
        for _ in range(limit):
            assert (await sign_in(http, admin.email, "a wrong password!")).status_code == 401
        # Even the right password is not checked now.
        blocked = await sign_in(http, admin.email, admin.password)
        assert blocked.status_code == 429
        assert "Try again in 15 minutes" in blocked.text
        assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
        # The throttle is the email's: another user from the same address signs in.
        other = await new_console_user(settings, admin.account_id, "member")
        assert (await sign_in(http, other.email, other.password)).status_code == 303
    # The window passes (the failures age by it, on the database's clock).
    await db.execute(
        "UPDATE console_sign_in_failures SET failed_at = failed_at - make_interval(mins => %s)"
        " WHERE email_sha256 = %s",
        (settings.console_sign_in_window_minutes, hashlib.sha256(admin.email.encode()).digest()),
    )
    async with browser(app, client_address=address) as http:
        assert (await sign_in(http, admin.email, admin.password)).status_code == 303


async def test_parallel_wrong_passwords_get_no_more_checks_than_the_throttle_allows(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, db: Conn
) -> None:
    """A burst of guesses sent at once: each is counted before its password is checked,
    so no more than the limit are ever checked, the others are refused unchecked."""
    limit = settings.console_sign_in_failures_per_email
    async with browser(app, client_address=_address()) as http:
        form_page = await http.get("/console/sign-in")
        [token] = re.findall(r'name="csrf_token" value="([^"]+)"', form_page.text)
        guesses = [
            {"email": admin.email, "password": f"guess number {n}!", "csrf_token": token}
            for n in range(30)
        ]
        answers = await asyncio.gather(
            *(http.post("/console/sign-in", data=guess) for guess in guesses)
        )
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= limit, statuses
    assert all("Too many failed sign-ins" in a.text for a in answers if a.status_code == 429)
    # Each checked guess, and only those, is a failure on record.
    email_sha256 = hashlib.sha256(admin.email.encode()).digest()
    assert await _rows(
        db, "SELECT count(*) FROM console_sign_in_failures WHERE email_sha256 = %s", email_sha256
    ) == [(statuses[401],)]


async def test_one_address_failing_on_many_emails_is_throttled(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials
) -> None:
    address = _address()
    async with browser(app, client_address=address) as http:
        for n in range(settings.console_sign_in_failures_per_client):
            answer = await sign_in(http, f"guess-{n}@example.com", "a wrong password!")
            assert answer.status_code == 401
        assert (await sign_in(http, admin.email, admin.password)).status_code == 429
    # A successful sign-in elsewhere resets nothing, and other addresses are not affected.
    async with browser(app, client_address=_address()) as http:
        assert (await sign_in(http, admin.email, admin.password)).status_code == 303
    async with browser(app, client_address=address) as http:
        assert (await sign_in(http, admin.email, admin.password)).status_code == 429


async def test_sign_out_ends_the_session_on_the_server(
    app: FastAPI, settings: Settings, admin: ConsoleUserCredentials, db: Conn
) -> None:
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        cookie = console.http.cookies["leadsync_session"]
        refused = await console.http.post("/console/sign-out")  # no token: not even this
        assert refused.status_code == 403
        out = await console.http.post("/console/sign-out", data=console.form())
        assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
        assert 'leadsync_session=""' in _set_cookie(out, "leadsync_session")
    digest = hashlib.sha256(cookie.encode()).digest()
    assert await _rows(db, "SELECT 1 FROM console_sessions WHERE token_sha256 = %s", digest) == []
    # The old cookie, kept by someone, opens nothing.
    async with browser(app) as http:
        http.cookies.set("leadsync_session", cookie, domain="admin.test", path="/console")
        again = await http.get("/console/users")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/console/sign-in")
        post = await http.post("/console/test-probe/account")
        assert post.status_code == 401


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("/console/users?added=1", "/console/users?added=1"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/\\evil.example/console/", "/console/"),
        ("/oauth/linkedin/start", "/console/"),
        ("javascript:alert(1)", "/console/"),
    ],
)
async def test_next_leads_only_to_a_console_page(
    app: FastAPI, admin: ConsoleUserCredentials, next_path: str, location: str
) -> None:
    async with browser(app) as http:
        answer = await sign_in(http, admin.email, admin.password, next_path)
        assert (answer.status_code, answer.headers["location"]) == (303, location)


async def test_a_page_asked_for_before_sign_in_comes_back_after_it(
    app: FastAPI, admin: ConsoleUserCredentials
) -> None:
    async with browser(app) as http:
        asked = await http.get("/console/users")
        assert asked.headers["location"] == "/console/sign-in?next=/console/users"
        form = await http.get(asked.headers["location"])
        assert 'name="next" value="/console/users"' in form.text
        answer = await sign_in(http, admin.email, admin.password, "/console/users")
        assert answer.headers["location"] == "/console/users"


async def test_each_kind_of_user_sees_only_their_own_pages(
    app: FastAPI, settings: Settings, account: AccountWithToken, admin: ConsoleUserCredentials
) -> None:
    operator = await new_console_user(settings, None)
    member = await new_console_user(settings, account.id, "member")
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        refused = await console.http.get("/console/test-probe/operator")
        assert refused.status_code == 403
        assert "This page is for the platform operator" in refused.text
    async with console_client(settings, operator.email, operator.password, app=app) as console:
        home = await console.http.get("/console/")
        assert home.headers["location"] == "/console/operator"
        assert (await console.http.get("/console/test-probe/operator")).text == "operator"
        for path in ("/console/test-probe/account", "/console/users"):
            refused = await console.http.get(path)
            assert refused.status_code == 403, path
            assert "This page is for the accounts' users" in html.unescape(refused.text)
    async with console_client(settings, member.email, member.password, app=app) as console:
        refused = await console.http.get("/console/users")
        assert refused.status_code == 403
        assert "Only the account's admins manage its users" in html.unescape(refused.text)


async def test_an_admin_adds_and_disables_users_of_the_account_only(
    app: FastAPI,
    settings: Settings,
    account: AccountWithToken,
    admin: ConsoleUserCredentials,
    db: Conn,
) -> None:
    elsewhere = await new_account(settings)
    stranger = await new_console_user(settings, elsewhere.id, "member")
    email = f"colleague-{uuid.uuid4().hex[:8]}@example.com"
    async with console_client(settings, admin.email, admin.password, app=app) as console:
        short = await console.http.post(
            "/console/users", data=console.form(email=email, role="member", password="short")
        )
        assert short.status_code == 422
        assert "A password needs at least 12 characters." in short.text
        added = await console.http.post(
            "/console/users", data=console.form(email=email, role="member", password=PASSWORD)
        )
        assert added.status_code == 303
        shown = await console.http.get(added.headers["location"])
        assert f"{email} was added." in shown.text
        assert stranger.email not in shown.text  # another account's users are not listed
        taken = await console.http.post(
            "/console/users",
            data=console.form(email=email.upper(), role="admin", password=PASSWORD),
        )
        assert taken.status_code == 422
        assert "This email already belongs to a user." in taken.text

        async with browser(app) as http:
            colleague = await sign_in(http, email, PASSWORD)
            assert colleague.status_code == 303
            [(user_id,)] = await _rows(db, "SELECT id FROM console_users WHERE email = %s", email)
            assert f'action="/console/users/{user_id}/disable"' in shown.text
            # Another account's user: as if it did not exist.
            other = await console.http.post(
                f"/console/users/{stranger.id}/disable", data=console.form()
            )
            assert other.status_code == 404
            disabled = await console.http.post(
                f"/console/users/{user_id}/disable", data=console.form()
            )
            assert disabled.status_code == 303
            # Signed out at once.
            assert (await http.get("/console/test-probe/account")).status_code == 303
        myself = await console.http.post(f"/console/users/{admin.id}/disable", data=console.form())
        assert myself.status_code == 409


async def test_an_unknown_console_address_is_the_404_page_and_the_api_keeps_json(
    app: FastAPI,
) -> None:
    async with browser(app) as http:
        page = await http.get("/console/no-such-page", headers={"Accept-Language": "it"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Pagina non trovata" in page.text
        api = await http.get("/api/no-such-route")
        assert api.status_code == 404
        assert api.json()["error"] == "not_found"


async def test_the_language_follows_the_browser_and_the_switch_is_remembered(
    app: FastAPI,
) -> None:
    async with browser(app) as http:
        italian = await http.get("/console/sign-in", headers={"Accept-Language": "it-IT,en;q=0.5"})
        assert 'lang="it"' in italian.text
        assert "Accedi" in italian.text
        switched = await http.get("/console/sign-in?lang=en", headers={"Accept-Language": "it"})
        assert "Sign in to leadsync" in switched.text
        assert "leadsync_lang=en" in _set_cookie(switched, "leadsync_lang")
        remembered = await http.get("/console/sign-in", headers={"Accept-Language": "it"})
        assert "Sign in to leadsync" in remembered.text


def _cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        leadsync_argv(*args),
        env=settings_env(settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_command_line_adds_lists_and_disables_users(
    app: FastAPI, settings: Settings, account: AccountWithToken, db: Conn
) -> None:
    email = f"First.Admin-{uuid.uuid4().hex[:6]}@Example.com"
    added = _cli(
        settings, "users", "add", "--account", account.name, email, "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"user {email.lower()} added: admin of {account.name}" in added.stdout
    [(stored,)] = await _rows(
        db, "SELECT password_hash FROM console_users WHERE email = %s", email.lower()
    )
    assert isinstance(stored, str)
    assert stored.startswith("$argon2id$")

    short = _cli(settings, "users", "add", "--account", account.name, "x@example.com",
                 "--password-stdin", stdin="short\n")  # fmt: skip
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr
    again = _cli(settings, "users", "add", "--account", account.name, email, "--password-stdin",
                 stdin=f"{PASSWORD}\n")  # fmt: skip
    assert again.returncode == 1
    assert "exists already" in again.stderr

    operator = f"operator-{uuid.uuid4().hex[:6]}@example.com"
    made = _cli(settings, "users", "add", "--operator", operator, "--password-stdin",
                stdin=f"{PASSWORD}\n")  # fmt: skip
    assert made.returncode == 0, made.stderr

    listed = _cli(settings, "users", "list", "--account", account.name)
    assert email.lower() in listed.stdout
    assert operator not in listed.stdout

    async with browser(app) as http:
        assert (await sign_in(http, email, PASSWORD)).status_code == 303
        disabled = _cli(settings, "users", "disable", email)
        assert disabled.returncode == 0, disabled.stderr
        assert (await http.get("/console/users")).status_code == 303  # signed out at once


async def test_the_demo_password_is_for_demo_mode_and_can_be_given_again(
    settings: Settings, account: AccountWithToken
) -> None:
    email = f"demo-{uuid.uuid4().hex[:6]}@example.com"
    args = ("users", "add", "--account", account.name, email, "--demo-password")
    first, second = _cli(settings, *args), _cli(settings, *args)
    assert first.returncode == 0, first.stderr
    assert "added" in first.stdout
    assert "leadsync-demo-password" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "exists" in second.stdout
    refused = _cli(settings.model_copy(update={"demo": False}), *args)
    assert refused.returncode == 2
    assert "demo mode only" in refused.stderr
