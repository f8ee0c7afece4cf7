"""``/console/linkedin`` over HTTP on the real database, as a signed-in user of an account
sees it: "Connect LinkedIn" through the start page and the LinkedIn sandbox back to the page,
which then shows the member, the ad accounts and the organizations found, each by name (the
forms list names their forms' owners so too); the refresh token's countdown and its
warnings (30, 7, 1 days; red once ended or revoked, with "Reconnect" prominent); a link made
for another account refused in a browser signed in to this one; CSRF; Italian, down to the
member's role, the ad account's status and why a connection was revoked."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection

from admin.console.session import SESSION_COOKIE
from harness.sandboxes import Sandbox, serving
from leadsync.settings import Settings
from sinks.connections import reconnect_reason
from tests.integration.admin_client import hold_for_session, new_account
from tests.integration.console_client import (
    console_app,
    new_console_user,
    session_csrf_token,
    sign_in,
)
from tests.integration.oauth_browser import approve

Conn = AsyncConnection[tuple[object, ...]]
ADMIN = "http://127.0.0.1:8000"  # where browsers reach the admin process
CALLBACK = f"{ADMIN}/oauth/linkedin/callback"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
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
async def app(app_settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(app_settings) as running:
        yield running


class Browser:
    """A browser signed in to the console as a user of an account: the admin app at
    ``ADMIN`` (console, start page and callback share its cookies), the sandbox over the
    network."""

    def __init__(self, http: httpx.AsyncClient, csrf: str, account_id: int, account: str):
        self.http, self.csrf, self.account_id, self.account = http, csrf, account_id, account

    async def page(self, query: str = "") -> httpx.Response:
        answer = await self.http.get(f"/console/linkedin{query}")
        assert answer.status_code == 200, answer.text
        return answer

    async def connect(self, **fields: str) -> httpx.Response:
        return await self.http.post("/console/linkedin/connect", data=fields)


@asynccontextmanager
async def _signed_in(app: FastAPI, settings: Settings) -> AsyncIterator[Browser]:
    account = await new_account(settings, "linkedin")
    user = await new_console_user(settings, account.id)
    async with httpx.AsyncClient(
        mounts={ADMIN: httpx.ASGITransport(app=app)}, base_url=ADMIN, timeout=60
    ) as http:
        assert (await sign_in(http, user.email, user.password)).status_code == 303
        yield Browser(http, await session_csrf_token(settings, http), account.id, account.name)


@pytest.fixture
async def browser(app: FastAPI, app_settings: Settings) -> AsyncIterator[Browser]:
    async with _signed_in(app, app_settings) as signed_in:
        yield signed_in


def _text(markup: str) -> str:
    """The page's visible text, tags dropped, entities read and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


async def _connections(db: Conn, account_id: int) -> list[tuple[object, ...]]:
    cur = await db.execute(
        "SELECT id, member_urn, member_name FROM linkedin_connections WHERE account_id = %s",
        (account_id,),
    )
    return await cur.fetchall()


async def _fake_connection(db: Conn, account_id: int, ends_in: timedelta) -> int:
    """A connection whose refresh token ends in ``ends_in``, with one ad account and two
    organizations, one named and one whose name LinkedIn did not give, as discovery would
    leave them (no token is ever used here)."""
    await hold_for_session(db, account_id)
    cur = await db.execute(
        "INSERT INTO linkedin_connections (member_urn, member_name, access_token,"
        " access_expires_at, refresh_token, refresh_expires_at)"
        " VALUES (%s, 'Ada Lovelace', '\\x00', now() + interval '60 days', '\\x00',"
        " now() + %s) RETURNING id",
        (f"urn:li:person:{uuid.uuid4().hex[:10]}", ends_in),
    )
    row = await cur.fetchone()
    assert row is not None
    connection_id = int(str(row[0]))
    await db.execute(
        "INSERT INTO ad_accounts (urn, connection_id, name, role, organization_urn, status)"
        " VALUES ('urn:li:sponsoredAccount:5550001', %s, 'Ada Ads', 'ACCOUNT_MANAGER',"
        " 'urn:li:organization:777', 'ACTIVE')",
        (connection_id,),
    )
    await db.execute(
        "INSERT INTO connection_owners (connection_id, owner_urn, owner_name) VALUES"
        " (%s, 'urn:li:sponsoredAccount:5550001', NULL), (%s, 'urn:li:organization:777', NULL),"
        " (%s, 'urn:li:organization:778', 'Analytical Engines')",
        (connection_id, connection_id, connection_id),
    )
    return connection_id


# -- connecting -------------------------------------------------------------------------


async def test_an_account_without_a_connection_is_offered_to_connect_linkedin(
    browser: Browser,
) -> None:
    text = _text((await browser.page("?connected=not-a-number")).text)
    assert "No LinkedIn member connected yet" in text
    assert "Connect LinkedIn" in text
    assert "Reconnect" not in text


