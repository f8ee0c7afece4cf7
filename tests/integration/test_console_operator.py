"""``/console/operator`` over HTTP on the real database, as the platform operator sees it:
every account with its status, forms and lead volume (counts only, never a contact);
creating an account shows its first API token once, and that token works; a refused name is
said and nothing is made; disabling stops the account's token; CSRF. The operator gets the
403 page on the accounts' pages, and an account's user gets it on the operator's."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection

from leadsync.settings import Settings
from tests.integration.admin_client import AccountWithToken, hold_for_session, new_account
from tests.integration.console_client import (
    SignedInClient,
    console_app,
    console_client,
    new_console_user,
)

Conn = AsyncConnection[tuple[object, ...]]
_TOKEN = re.compile(r'id="new-token"[^>]* value="(lsk_[A-Za-z0-9_-]+)"')


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        yield running


@pytest.fixture
async def operator(app: FastAPI, settings: Settings) -> AsyncIterator[SignedInClient]:
    user = await new_console_user(settings, None)
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        yield signed_in


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _row(html: str, account: str) -> str:
    """The text of the account's row in the accounts table."""
    for row in re.findall(r"<tr>.*?</tr>", html, re.S):
        if (
            f'<th scope="row"><a href="/console/operator/accounts/{account}">{account}</a></th>'
            in row
        ):
            return _text(row)
    raise AssertionError(f"no row for {account}")


async def _account_status(db: Conn, name: str) -> str:
    cur = await db.execute("SELECT status FROM accounts WHERE name = %s", (name,))
    row = await cur.fetchone()
    assert row is not None, f"no account {name}"
    return str(row[0])


async def _api_status(app: FastAPI, token: str) -> int:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://admin.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        return (await api.get("/api/forms")).status_code


async def _busy_account(settings: Settings, db: Conn) -> AccountWithToken:
    """An account with two forms (one importing) and leads imported an hour, three days and
    forty days ago, plus a tombstone (a lead deleted before its import) and a contact."""
    account = await new_account(settings, "busy")
    await hold_for_session(db, account.id)
    form = 8_000_000 + int(uuid.uuid4().int % 1_000_000)
    await db.execute(
        "INSERT INTO forms (id, name, import_enabled) VALUES (%s, 'Spring', true),"
        " (%s, 'Autumn', false)",
        (form, form + 1),
    )
    await db.execute(
        "INSERT INTO contacts (email) VALUES ('someone.private@example.com')",
    )
    await db.execute(
        "INSERT INTO imported_leads (lead_id, form_id, contact_id, submitted_at, origin,"
        " imported_at) VALUES"
        " ('l1', %(f)s, gen_random_uuid(), now(), 'push', now() - interval '1 hour'),"
        " ('l2', %(f)s, gen_random_uuid(), now(), 'push', now() - interval '3 days'),"
        " ('l3', %(f)s, gen_random_uuid(), now(), 'push', now() - interval '40 days')",
        {"f": form},
    )
    await db.execute(
        "INSERT INTO imported_leads (lead_id, form_id, origin, erased_at)"
        " VALUES ('gone', %s, 'push', now())",
        (form,),
    )
    return account


async def test_the_operator_sees_every_account_with_its_forms_and_lead_volume(
    operator: SignedInClient, settings: Settings, db: Conn
) -> None:
    busy = await _busy_account(settings, db)
    quiet = await new_account(settings, "quiet")
    page = await operator.http.get("/console/operator")
    assert page.status_code == 200, page.text
    # Forms, with Import on, leads in 24 h and in 30 days (the tombstone is no import).
    assert re.fullmatch(
        rf"{busy.name} Active \d{{4}}-\d\d-\d\d 2 1 1 2 — Disable {busy.name}"
        rf" Disable the account {busy.name}\? .*",
        _row(page.text, busy.name),
    ), _row(page.text, busy.name)
    assert _row(page.text, quiet.name).startswith(f"{quiet.name} Active ")
    assert " 0 0 0 0 — " in _row(page.text, quiet.name)
    # Counts only: nothing of the account's contacts reaches the operator.
    assert "someone.private" not in page.text


async def test_the_operator_creates_an_account_and_sees_its_token_once(
    app: FastAPI, operator: SignedInClient, db: Conn
) -> None:
    name = f"new-{uuid.uuid4().hex[:8]}"
    created = await operator.http.post(
        "/console/operator/accounts", data=operator.form(name=f"  {name} ")
    )
    assert created.status_code == 201, created.text
    assert f"Account {name} created." in _text(created.text)
    token = _TOKEN.search(created.text)
    assert token, created.text
    assert await _account_status(db, name) == "active"
    assert await _api_status(app, token[1]) == 200
    # Shown once: the list, opened again, has no token.
    again = await operator.http.get("/console/operator")
    assert token[1] not in again.text
    assert "new-token" not in again.text
    assert _row(again.text, name).startswith(f"{name} Active")


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("Not Valid!", 422, "Use 1 to 63 lower-case letters, digits and hyphens"),
        ("", 422, "Use 1 to 63 lower-case letters, digits and hyphens"),
    ],
)
async def test_a_refused_name_is_said_beside_the_field_and_nothing_is_made(
    operator: SignedInClient, db: Conn, name: str, status: int, message: str
) -> None:
    cur = await db.execute("SELECT count(*) FROM accounts")
    before = await cur.fetchone()
    refused = await operator.http.post("/console/operator/accounts", data=operator.form(name=name))
    assert refused.status_code == status
    assert message in _text(refused.text)
    assert 'aria-invalid="true"' in refused.text
    assert f'value="{name}"' in refused.text
    cur = await db.execute("SELECT count(*) FROM accounts")
    assert await cur.fetchone() == before


