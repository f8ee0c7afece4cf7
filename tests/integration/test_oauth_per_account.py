"""An account connects its own LinkedIn member through the admin process, as the member's
browser goes: the link the API hands out opens a page naming the account, Continue sends the
browser to LinkedIn (the sandbox, holding the app's registered redirect URI to the letter, as
LinkedIn does), and LinkedIn sends it back to the callback. The states bind the callback to
the account and work once, within 15 minutes, in the browser that pressed Continue; the
member is LinkedIn's. Every refusal leaves the account without a connection. A browser is
answered with the console's pages, in English or Italian, pointing back to the console."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from admin import oauth_pages
from admin.app import create_app
from harness.children import free_port
from harness.processes import Ingress, leadsync
from harness.sandboxes import Sandbox, serving
from ingest.connect import approves_without_browser
from leadsync.settings import Settings
from tests.integration.admin_client import new_account
from tests.integration.console_client import new_console_user, sign_in
from tests.integration.oauth_browser import (
    approve,
    browser,
    open_link,
    press_continue,
    query_of,
    to_linkedin,
)

Conn = AsyncConnection[tuple[object, ...]]
ADMIN = "http://127.0.0.1:8000"  # where browsers reach the admin process
CALLBACK = f"{ADMIN}/oauth/linkedin/callback"


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


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[FastAPI]:
    """The admin API in this process (its pools closed afterwards: no lifespan runs)."""
    app = create_app(settings)
    try:
        yield app
    finally:
        app.state.request_publisher.close()
        await app.state.database.close()


@pytest.fixture(scope="module")
async def app(app_settings: Settings) -> AsyncIterator[FastAPI]:
    async with _serving(app_settings) as running:
        yield running


def _api(app: FastAPI, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://admin.test",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture(scope="module")
async def client(app: FastAPI, app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The operator's client."""
    async with _api(app, app_settings.admin_token.get_secret_value()) as http:
        yield http