async def test_connect_goes_through_the_start_page_and_linkedin_back_to_the_page(
    browser: Browser, db: Conn, sandbox: Sandbox
) -> None:
    sent = await browser.connect(csrf_token=browser.csrf)
    assert sent.status_code == 303, sent.text
    link = sent.headers["location"]
    # The existing start page, naming the account, for the signed-in user's account.
    assert link.startswith(f"{ADMIN}/oauth/linkedin/start?state=")
    start = await browser.http.get(link)
    assert f"to the account {browser.account}" in start.text

    back = await browser.http.get(await approve(browser.http, link, CALLBACK), headers=HTML)
    [(connection_id, member_urn, member_name)] = await _connections(db, browser.account_id)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == f"/console/linkedin?connected={connection_id}"

    text = _text((await browser.page(f"?connected={connection_id}")).text)
    assert f"LinkedIn member {member_name} is connected" in text
    assert f"{member_name} {member_urn}" in text
    cur = await db.execute(
        "SELECT name FROM ad_accounts WHERE connection_id = %s ORDER BY name", (connection_id,)
    )
    ad_accounts = [str(name) for (name,) in await cur.fetchall()]
    assert len(ad_accounts) >= 2
    for name in ad_accounts:
        assert name in text
    # The organization LinkedIn named to discovery, by that name with its id beside it.
    organization = sandbox.state.catalog.organization
    assert "Organizations 1 " in text
    assert f"Organization ID {organization.name} {organization.id}" in text
    assert organization.urn not in text
    # A refresh token lives a year: the countdown starts there, no warning yet.
    assert re.search(r"Time left (364|365) days left", text), text
    assert "Connected" in text
    assert "Ends soon" not in text


async def test_the_forms_list_names_an_organization_s_forms_by_its_name(
    browser: Browser, db: Conn, sandbox: Sandbox
) -> None:
    sent = await browser.connect(csrf_token=browser.csrf)
    back = await browser.http.get(
        await approve(browser.http, sent.headers["location"], CALLBACK), headers=HTML
    )
    assert back.status_code == 303, back.text
    organization = sandbox.state.catalog.organization
    cur = await db.execute(
        "SELECT name FROM forms WHERE account_id = %s AND owner_urn = %s ORDER BY name",
        (browser.account_id, organization.urn),
    )
    organic = [str(name) for (name,) in await cur.fetchall()]
    assert organic, "the demo member reads the organization's forms"

    def forms_list(markup: str) -> tuple[str, str]:
        """The owner filter's option for the organization, and the page's text."""
        option = re.search(
            rf'<option value="{re.escape(organization.urn)}">([^<]*)</option>', markup
        )
        assert option is not None, markup
        return html.unescape(option[1]), _text(markup)

    page = await browser.http.get("/console/forms")
    assert page.status_code == 200, page.text
    label, text = forms_list(page.text)
    assert label == organization.name
    for name in organic:
        assert re.search(rf"{re.escape(name)}( New)? {re.escape(organization.name)} ", text)
    assert f"Organization {organization.id}" not in text

    # Without the name (LinkedIn refused it to every discovery), the organization by number.
    await hold_for_session(db, browser.account_id)
    await db.execute(
        "UPDATE connection_owners SET owner_name = NULL WHERE owner_urn = %s", (organization.urn,)
    )
    label, text = forms_list((await browser.http.get("/console/forms")).text)
    assert label == f"Organization {organization.id}"
    assert organization.name not in text


async def test_a_link_for_another_account_is_refused_where_a_user_of_this_one_is_signed_in(
    app: FastAPI, app_settings: Settings, browser: Browser, db: Conn
) -> None:
    # The other account's link (as its operator or its API token would hand it out), opened
    # in a browser signed in to the console for this account.
    other = await new_account(app_settings, "other")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=ADMIN,
        headers={"Authorization": f"Bearer {other.token}"},
    ) as api:
        made = await api.post("/api/linkedin/authorization")
    assert made.status_code == 201, made.text
    callback = await approve(browser.http, made.json()["url"], CALLBACK)

    refused = await browser.http.get(callback, headers=HTML)
    assert refused.status_code == 403, refused.text
    assert f"for the account {other.name}" in refused.text
    assert f"for the account {browser.account}" in refused.text
    assert await _connections(db, other.id) == []
    assert await _connections(db, browser.account_id) == []

    # Signed out of the console, the same browser may finish it on purpose.
    browser.http.cookies.delete(SESSION_COOKIE)
    finished = await browser.http.get(callback, headers=HTML)
    assert finished.status_code == 200, finished.text
    assert len(await _connections(db, other.id)) == 1