async def test_a_taken_name_is_refused(operator: SignedInClient, settings: Settings) -> None:
    taken = await new_account(settings, "taken")
    refused = await operator.http.post(
        "/console/operator/accounts", data=operator.form(name=taken.name)
    )
    assert refused.status_code == 409
    assert f"An account named {taken.name} exists already." in _text(refused.text)


async def test_the_operator_disables_an_account_and_its_token_stops_working(
    app: FastAPI, operator: SignedInClient, settings: Settings, db: Conn
) -> None:
    account = await new_account(settings, "todisable")
    assert await _api_status(app, account.token) == 200
    page = await operator.http.get("/console/operator")
    # The confirmation dialog, and its form, are on the page.
    assert f'action="/console/operator/accounts/{account.name}/disable"' in page.text
    done = await operator.http.post(
        f"/console/operator/accounts/{account.name}/disable", data=operator.form()
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/operator?disabled={account.name}"
    assert await _account_status(db, account.name) == "disabled"
    assert await _api_status(app, account.token) == 401
    shown = await operator.http.get(done.headers["location"])
    assert f"Account {account.name} disabled" in _text(shown.text)
    assert _row(shown.text, account.name).startswith(f"{account.name} Disabled")
    assert f"/console/operator/accounts/{account.name}/disable" not in shown.text


async def test_no_state_change_without_the_csrf_token(
    operator: SignedInClient, settings: Settings, db: Conn
) -> None:
    account = await new_account(settings, "kept")
    refused = await operator.http.post(f"/console/operator/accounts/{account.name}/disable")
    assert refused.status_code == 403
    assert await _account_status(db, account.name) == "active"
    name = f"never-{uuid.uuid4().hex[:8]}"
    refused = await operator.http.post("/console/operator/accounts", data={"name": name})
    assert refused.status_code == 403
    cur = await db.execute("SELECT count(*) FROM accounts WHERE name = %s", (name,))
    assert await cur.fetchone() == (0,)


async def test_disabling_an_unknown_account_is_the_404_page(operator: SignedInClient) -> None:
    answer = await operator.http.post(
        "/console/operator/accounts/no-such-account/disable", data=operator.form()
    )
    assert answer.status_code == 404
    # The console's page with the operator's menu, not the API's JSON error.
    assert answer.headers["content-type"].startswith("text/html")
    text = _text(answer.text)
    assert "Page not found" in text
    assert 'href="/console/operator" aria-current="page"' in answer.text


@pytest.mark.parametrize(
    ("method", "action"),
    [("GET", ""), ("POST", "/enable"), ("POST", "/tokens"), ("POST", "/users")],
)
async def test_an_unknown_account_s_page_and_actions_are_the_404_page(
    operator: SignedInClient, method: str, action: str
) -> None:
    path = f"/console/operator/accounts/no-such-account{action}"
    fields = {"email": f"x-{uuid.uuid4().hex[:6]}@example.com", "password": "p" * 16}
    answer = await operator.http.request(
        method, path, data=operator.form(**fields) if method == "POST" else None
    )
    assert answer.status_code == 404
    assert "Page not found" in _text(answer.text)


async def test_an_account_s_user_cannot_open_or_act_on_an_account_s_operator_page(
    app: FastAPI, settings: Settings, db: Conn
) -> None:
    account = await new_account(settings, "nosy")
    user = await new_console_user(settings, account.id)
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        page = f"/console/operator/accounts/{account.name}"
        assert (await signed_in.http.get(page)).status_code == 403
        email = f"smuggled-{uuid.uuid4().hex[:6]}@example.com"
        for action, fields in (
            ("/tokens", {}),
            ("/users", {"email": email, "role": "admin", "password": "p" * 16}),
        ):
            refused = await signed_in.http.post(page + action, data=signed_in.form(**fields))
            assert refused.status_code == 403
    cur = await db.execute(
        "SELECT (SELECT count(*) FROM account_tokens WHERE account_id = %s),"
        " (SELECT count(*) FROM console_users WHERE email = %s)",
        (account.id, email),
    )
    assert await cur.fetchone() == (1, 0)


@pytest.mark.parametrize("path", ["/console/contacts", "/console/linkedin"])
async def test_the_operator_sees_no_accounts_page(operator: SignedInClient, path: str) -> None:
    refused = await operator.http.get(path)
    assert refused.status_code == 403
    assert "The platform operator manages accounts and sees none of their data." in _text(
        refused.text
    )


async def test_an_accounts_user_gets_403_on_the_operators_page(
    app: FastAPI, settings: Settings
) -> None:
    account = await new_account(settings, "user")
    user = await new_console_user(settings, account.id)
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        assert (await signed_in.http.get("/console/operator")).status_code == 403
        name = f"sneaky-{uuid.uuid4().hex[:8]}"
        refused = await signed_in.http.post(
            "/console/operator/accounts", data=signed_in.form(name=name)
        )
        assert refused.status_code == 403


async def test_the_page_in_italian(operator: SignedInClient) -> None:
    page = await operator.http.get("/console/operator?lang=it")
    text = _text(page.text)
    assert "Crea un account" in text
    assert "Lead, 30 giorni" in text