@pytest.fixture
async def member(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The member's browser: its own cookies, no token."""
    async with browser(ADMIN, httpx.ASGITransport(app=app)) as http:
        yield http


@pytest.fixture
async def stranger(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser, someone else's."""
    async with browser(ADMIN, httpx.ASGITransport(app=app)) as http:
        yield http


async def _account(client: httpx.AsyncClient) -> str:
    name = f"acme-{uuid.uuid4().hex[:8]}"
    assert (await client.post("/api/accounts", json={"name": name})).status_code == 201
    return name


async def _link(
    client: httpx.AsyncClient,
    account: str,
    path: str = "/api/accounts/{account}/linkedin/authorization",
) -> str:
    """The account's authorization link (asked for at ``path``): the admin process's page."""
    made = await client.post(path.format(account=account))
    assert made.status_code == 201, made.text
    assert made.json()["expires_in_s"] == 900
    link: str = made.json()["url"]
    assert link.split("?")[0] == f"{ADMIN}/oauth/linkedin/start"
    return link


async def _connections(db: Conn, account: str) -> list[tuple[object, ...]]:
    cur = await db.execute(
        "SELECT c.member_urn, c.member_name, c.status FROM linkedin_connections c"
        " JOIN accounts a ON a.id = c.account_id WHERE a.name = %s ORDER BY c.id",
        (account,),
    )
    return await cur.fetchall()


async def _age_states(db: Conn, account: str, minutes: float) -> None:
    """Make the account's authorizations ``minutes`` older."""
    await db.execute(
        "UPDATE oauth_states s SET created_at = s.created_at - make_interval(secs => %s)"
        " FROM accounts a WHERE a.id = s.account_id AND a.name = %s",
        (minutes * 60, account),
    )


def _refused(answer: httpx.Response, error: str, status: int = 400) -> None:
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text


# -- connecting ---------------------------------------------------------------------------


async def test_an_account_connects_its_member_and_its_forms_are_discovered(
    client: httpx.AsyncClient, member: httpx.AsyncClient, sandbox: Sandbox, db: Conn
) -> None:
    account = await _account(client)
    link = await _link(client, account)
    page = await open_link(member, link)
    # Before LinkedIn, the member is told which account their LinkedIn member would feed.
    assert f"<h1>Connect your LinkedIn member to the account {account}</h1>" in page.text
    assert await _connections(db, account) == []
    callback = await approve(member, link, CALLBACK)
    connected = await member.get(callback)
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
    _refused(await member.get(callback), "state_used")
    assert await _connections(db, account) == [(demo, "Demo Member", "active")]
    # The link too was used, by Continue.
    _refused(await member.get(link), "state_used")


async def test_each_account_gets_the_member_it_signed_in_with(
    client: httpx.AsyncClient, member: httpx.AsyncClient, sandbox: Sandbox, db: Conn
) -> None:
    members = sandbox.state.catalog.members
    [priya] = [urn for urn, m in members.items() if m.first_name == "Priya"]
    demo = sandbox.state.catalog.member_urn
    first, second = await _account(client), await _account(client)
    # Two tabs of one browser, each connecting an account.
    callback_first = await approve(member, await _link(client, first), CALLBACK)
    callback_second = await approve(member, await _link(client, second), CALLBACK, priya)
    for callback in (callback_second, callback_first):  # out of order: the state decides
        assert (await member.get(callback)).status_code == 200
    assert await _connections(db, first) == [(demo, "Demo Member", "active")]
    assert await _connections(db, second) == [(priya, "Priya Raman", "active")]


async def test_a_member_who_declines_leaves_no_connection_and_the_state_is_spent(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    linkedin = await to_linkedin(member, await _link(client, account))
    declined = urlencode(
        {
            "state": query_of(linkedin)["state"],
            "error": "user_cancelled_authorize",
            "error_description": "declined",
        }
    )
    answer = await member.get(f"{CALLBACK}?{declined}")
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "not_connected",
        "message": "LinkedIn did not authorize leadsync: declined",
        "details": [],
    }
    assert await _connections(db, account) == []
    _refused(await member.get(f"{CALLBACK}?{declined}"), "state_used")
    assert await _connections(db, account) == []


async def test_no_link_for_a_disabled_or_unknown_account(client: httpx.AsyncClient) -> None:
    account = await _account(client)
    assert (await client.post(f"/api/accounts/{account}/disable")).status_code == 200
    disabled = await client.post(f"/api/accounts/{account}/linkedin/authorization")
    assert (disabled.status_code, disabled.json()["error"]) == (409, "account_disabled")
    unknown = await client.post("/api/accounts/no-such-account/linkedin/authorization")
    assert unknown.status_code == 404


async def test_an_account_asks_for_its_own_link_with_its_api_token(
    app: FastAPI,
    app_settings: Settings,
    client: httpx.AsyncClient,
    member: httpx.AsyncClient,
    sandbox: Sandbox,
    db: Conn,
) -> None:
    account = await new_account(app_settings)
    async with _api(app, account.token) as own:
        link = await _link(own, account.name, path="/api/linkedin/authorization")
        # The operator's route for a named account is not the account's to use.
        other = await _account(client)
        refused = await own.post(f"/api/accounts/{other}/linkedin/authorization")
        assert refused.status_code == 403
        assert refused.json()["error"] == "operator_token_required"
    # The member's browser brings no token: the states and its cookie decide.
    connected = await member.get(await approve(member, link, CALLBACK))
    assert connected.status_code == 200, connected.text
    assert connected.json()["account"] == account.name
    demo = sandbox.state.catalog.member_urn
    assert await _connections(db, account.name) == [(demo, "Demo Member", "active")]
    assert await _connections(db, other) == []
    # The operator token cannot start an account's own link (it names no account).
    operator_only = await client.post("/api/linkedin/authorization")
    assert operator_only.status_code == 403
    assert operator_only.json()["error"] == "account_token_required"


# -- refusals: each connects nothing -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["", "code=abc", "state=never-made&code=abc", "state=&code=abc"],
)
async def test_a_callback_without_a_state_of_ours_is_refused(
    member: httpx.AsyncClient, query: str
) -> None:
    _refused(await member.get(f"{CALLBACK}?{query}"), "state_unknown")


async def test_an_unknown_state_is_refused_and_connects_nothing(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    callback = await approve(member, await _link(client, account), CALLBACK)
    forged = {**query_of(callback), "state": secrets.token_urlsafe(32)}
    answer = await member.get(f"{CALLBACK}?{urlencode(forged)}")
    _refused(answer, "state_unknown")
    assert "no such LinkedIn connection request" in answer.json()["message"]
    assert await _connections(db, account) == []
    # The code was good: only the state stood in the way.
    assert (await member.get(callback)).status_code == 200


async def test_a_replayed_state_is_refused_even_with_a_good_code(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    callback = await approve(member, await _link(client, account), CALLBACK)
    # The state comes back once without the code (the member cancelled): it is spent.
    cancelled = {"state": query_of(callback)["state"], "error": "user_cancelled_authorize"}
    _refused(await member.get(f"{CALLBACK}?{urlencode(cancelled)}"), "not_connected")
    answer = await member.get(callback)
    _refused(answer, "state_used")
    assert "already used" in answer.json()["message"]
    assert await _connections(db, account) == []


async def test_an_expired_state_is_refused_and_counts_from_the_link(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    link = await _link(client, account)
    await _age_states(db, account, 14)  # the member opens the link 14 minutes later
    callback = await approve(member, link, CALLBACK)
    await _age_states(db, account, 2)  # and comes back from LinkedIn 2 minutes after that
    answer = await member.get(callback)
    _refused(answer, "state_expired")
    assert "expired (it lasts 15 minutes)" in answer.json()["message"]
    assert await _connections(db, account) == []


async def test_an_expired_link_opens_no_page_and_continues_nowhere(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    link = await _link(client, account)
    page = await open_link(member, link)
    await _age_states(db, account, 15.1)
    _refused(await member.get(link), "state_expired")
    _refused(await press_continue(member, page), "state_expired")
    assert await _connections(db, account) == []


async def test_an_account_disabled_since_is_refused_and_connects_nothing(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    link = await _link(client, account)
    callback = await approve(member, link, CALLBACK)
    other_link = await _link(client, account)
    assert (await client.post(f"/api/accounts/{account}/disable")).status_code == 200
    answer = await member.get(callback)
    _refused(answer, "account_disabled")
    assert "has been disabled" in answer.json()["message"]
    _refused(await member.get(other_link), "account_disabled")
    assert await _connections(db, account) == []


async def test_a_callback_opened_in_another_browser_is_refused(
    client: httpx.AsyncClient,
    member: httpx.AsyncClient,
    stranger: httpx.AsyncClient,
    db: Conn,
) -> None:
    account = await _account(client)
    callback = await approve(member, await _link(client, account), CALLBACK)
    # The code and state copied into someone else's browser: no binding cookie there.
    answer = await stranger.get(callback)
    _refused(answer, "browser_unbound")
    assert "started in another browser" in answer.json()["message"]
    assert await _connections(db, account) == []
    # ... nor one of the right name with a value of the stranger's making.
    [binding] = [c for c in member.cookies.jar if c.name.startswith("leadsync_oauth_")]
    stranger.cookies.set(binding.name, secrets.token_urlsafe(32), "127.0.0.1", binding.path)
    _refused(await stranger.get(callback), "browser_mismatch")
    assert await _connections(db, account) == []
    # Those attempts did not spend it: the member's own browser completes (a page for it).
    done = await member.get(callback, headers={"Accept": "text/html"})
    assert done.status_code == 200, done.text
    assert f"is now connected to the account {account}." in _text(done.text)
    assert len(await _connections(db, account)) == 1
    assert not [c for c in member.cookies.jar if c.name == binding.name]  # spent: removed


async def test_a_links_state_and_linkedins_are_not_interchangeable(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    link = await _link(client, account)
    link_state = query_of(link)["state"]
    page = await open_link(member, link)
    # The link's state brought to the callback (as if LinkedIn had sent it): unknown there.
    _refused(await member.get(f"{CALLBACK}?{urlencode({'state': link_state})}"), "state_unknown")
    linkedin = await to_linkedin(member, page.url)
    # LinkedIn's state (it travels in URLs) opens no start page: no second authorization.
    linkedin_state = query_of(linkedin)["state"]
    start = f"{ADMIN}/oauth/linkedin/start?{urlencode({'state': linkedin_state})}"
    _refused(await member.get(start), "state_unknown")
    assert await _connections(db, account) == []


async def test_continue_needs_the_pages_csrf_token_in_the_same_browser(
    client: httpx.AsyncClient,
    member: httpx.AsyncClient,
    stranger: httpx.AsyncClient,
    db: Conn,
) -> None:
    account = await _account(client)
    page = await open_link(member, await _link(client, account))
    # A form posted from elsewhere (another site, another browser) lacks the CSRF cookie.
    _refused(await press_continue(stranger, page), "csrf_refused", 403)
    forged = dataclasses.replace(page, fields={**page.fields, "csrf": secrets.token_urlsafe(32)})
    _refused(await press_continue(member, forged), "csrf_refused", 403)
    # A browser saying the form came from another site.
    _refused(await press_continue(member, page, Origin="https://evil.example"), "csrf_refused", 403)
    # None of these spent the link: the member's own Continue goes to LinkedIn.
    sent = await press_continue(member, page, Origin=ADMIN)
    assert sent.status_code == 303, sent.text
    assert urlsplit(sent.headers["location"]).path == "/oauth/v2/authorization"
    assert await _connections(db, account) == []


def _cookie(answer: httpx.Response, prefix: str) -> set[str]:
    """The attributes of the cookie ``answer`` sets whose name starts with ``prefix``."""
    [header] = [h for h in answer.headers.get_list("set-cookie") if h.startswith(prefix)]
    return {part.strip().lower() for part in header.split(";")[1:]}


async def test_the_pages_cookies_are_httponly_samesite_and_scoped_to_the_oauth_pages(
    client: httpx.AsyncClient, member: httpx.AsyncClient
) -> None:
    link = await _link(client, await _account(client))
    opened = await member.get(link)
    assert _cookie(opened, "leadsync_csrf=") == {
        "httponly",
        "max-age=900",
        "path=/oauth/linkedin",
        "samesite=strict",
    }
    # The page cannot be framed, cached, or leak its URL (the state) as a Referer.
    assert "frame-ancestors 'none'" in opened.headers["content-security-policy"]
    assert opened.headers["x-frame-options"] == "DENY"
    # same-origin, not no-referrer: under no-referrer a browser's Continue says "Origin: null".
    assert opened.headers["referrer-policy"] == "same-origin"
    assert opened.headers["cache-control"] == "no-store"
    sent = await press_continue(member, await open_link(member, link))
    assert sent.headers["referrer-policy"] == "no-referrer"  # LinkedIn is not told the link
    assert _cookie(sent, "leadsync_oauth_") == {
        "httponly",
        "max-age=900",
        "path=/oauth/linkedin",
        "samesite=lax",  # sent along when LinkedIn redirects back (a top-level GET)
    }


def _behind_proxy(app: FastAPI, prefix: str) -> ASGIApp:
    """``app`` as a reverse proxy serves it under ``prefix`` (which it strips)."""

    async def proxied(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "path": scope["path"].removeprefix(prefix)}
            scope.pop("raw_path", None)
        await app(scope, receive, send)

    return proxied


async def test_the_cookies_are_secure_when_the_admin_process_is_reached_over_https(
    app_settings: Settings,
) -> None:
    origin = "https://leadsync.example"
    served = app_settings.model_copy(
        update={"oauth_redirect_url": f"{origin}/admin/oauth/linkedin/callback"}
    )
    async with (
        _serving(served) as app,
        _api(app, served.admin_token.get_secret_value()) as operator,
        browser(origin, httpx.ASGITransport(app=_behind_proxy(app, "/admin"))) as http,
    ):
        account = await _account(operator)
        made = await operator.post(f"/api/accounts/{account}/linkedin/authorization")
        link = made.json()["url"]
        assert link.split("?")[0] == f"{origin}/admin/oauth/linkedin/start"
        opened = await http.get(link)
        assert {"secure", "path=/admin/oauth/linkedin"} <= _cookie(opened, "leadsync_csrf=")
        sent = await press_continue(http, await open_link(http, link), Origin=origin)
        assert sent.status_code == 303, sent.text
        assert {"secure", "samesite=lax", "path=/admin/oauth/linkedin"} <= _cookie(
            sent, "leadsync_oauth_"
        )
        assert query_of(sent.headers["location"])["redirect_uri"] == served.oauth_redirect_url


# -- the pages a browser sees ----------------------------------------------------------------

HTML = {"Accept": "text/html,application/xhtml+xml"}
ITALIAN = {**HTML, "Accept-Language": "it-IT,it;q=0.9,en;q=0.5"}
_BUTTON_LINK = re.compile(r'<a class="button (?:primary|secondary)" href="([^"]+)">([^<]+)</a>')
_LANGUAGE_LINK = re.compile(r'<a href="([^"]+)" hreflang="(\w+)"')


def _text(page: str) -> str:
    """The page's visible text: tags dropped, entities read, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _heading(answer: httpx.Response) -> str:
    found = re.search(r"<h1>(.*?)</h1>", answer.text, re.S)
    assert found, answer.text
    return _text(found[1])


def _buttons(answer: httpx.Response) -> dict[str, str]:
    """The page's button links: their text -> the address they lead to."""
    return {
        _text(label): urljoin(str(answer.url), html.unescape(href))
        for href, label in _BUTTON_LINK.findall(answer.text)
    }


def _language_links(answer: httpx.Response) -> dict[str, str]:
    """The language switch: code -> the address it leads to (none: no switch)."""
    return {
        code: urljoin(str(answer.url), html.unescape(href))
        for href, code in _LANGUAGE_LINK.findall(answer.text)
    }


async def test_a_browser_is_answered_with_a_page(
    client: httpx.AsyncClient, member: httpx.AsyncClient
) -> None:
    answer = await member.get(f"{CALLBACK}?state=never-made&code=abc", headers=HTML)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert _heading(answer) == "This connection link does not work"
    assert "leadsync knows no such LinkedIn connection request" in _text(answer.text)
    assert "Ask whoever sent you the link for a new one." in _text(answer.text)
    # Not signed in to the console: the way back is the console's first page (sign-in).
    assert _buttons(answer) == {"Go to the console": f"{ADMIN}/console/"}
    link = await _link(client, await _account(client))
    await to_linkedin(member, link)
    used = await member.get(link, headers=HTML)
    assert used.status_code == 400
    assert _heading(used) == "This connection link was already used"
    assert "Nothing was changed now." in _text(used.text)


async def test_the_pages_wear_the_consoles_stylesheet_and_still_run_no_script(
    client: httpx.AsyncClient, member: httpx.AsyncClient
) -> None:
    link = await _link(client, await _account(client))
    for answer in (
        await member.get(link, headers=HTML),
        await member.get(f"{CALLBACK}?state=never-made", headers=HTML),
    ):
        styles = re.findall(r'<link rel="stylesheet" href="([^"]+)">', answer.text)
        assert [urljoin(str(answer.url), href) for href in styles] == [
            f"{ADMIN}/console/static/console.css"
        ]
        assert (await member.get(f"{ADMIN}/console/static/console.css")).status_code == 200
        assert "<script" not in answer.text
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy  # none, by default-src
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "same-origin"


async def test_the_start_page_carries_its_csrf_token_masked_afresh_each_time(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    """The admin process compresses its pages: a token standing unchanged in each of them
    could be read from their sizes (BREACH). Each copy still works for Continue."""
    link = await _link(client, await _account(client))
    first, second = await open_link(member, link), await open_link(member, link)
    cookie = member.cookies.get("leadsync_csrf")
    assert cookie
    copies = {first.fields["csrf"], second.fields["csrf"]}
    assert len(copies) == 2
    assert cookie not in first.text + second.text
    sent = await press_continue(member, first, Origin=ADMIN)
    assert sent.status_code == 303, sent.text
    assert urlsplit(sent.headers["location"]).path == "/oauth/v2/authorization"


async def test_the_pages_speak_italian_and_keep_the_language_chosen_across_linkedin(
    client: httpx.AsyncClient, member: httpx.AsyncClient, db: Conn
) -> None:
    account = await _account(client)
    link = await _link(client, account)
    # Accept-Language decides first.
    italian = await member.get(link, headers=ITALIAN)
    assert italian.status_code == 200
    assert '<html lang="it">' in italian.text
    assert _heading(italian) == f"Collega il tuo membro LinkedIn all'account {account}"
    assert ">Continua</button>" in italian.text
    # The switch: this page again in the other language, with the state and nothing else.
    state = query_of(link)["state"]
    start = f"{ADMIN}/oauth/linkedin/start"
    assert _language_links(italian) == {
        "en": f"{start}?{urlencode({'state': state, 'lang': 'en'})}",
        "it": f"{start}?{urlencode({'state': state, 'lang': 'it'})}",
    }
    english = await member.get(_language_links(italian)["en"], headers=ITALIAN)
    assert _heading(english) == f"Connect your LinkedIn member to the account {account}"
    assert _cookie(english, "leadsync_lang=") == {
        "httponly",
        "max-age=31536000",
        "path=/oauth/linkedin",
        "samesite=lax",  # sent along when LinkedIn redirects the member back
    }
    # Italian chosen on the start page (an English browser): LinkedIn's answer comes in it.
    chosen = await member.get(f"{link}&lang=it", headers=HTML)
    assert _heading(chosen) == f"Collega il tuo membro LinkedIn all'account {account}"
    page = await open_link(member, link)
    linkedin = await to_linkedin(member, page.url)
    declined = {"state": query_of(linkedin)["state"], "error": "user_cancelled_authorize"}
    answer = await member.get(f"{CALLBACK}?{urlencode(declined)}", headers=HTML)
    assert answer.status_code == 400
    assert '<html lang="it">' in answer.text
    assert _heading(answer) == "L'accesso a LinkedIn non è stato autorizzato"
    assert "Dettagli: user_cancelled_authorize" in _text(answer.text)
    assert _buttons(answer) == {"Vai alla console": f"{ADMIN}/console/"}
    # Its state is spent: loading the page again would say "already used", so no switch.
    assert _language_links(answer) == {}
    assert await _connections(db, account) == []


async def test_the_language_switch_keeps_only_what_gives_the_same_page(
    client: httpx.AsyncClient, member: httpx.AsyncClient
) -> None:
    link = await _link(client, await _account(client))
    # Nothing else of the address is written into the start page, which holds the CSRF
    # token: no text of a link's making stands next to it in a compressed page.
    opened = await member.get(f"{link}&planted=guess-1234", headers=HTML)
    assert opened.status_code == 200
    assert "planted" not in opened.text
    assert "guess-1234" not in opened.text
    # A callback refused before anything is spent: the same page again, in Italian.
    query = {"state": "never-made", "code": "abc"}
    refused = await member.get(f"{CALLBACK}?{urlencode(query)}", headers=HTML)
    again = _language_links(refused)["it"]
    assert query_of(again) == {**query, "lang": "it"}
    italian = await member.get(again, headers=HTML)
    assert (italian.status_code, _heading(italian)) == (
        400,
        "Questo link di connessione non funziona",
    )
    # Continue's refusal answers a POST: no switch (and Italian, as chosen above).
    page = await open_link(member, link)
    forged = dataclasses.replace(page, fields={**page.fields, "csrf": secrets.token_urlsafe(32)})
    refused_post = await press_continue(member, forged, Accept="text/html")
    assert refused_post.status_code == 403
    assert _heading(refused_post) == "Questa richiesta non proviene dalla pagina di leadsync"
    assert _language_links(refused_post) == {}


async def test_a_signed_in_user_of_the_account_is_pointed_back_to_its_linkedin_page(
    app: FastAPI, app_settings: Settings, client: httpx.AsyncClient, db: Conn
) -> None:
    account = await new_account(app_settings, "linkedin")
    user = await new_console_user(app_settings, account.id)
    made = await client.post(f"/api/accounts/{account.name}/linkedin/authorization")
    assert made.status_code == 201, made.text
    link = made.json()["url"]
    async with httpx.AsyncClient(
        mounts={ADMIN: httpx.ASGITransport(app=app)}, base_url=ADMIN, timeout=60
    ) as signed_in:
        assert (await sign_in(signed_in, user.email, user.password)).status_code == 303
        linkedin_page = f"{ADMIN}/console/linkedin"
        start = await signed_in.get(link, headers=HTML)
        assert _buttons(start) == {"Cancel": linkedin_page}
        linkedin = await to_linkedin(signed_in, link)
        declined = {"state": query_of(linkedin)["state"], "error": "user_cancelled_authorize"}
        callback = f"{CALLBACK}?{urlencode(declined)}"
        answer = await signed_in.get(callback, headers=HTML)
        assert (answer.status_code, _heading(answer)) == (400, "LinkedIn access was not approved")
        assert "press Connect LinkedIn on the console's LinkedIn page" in _text(answer.text)
        assert _buttons(answer) == {"Back to the LinkedIn page": linkedin_page}
        replayed = await signed_in.get(callback, headers=HTML)
        assert _heading(replayed) == "This connection link was already used"
        assert _buttons(replayed) == {"Back to the LinkedIn page": linkedin_page}
        # A state of no account: nothing says the browser's user is its account's.
        unknown = await signed_in.get(f"{CALLBACK}?state=never-made", headers=HTML)
        assert _buttons(unknown) == {"Go to the console": f"{ADMIN}/console/"}
    assert await _connections(db, account.name) == []


_TEMPLATE_TEXT = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def test_every_text_of_the_pages_is_in_their_italian_catalog_and_it_holds_no_other() -> None:
    """The texts of the templates and of every refusal, against ``locales/it/oauth.json``."""
    templates = Path(oauth_pages.__file__).parent / "console" / "templates" / "oauth"
    texts = {
        a or b
        for path in templates.glob("*.html")
        for a, b in _TEMPLATE_TEXT.findall(path.read_text(encoding="utf-8"))
    }
    assert "Continue" in texts  # the scan finds the texts
    for explanation in oauth_pages.EXPLANATIONS.values():
        texts |= {explanation.heading, explanation.happened, explanation.todo}
        texts |= {explanation.todo_in_console} if explanation.todo_in_console else set()
    texts |= {"Back to the LinkedIn page", "Go to the console"}  # the ways back
    own = json.loads((templates.parents[1] / "locales" / "it" / "oauth.json").read_text("utf-8"))
    assert sorted(texts - set(own)) == []
    assert sorted(set(own) - texts) == []


# -- connecting again ---------------------------------------------------------------------

FORM = 7234246
OWNER = "urn:li:sponsoredAccount:1234567"  # the form's ad account


async def test_connecting_again_makes_the_accounts_push_subscriptions_again(
    app_settings: Settings, sandbox: Sandbox, db: Conn
) -> None:
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/linkedin/webhook"
    settings = app_settings.model_copy(update={"ingress_port": port, "ingress_public_url": webhook})
    operator = settings.admin_token.get_secret_value()

    def ours() -> list[tuple[str, str]]:
        hooks = sandbox.control.get("/webhooks").json()["subscriptions"]
        return [
            (h["owner"]["sponsoredAccount"], h["leadType"])
            for h in hooks
            if h["webhook"] == webhook
        ]

    # The receiver LinkedIn checks (challenge) before it accepts a subscription.
    with Ingress(settings):
        async with (
            _serving(settings) as app,
            _api(app, operator) as client,
            browser(ADMIN, httpx.ASGITransport(app=app)) as member,
        ):
            account = await _account(client)
            first = await member.get(await approve(member, await _link(client, account), CALLBACK))
            assert first.status_code == 200, first.text
            # No form has Import on yet: nothing to subscribe.
            assert (first.json()["push_subscriptions"], first.json()["subscription_failures"]) == (
                0,
                [],
            )
            assert ours() == []
            # Import on for a form (in the database: the API would subscribe its owner itself),
            # as it stood when the connection lapsed.
            await db.execute(
                "UPDATE forms f SET import_enabled = true, import_enabled_at = now()"
                " FROM accounts a WHERE a.id = f.account_id AND a.name = %s AND f.id = %s",
                (account, FORM),
            )
            await db.execute(
                "UPDATE linkedin_connections c SET status = 'expired'"
                " FROM accounts a WHERE a.id = c.account_id AND a.name = %s",
                (account,),
            )
            again = await member.get(await approve(member, await _link(client, account), CALLBACK))
            assert again.status_code == 200, again.text
            assert (again.json()["push_subscriptions"], again.json()["subscription_failures"]) == (
                1,
                [],
            )
            assert ours() == [(OWNER, "SPONSORED")]
            assert await _connections(db, account) == [
                (sandbox.state.catalog.member_urn, "Demo Member", "active")
            ]
            # Once more: found in place, still one.
            third = await member.get(await approve(member, await _link(client, account), CALLBACK))
            assert third.json()["push_subscriptions"] == 1
            assert ours() == [(OWNER, "SPONSORED")]


def test_the_sandbox_approves_without_a_browser_where_only_the_sandbox_can_be(
    settings: Settings,
) -> None:
    """Loopback (``make run``) or demo mode (docker-compose's ``http://sandbox:8090``: the
    demo client is the sandbox's alone); LinkedIn itself needs the member's browser."""
    base = settings.model_copy(
        update={"demo": False, "linkedin_oauth_url": "https://www.linkedin.com/oauth/v2"}
    )
    compose = base.model_copy(
        update={"demo": True, "linkedin_oauth_url": "http://sandbox:8090/oauth/v2"}
    )
    local = base.model_copy(update={"linkedin_oauth_url": "http://127.0.0.1:8090/oauth/v2"})
    assert approves_without_browser(compose) is True
    assert approves_without_browser(local) is True
    assert approves_without_browser(base) is False


# -- the command line's own flow -------------------------------------------------------------


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