async def test_connect_without_the_csrf_token_is_refused_and_makes_no_link(
    browser: Browser, db: Conn
) -> None:
    refused = await browser.connect()
    assert refused.status_code == 403
    cur = await db.execute(
        "SELECT count(*) FROM oauth_states WHERE account_id = %s", (browser.account_id,)
    )
    assert await cur.fetchone() == (0,)


# -- the countdown and its warnings --------------------------------------------------------


async def test_a_connection_far_from_its_end_counts_down_in_days(
    browser: Browser, db: Conn
) -> None:
    await _fake_connection(db, browser.account_id, timedelta(days=200, minutes=30))
    text = _text((await browser.page()).text)
    assert "Time left 200 days left" in text
    assert "Connected" in text
    assert "Ada Ads 5550001 Account manager Active Yes" in text
    # By name, the id beside it; the one LinkedIn gave no name for by its URN, listed last.
    assert "Organizations 2 Organizations whose forms Ada Lovelace can read" in text
    assert "Analytical Engines 778 urn:li:organization:777 777" in text
    assert "Ends soon" not in text


@pytest.mark.parametrize(
    ("ends_in", "left"),
    [
        (timedelta(days=29, hours=23, minutes=30), "29 days and 23 hours"),
        (timedelta(days=5, hours=3, minutes=30), "5 days and 3 hours"),
        (timedelta(hours=20, minutes=30), "20 hours"),
    ],
)
async def test_a_connection_within_a_warning_shows_days_and_hours_and_asks_to_reconnect(
    browser: Browser, db: Conn, ends_in: timedelta, left: str
) -> None:
    await _fake_connection(db, browser.account_id, ends_in)
    html = (await browser.page()).text
    text = _text(html)
    assert f"Time left {left} left" in text
    assert f"The connection of Ada Lovelace ends in {left}. Reconnect before" in text
    assert 'class="status status-yellow" role="img" aria-label="Ends soon"' in html
    # Reconnect is the page's primary action while a warning stands.
    assert re.search(r'class="button primary">Reconnect</button>', html)


async def test_an_ended_connection_is_red_with_reconnect_prominent(
    browser: Browser, db: Conn
) -> None:
    await _fake_connection(db, browser.account_id, -timedelta(days=2))
    html = (await browser.page()).text
    text = _text(html)
    assert "Time left Ended (ended " in text
    assert "The connection of Ada Lovelace has ended: no lead comes in until you reconnect." in (
        text
    )
    assert 'aria-label="Expired"' in html
    assert '<div class="notice error" role="alert">' in html
    assert 'class="button primary">Reconnect LinkedIn</button>' in html


async def test_a_revoked_connection_says_why(browser: Browser, db: Conn) -> None:
    connection_id = await _fake_connection(db, browser.account_id, timedelta(days=100))
    await db.execute(
        "UPDATE linkedin_connections SET status = 'revoked',"
        " status_reason = 'the member revoked leadsync on LinkedIn' WHERE id = %s",
        (connection_id,),
    )
    text = _text((await browser.page()).text)
    assert (
        "LinkedIn no longer accepts the connection of Ada Lovelace (the member revoked"
        " leadsync on LinkedIn)" in text
    )
    assert "Reconnect LinkedIn" in text


async def test_the_page_in_italian(browser: Browser, db: Conn) -> None:
    await _fake_connection(db, browser.account_id, timedelta(days=5, hours=3, minutes=30))
    text = _text((await browser.page("?lang=it")).text)
    assert "Connessione LinkedIn" in text
    assert "Tempo rimasto ancora 5 giorni e 3 ore" in text
    assert "Riconnetti" in text
    # LinkedIn's values too: the member's role and the ad account's status.
    assert "Ada Ads 5550001 Manager dell'account Attivo Sì" in text
    assert "Organizzazioni 2 Organizzazioni di cui Ada Lovelace può leggere i moduli" in text
    assert "ID organizzazione Analytical Engines 778" in text
    assert "ACCOUNT_MANAGER" not in text
    assert "ACTIVE" not in text


async def test_an_italian_browser_reads_why_leadsync_marked_the_connection_revoked(
    browser: Browser, db: Conn
) -> None:
    connection_id = await _fake_connection(db, browser.account_id, timedelta(days=100))
    # As the puller marks a connection whose tokens LinkedIn refused.
    await db.execute(
        "UPDATE linkedin_connections SET status = 'revoked', status_reason = %s WHERE id = %s",
        (reconnect_reason("revoked"), connection_id),
    )
    answer = await browser.http.get("/console/linkedin", headers={"Accept-Language": "it"})
    assert answer.status_code == 200, answer.text
    text = _text(answer.text)
    assert (
        "LinkedIn non accetta più la connessione di Ada Lovelace (la connessione LinkedIn è"
        " stata revocata: il membro deve riconnettersi (`leadsync linkedin connect`)): non"
        " arriva nessun lead finché non riconnetti."
    ) in text
    assert "the member must reconnect" not in text
    assert "Riconnetti LinkedIn" in text
