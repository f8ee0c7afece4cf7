"""A form's error log page past its newest lines, over HTTP on the real PostgreSQL, as a
signed-in user sees it without JavaScript: "Older lines" pages back through the whole log
(each line once, newest first) keeping the kind filter and the page's size, "Newest lines"
goes back to the start, the page says which lines it shows; in Italian too; a cursor or size
the page cannot use is the console's 400 page; another account's cursor shows nothing of
that account, and its form is the 404 page."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection

from admin.console.errors_pages import moment
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.events import ErrorEvent
from schemas.linkedin import Lead
from sinks.database import Database
from sinks.error_log import record_errors
from sinks.forms import register_from_leads
from tests.integration.admin_client import AccountWithToken, hold_for_session, new_account
from tests.integration.console_client import (
    SignedInClient,
    console_app,
    console_client,
    new_console_user,
)
from tests.integration.produce import lead_for

START = datetime(2026, 5, 4, 8, 30, tzinfo=UTC)
LINES = 7
# Every third line a connection error, the others configuration errors.
CONNECTION = [n for n in range(LINES) if n % 3 == 0]


def _urn(n: int, prefix: str = "page") -> str:
    return f"urn:li:leadFormResponse:{prefix}-{n}"


async def _form_with_lines(settings: Settings, account_id: int, prefix: str) -> int:
    """A form and its error log as the error agent writes it: line n at START + n minutes,
    so the newest is the last."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for(f"lead-{form_id}", "a@example.com", form_id=form_id))
    async with await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as c:
        await hold_for_session(c, account_id)
        await register_from_leads(c, [lead], auto_mappings)
    events = [
        ErrorEvent(
            error_id=uuid.uuid4(),
            occurred_at=START + timedelta(minutes=n),
            stage="map",
            code="connection_revoked" if n in CONNECTION else "invalid_value",
            message=f"line {n}",
            account_id=account_id,
            form_id=form_id,
            lead_id=_urn(n, prefix),
            origin="push",
        )
        for n in range(LINES)
    ]
    async with Database.from_settings(settings, max_size=1) as db, db.account(account_id) as conn:
        assert await record_errors(conn, events) == LINES
    return form_id


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "errorlog")


@pytest.fixture(scope="module")
async def form_id(settings: Settings, account: AccountWithToken) -> int:
    return await _form_with_lines(settings, account.id, "page")


@pytest.fixture(scope="module")
async def console(
    settings: Settings, app: FastAPI, account: AccountWithToken
) -> AsyncIterator[SignedInClient]:
    user = await new_console_user(settings, account.id, "member")
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        yield signed_in


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))).strip()


def _shown(page: str) -> list[str]:
    """The lead ids of the table's rows, top to bottom."""
    if "<tbody>" not in page:
        return []
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<code>(urn:li:leadFormResponse:[^<]+)</code>", body)


def _note(page: str) -> str:
    return _text(page.split('id="lines-note">')[1].split("</p>")[0])


def _link(page: str, text: str) -> str | None:
    """The address of the pager's link named ``text``, if the page has one."""
    if '<nav class="pager"' not in page:
        return None
    pager = page.split('<nav class="pager"')[1].split("</nav>")[0]
    found = re.findall(rf'<a class="button secondary" href="([^"]+)"[^>]*>{text}</a>', pager)
    return html.unescape(found[0]) if found else None


async def _get(console: SignedInClient, url: str, lang: str = "en") -> str:
    response = await console.http.get(url, headers={"Accept-Language": lang})
    assert response.status_code == 200, (url, response.text)
    return response.text


async def test_older_lines_page_back_through_the_whole_log_and_newest_lines_return(
    console: SignedInClient, form_id: int
) -> None:
    base = f"/console/forms/{form_id}/errors"
    first = await _get(console, f"{base}?limit=3")
    assert _shown(first) == [_urn(n) for n in (6, 5, 4)]
    assert _note(first) == "The newest 3 lines; the CSV download has them all."
    assert _link(first, "Newest lines") is None
    older = _link(first, "Older lines")
    assert older is not None
    assert older.startswith(f"{base}?limit=3&before=")
    assert 'rel="next">Older lines</a>' in first
    # The kind filter's links keep the page's size, and start from the newest line.
    assert f'href="{base}?kind=connection&amp;limit=3"' in first
    assert f'href="{base}?limit=3" aria-current="page">Every kind</a>' in first

    second = await _get(console, older)
    assert _shown(second) == [_urn(n) for n in (3, 2, 1)]
    at = moment(START + timedelta(minutes=4))  # the previous page's last line
    assert (
        _note(second) == f"Lines from {at} and older, newest first; the CSV download has them all."
    )
    assert _link(second, "Newest lines") == f"{base}?limit=3"
    older = _link(second, "Older lines")
    assert older is not None

    last = await _get(console, older)
    assert _shown(last) == [_urn(0)]
    at = moment(START + timedelta(minutes=1))
    assert _note(last) == f"The oldest lines, from {at} back; the CSV download has them all."
    assert _link(last, "Older lines") is None
    newest = _link(last, "Newest lines")
    assert newest == f"{base}?limit=3"
    assert _shown(await _get(console, newest)) == _shown(first)

    # The default page holds them all: no pager, and the note says so.
    whole = await _get(console, base)
    assert _shown(whole) == [_urn(n) for n in range(LINES - 1, -1, -1)]
    assert _note(whole) == "Every line, newest first."
    assert '<nav class="pager"' not in whole


async def test_older_lines_keep_the_kind_filter(console: SignedInClient, form_id: int) -> None:
    url: str | None = f"/console/forms/{form_id}/errors?kind=connection&limit=1"
    shown: list[str] = []
    while url is not None:
        page = await _get(console, url)
        assert 'aria-current="page">Connection</a>' in page
        shown += _shown(page)
        url = _link(page, "Older lines")
        if url is not None:
            assert "kind=connection" in url
            assert "limit=1" in url
        assert len(shown) <= LINES, "the pages never end"
    assert shown == [_urn(n) for n in reversed(CONNECTION)]


async def test_the_pages_read_in_italian(console: SignedInClient, form_id: int) -> None:
    # An Italian browser (its Accept-Language: ?lang= would be remembered in a cookie).
    first = await _get(console, f"/console/forms/{form_id}/errors?limit=4", "it-IT")
    assert _note(first) == "Le 4 righe più recenti; il CSV scaricato le contiene tutte."
    older = _link(first, "Righe meno recenti")
    assert older is not None
    second = await _get(console, older, "it-IT")
    at = moment(START + timedelta(minutes=3))
    assert _note(second) == (
        f"Le righe più vecchie, dal {at} all'indietro; il CSV scaricato le contiene tutte."
    )
    assert _link(second, "Righe più recenti") == f"/console/forms/{form_id}/errors?limit=4"
    assert 'aria-label="Pagine del registro"' in second
    assert "Older lines" not in second
    assert "Newest lines" not in second


@pytest.mark.parametrize(
    "query",
    ["before=abc", "before=", "before=" + "A" * 300, "limit=0", "limit=1001", "limit=many"],
)
async def test_a_cursor_or_size_the_page_cannot_use_is_the_400_page(
    console: SignedInClient, form_id: int, query: str
) -> None:
    response = await console.http.get(f"/console/forms/{form_id}/errors?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "This address cannot be shown" in response.text


async def test_another_account_s_cursor_shows_nothing_of_it(
    settings: Settings, app: FastAPI, console: SignedInClient, form_id: int
) -> None:
    first = await _get(console, f"/console/forms/{form_id}/errors?limit=2")
    older = _link(first, "Older lines")
    assert older is not None
    cursor = older.split("before=", 1)[1]

    other = await new_account(settings, "othererrorlog")
    their_form = await _form_with_lines(settings, other.id, "theirs")
    user = await new_console_user(settings, other.id)
    async with console_client(settings, user.email, user.password, app=app) as stranger:
        # The cursor of the other account's walk: the stranger's own lines older than it.
        page = await _get(stranger, f"/console/forms/{their_form}/errors?before={cursor}")
        assert _shown(page) == [_urn(n, "theirs") for n in range(4, -1, -1)]
        assert "urn:li:leadFormResponse:page-" not in page
        refused = await stranger.http.get(f"/console/forms/{form_id}/errors?before={cursor}")
        assert refused.status_code == 404
        assert "Page not found" in refused.text
        assert "urn:li:leadFormResponse:page-" not in refused.text
        # Past the oldest line: the page says so and links back to the newest.
        gone = await _get(
            stranger, f"/console/forms/{their_form}/errors?kind=internal&before={cursor}"
        )
        at = moment(START + timedelta(minutes=5))
        assert f"No line from {at} or older." in _text(gone)
        assert f'href="/console/forms/{their_form}/errors?kind=internal">Newest lines</a>' in gone
