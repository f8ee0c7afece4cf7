"""The forms list and a form's error log over HTTP, on the real PostgreSQL, as a signed-in
user of an account sees them: each form's status icon with the API's reason, its counters
and error-log download; "New" on a form never switched on; the filters (ad account, state on
LinkedIn, status); the empty states; an Italian browser reading the yellow and red reasons,
dates included, in Italian on the list and the form's Sync page while the API keeps them in
English; the error log's lines and kind filter; its CSV, the same bytes as the API's;
another account's form answering the 404 page."""

from __future__ import annotations

import dataclasses
import html
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape
from pydantic import SecretStr

from admin.console import errors_pages, forms_pages, routes
from admin.console.form_pages import moment
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.events import ErrorEvent
from schemas.linkedin import LeadForm
from schemas.tokens import TokenPair
from sinks.catalog import save_ad_account, save_form
from sinks.connections import TokenCipher, mark_connection, reconnect_reason, save_connection
from sinks.database import Database
from sinks.error_log import record_errors
from sinks.forms import set_import
from tests.integration.admin_client import AccountWithToken, admin_client, new_account
from tests.integration.console_client import (
    SignedInClient,
    console_app,
    console_client,
    new_console_user,
)

AD_ACCOUNT = "urn:li:sponsoredAccount:5550001"
OTHER_AD_ACCOUNT = "urn:li:sponsoredAccount:5550002"
ORGANIZATION = "urn:li:organization:7770001"


@dataclass(frozen=True)
class Forms:
    """The account's forms, one per colour of the status indicator."""

    green: int
    grey: int  # new: never switched on
    red: int
    yellow: int
    off_again: int  # was on, then switched off: grey, not new


def _form_id() -> int:
    return int(uuid.uuid4().int % 900_000_000) + 100_000_000


async def _record_forms(settings: Settings, account_id: int) -> Forms:
    """Forms as discovery records them (two connections, one revoked), Import switched as
    ``leadsync forms import`` does; counters and error-log lines as the worker writes them."""
    forms = Forms(*(_form_id() for _ in range(5)))
    year = (datetime.now(UTC) + timedelta(days=365)).timestamp()
    tokens = TokenPair(SecretStr("a"), year, SecretStr("r"), year)
    cipher = TokenCipher(settings)
    async with Database.from_settings(settings, max_size=1) as db, db.account(account_id) as conn:
        member = f"urn:li:person:{uuid.uuid4().hex[:8]}"
        active = await save_connection(conn, cipher, tokens, member, None, account_id)
        revoked = await save_connection(conn, cipher, tokens, member + "r", None, account_id)
        await mark_connection(conn, revoked, "revoked", "the member revoked the app")
        await save_ad_account(
            conn, active, AD_ACCOUNT, "Acme Ads", "ACCOUNT_MANAGER", None, False, "ACTIVE"
        )
        specs = [
            (forms.green, "Alpha webinar", AD_ACCOUNT, "PUBLISHED", active),
            (forms.grey, "Beta draft", ORGANIZATION, "DRAFT", active),
            (forms.red, "Gamma demo", AD_ACCOUNT, "PUBLISHED", revoked),
            (forms.yellow, "Delta whitepaper", OTHER_AD_ACCOUNT, "ARCHIVED", active),
            (forms.off_again, "Epsilon event", OTHER_AD_ACCOUNT, "PUBLISHED", active),
        ]
        for form_id, name, owner, state, connection in specs:
            form = LeadForm.model_validate({"id": form_id, "name": name, "state": state})
            await save_form(conn, form, owner, connection, "SPONSORED", auto_mappings)
        for form_id in (forms.green, forms.red, forms.yellow, forms.off_again):
            await set_import(conn, form_id, True)
        await set_import(conn, forms.off_again, False)
        # The worker's counts: the green form imported lately, the yellow one long ago (the
        # status turns yellow after status_stale_hours without an import).
        await conn.execute(
            "UPDATE form_counters SET imported = 12, updated = 3, last_imported_at = now()"
            " WHERE form_id = %s",
            (forms.green,),
        )
        await conn.execute(
            "UPDATE form_counters SET imported = 40, last_imported_at = now() - interval '5 days'"
            " WHERE form_id = %s",
            (forms.yellow,),
        )
        await record_errors(
            conn,
            [
                _error(account_id, forms.green, "lead-1", "identity_missing"),
                _error(account_id, forms.green, "lead-2", "invalid_value", field="email"),
                _error(account_id, forms.green, "lead-3", "connection_revoked"),
            ],
        )
    return forms


def _error(
    account_id: int, form_id: int, lead_id: str, code: str, field: str | None = None
) -> ErrorEvent:
    return ErrorEvent(
        error_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        stage="map" if code != "connection_revoked" else "hydrate",
        code=code,
        message=f"={code} of {lead_id}",  # a formula start: the CSV must defuse it
        account_id=account_id,
        form_id=form_id,
        lead_id=f"urn:li:leadFormResponse:{lead_id}-{form_id}",
        field=field,
        origin="push",
    )


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as running:
        for router in (forms_pages.router, errors_pages.router):
            if router not in routes.ROUTERS:  # until the lead registers them
                running.include_router(router)
        yield running


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "formslist")


@pytest.fixture(scope="module")
async def forms(settings: Settings, account: AccountWithToken) -> Forms:
    return await _record_forms(settings, account.id)


@pytest.fixture(scope="module")
async def console(
    settings: Settings, app: FastAPI, account: AccountWithToken, forms: Forms
) -> AsyncIterator[SignedInClient]:
    user = await new_console_user(settings, account.id, "member")
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        yield signed_in


@pytest.fixture(scope="module")
async def api(settings: Settings, account: AccountWithToken) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings, account.token) as http:
        yield http


def _row(page: str, form_id: int) -> str:
    """The forms list's table row of the form."""
    [row] = [r for r in page.split("<tr>") if f'href="/console/forms/{form_id}"' in r]
    return row.split("</tr>")[0]


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))).strip()


def _listed(page: str) -> list[str]:
    """The forms' names, in the order the list shows them."""
    return [_text(m) for m in re.findall(r'<th scope="row"><a [^>]*>(.*?)</a>', page)]


async def test_each_form_shows_its_status_reason_counters_and_error_log_download(
    console: SignedInClient, api: httpx.AsyncClient, forms: Forms
) -> None:
    response = await console.http.get("/console/forms")
    assert response.status_code == 200, response.text
    page = response.text
    assert "<h1>Forms</h1>" in page
    by_id = {f["id"]: f for f in (await api.get("/api/forms")).json()["forms"]}
    expected = {
        forms.green: ("green", "Working"),
        forms.grey: ("grey", "Import off"),
        forms.red: ("red", "Connection broken"),
        forms.yellow: ("yellow", "Needs attention"),
        forms.off_again: ("grey", "Import off"),
    }
    for form_id, (color, label) in expected.items():
        row = _row(page, form_id)
        reason = escape(by_id[form_id]["status"]["reason"])
        assert by_id[form_id]["status"]["color"] == color
        # The icon, its reason on hover and for screen readers, and its colour as a word.
        assert (
            f'<span class="status status-{color}" role="img" aria-label="{reason}"'
            f' title="{reason}"></span> {label}'
        ) in row, row
        assert f'href="/console/forms/{form_id}/errors.csv" download' in row
    assert "No contact imported for 5 days" in _row(page, forms.yellow)
    assert "revoked" in _row(page, forms.red)
    # Counters: imported, updated, total errors (configuration only; the rest apart).
    green = _text(_row(page, forms.green))
    assert green.startswith("Working Alpha webinar Acme Ads Published 12 3 2 +1 other"), green
    assert f'href="/console/forms/{forms.green}/errors">2</a>' in _row(page, forms.green)
    assert "Delta whitepaper Ad account 5550002 Archived 40 0 0" in _text(_row(page, forms.yellow))
    assert "Beta draft New Organization 7770001 Draft 0 0 0" in _text(_row(page, forms.grey))
    # "New" marks the form never switched on, not the one switched off again.
    news = [f for f in expected if '<span class="badge new">New</span>' in _row(page, f)]
    assert news == [forms.grey]
    assert _listed(page) == [
        "Alpha webinar", "Beta draft", "Delta whitepaper", "Epsilon event", "Gamma demo"
    ]  # fmt: skip
    assert "5 forms" in _text(page)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"owner": AD_ACCOUNT}, ["Alpha webinar", "Gamma demo"]),
        ({"state": "PUBLISHED"}, ["Alpha webinar", "Epsilon event", "Gamma demo"]),
        ({"status": "grey"}, ["Beta draft", "Epsilon event"]),
        ({"owner": OTHER_AD_ACCOUNT, "status": "yellow"}, ["Delta whitepaper"]),
        ({"status": "purple"}, ["Alpha webinar", "Beta draft", "Delta whitepaper",
                                "Epsilon event", "Gamma demo"]),
    ],
)  # fmt: skip
async def test_the_toolbar_filters_by_ad_account_state_and_status(
    console: SignedInClient, forms: Forms, query: dict[str, str], names: list[str]
) -> None:
    page = (await console.http.get("/console/forms", params=query)).text
    assert _listed(page) == names
    filtering = query.get("status") != "purple"
    assert (f"{len(names)} of 5 forms" in _text(page)) is filtering
    # The toolbar is a plain GET form that shows the choice made.
    assert '<form class="toolbar" method="get" action="/console/forms"' in page
    for name, value in query.items():
        if filtering:
            assert f'<option value="{value}" selected>' in page, name
    assert '<label for="filter-owner">Ad account</label>' in page
    assert '<option value="urn:li:sponsoredAccount:5550001">Acme Ads</option>' in page or (
        'value="urn:li:sponsoredAccount:5550001" selected>Acme Ads</option>' in page
    )


async def test_no_form_matching_the_filters_says_so_with_a_way_back(
    console: SignedInClient, forms: Forms
) -> None:
    page = (await console.http.get("/console/forms?owner=urn:li:organization:1&state=X")).text
    assert _listed(page) == []
    assert "No form matches these filters." in page
    assert '<a class="button secondary" href="/console/forms">Clear filters</a>' in page


async def test_without_a_linkedin_connection_the_list_points_to_it(
    settings: Settings, app: FastAPI
) -> None:
    empty = await new_account(settings, "noforms")
    user = await new_console_user(settings, empty.id)
    async with console_client(settings, user.email, user.password, app=app) as console:
        page = (await console.http.get("/console/forms")).text
    assert "No LinkedIn connection yet" in page
    assert '<a class="button primary" href="/console/linkedin">Connect LinkedIn</a>' in page
    assert "<table" not in page


async def test_the_list_is_in_italian_for_an_italian_browser(
    console: SignedInClient, forms: Forms
) -> None:
    page = (await console.http.get("/console/forms?lang=it")).text
    await console.http.get("/console/forms?lang=en")  # the choice is remembered: undo it
    row = _row(page, forms.grey)
    assert _text(row).startswith(
        "Importazione disattivata Beta draft Nuovo Organizzazione 7770001 Bozza 0 0 0"
    )
    reason = "L'importazione di questo modulo è disattivata: non viene importato nulla."
    assert f'title="{escape(reason)}"' in row


@dataclass(frozen=True)
class ItalianForms:
    """An Italian user's account: a form whose connection's refresh token ends within the
    7-day warning (yellow), one whose connection leadsync marked revoked and one whose
    refresh token has ended (red); when each token ends."""

    ending: int
    revoked: int
    ended: int
    ends_at: datetime
    ended_at: datetime


async def _record_italian_forms(settings: Settings, account_id: int) -> ItalianForms:
    now = datetime.now(UTC)
    ends_at, ended_at = now + timedelta(days=5, hours=3, minutes=30), now - timedelta(days=2)
    cipher = TokenCipher(settings)
    forms = ItalianForms(_form_id(), _form_id(), _form_id(), ends_at, ended_at)
    async with Database.from_settings(settings, max_size=1) as db, db.account(account_id) as conn:
        member = f"urn:li:person:{uuid.uuid4().hex[:8]}"
        access_ends = (now + timedelta(days=60)).timestamp()
        connections = []
        for n, refresh_ends in enumerate((ends_at, now + timedelta(days=200), ended_at)):
            tokens = TokenPair(
                SecretStr("a"), access_ends, SecretStr("r"), refresh_ends.timestamp()
            )
            connections.append(
                await save_connection(conn, cipher, tokens, f"{member}-{n}", None, account_id)
            )
        # As the puller marks a connection whose tokens LinkedIn refused.
        await mark_connection(conn, connections[1], "revoked", reconnect_reason("revoked"))
        for form_id, name, connection in zip(
            (forms.ending, forms.revoked, forms.ended),
            ("Webinar di marzo", "Demo prodotto", "Fiera di Milano"),
            connections,
            strict=True,
        ):
            form = LeadForm.model_validate({"id": form_id, "name": name, "state": "PUBLISHED"})
            await save_form(conn, form, AD_ACCOUNT, connection, "SPONSORED", auto_mappings)
            await set_import(conn, form_id, True)
        cur = await conn.execute(
            "SELECT refresh_expires_at FROM linkedin_connections WHERE id = ANY(%s) ORDER BY id",
            ([connections[0], connections[2]],),
        )
        [(stored_ends,), (stored_ended,)] = await cur.fetchall()
    # The times as stored (the column's precision), which the reasons name.
    return dataclasses.replace(forms, ends_at=stored_ends, ended_at=stored_ended)


@pytest.fixture(scope="module")
async def italian_account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "formsitalian")


@pytest.fixture(scope="module")
async def italian_forms(settings: Settings, italian_account: AccountWithToken) -> ItalianForms:
    return await _record_italian_forms(settings, italian_account.id)


@pytest.fixture(scope="module")
async def italian(
    settings: Settings, app: FastAPI, italian_account: AccountWithToken, italian_forms: ItalianForms
) -> AsyncIterator[SignedInClient]:
    """A browser set to Italian (no language chosen in the console)."""
    user = await new_console_user(settings, italian_account.id, "member")
    async with console_client(settings, user.email, user.password, app=app) as signed_in:
        signed_in.http.headers["Accept-Language"] = "it-IT,it;q=0.9,en;q=0.8"
        yield signed_in


def _italian_reasons(forms: ItalianForms) -> dict[int, str]:
    reconnect = "Riconnetti LinkedIn per riprendere la sincronizzazione periodica."
    return {
        forms.ending: (
            f"Il token di rinnovo della connessione LinkedIn scade il {moment(forms.ends_at)}"
            " (tra 5 giorni e 3 ore; l'avviso a 7 giorni): riconnetti LinkedIn prima di allora."
        ),
        forms.revoked: (
            "La connessione LinkedIn di questo modulo è stata revocata (la connessione LinkedIn"
            " è stata revocata: il membro deve riconnettersi (`leadsync linkedin connect`))."
            f" {reconnect}"
        ),
        forms.ended: (
            "Il token di rinnovo della connessione LinkedIn è scaduto il"
            f" {moment(forms.ended_at)}: non è più possibile leggere né recuperare alcun lead."
            f" {reconnect}"
        ),
    }


async def test_an_italian_browser_reads_the_yellow_and_red_reasons_in_italian_with_their_dates(
    settings: Settings,
    italian: SignedInClient,
    italian_account: AccountWithToken,
    italian_forms: ItalianForms,
) -> None:
    page = (await italian.http.get("/console/forms")).text
    assert "<h1>Moduli</h1>" in page
    colours = {
        italian_forms.ending: ("yellow", "Richiede attenzione"),
        italian_forms.revoked: ("red", "Connessione interrotta"),
        italian_forms.ended: ("red", "Connessione interrotta"),
    }
    for form_id, reason in _italian_reasons(italian_forms).items():
        row = _row(page, form_id)
        colour, label = colours[form_id]
        assert (
            f'<span class="status status-{colour}" role="img" aria-label="{escape(reason)}"'
            f' title="{escape(reason)}"></span> {label}'
        ) in row, row
        assert "Pubblicato" in _text(row)
    # The API keeps its English reasons, dates and durations alike.
    async with admin_client(settings, italian_account.token) as api:
        listed = (await api.get("/api/forms")).json()["forms"]
    by_id = {f["id"]: f["status"]["reason"] for f in listed}
    assert by_id[italian_forms.ending] == (
        f"The LinkedIn connection's refresh token expires on {moment(italian_forms.ends_at)}"
        " (in 5 days 3 hours; the 7-day warning): reconnect LinkedIn before then."
    )
    assert by_id[italian_forms.ended].startswith(
        f"The LinkedIn connection's refresh token expired on {moment(italian_forms.ended_at)}:"
    )
    assert by_id[italian_forms.revoked] == (
        f"The LinkedIn connection behind this form is revoked ({reconnect_reason('revoked')})."
        " Reconnect LinkedIn to resume the periodic sync."
    )


@pytest.mark.parametrize("which", ["ending", "revoked", "ended"])
async def test_the_sync_page_says_the_reason_and_the_state_in_italian(
    italian: SignedInClient, italian_forms: ItalianForms, which: str
) -> None:
    form_id: int = getattr(italian_forms, which)
    response = await italian.http.get(f"/console/forms/{form_id}")
    assert response.status_code == 200, response.text
    page = response.text
    header = _text(page.split('<p class="muted">', 1)[1].split("</p>", 1)[0])
    assert header.endswith(f"Modulo LinkedIn {form_id} · Pubblicato"), header
    assert "PUBLISHED" not in page
    status = page.split('id="sync-status"', 1)[1].split("</section>", 1)[0]
    reason = _italian_reasons(italian_forms)[form_id]
    assert f'title="{escape(reason)}"' in status
    assert f"<p>{escape(reason)}</p>" in status
    assert 'lang="en"' not in status


async def test_the_error_log_shows_the_lines_and_filters_them_by_kind(
    console: SignedInClient, forms: Forms
) -> None:
    response = await console.http.get(f"/console/forms/{forms.green}/errors")
    assert response.status_code == 200, response.text
    page = response.text
    assert "<h1>Alpha webinar</h1>" in page
    assert f'<a href="/console/forms/{forms.green}/errors" aria-current="page">Errors</a>' in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    lines = [_text(r.split("</tr>")[0]) for r in rows]
    assert len(lines) == 3
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC urn:li:leadFormResponse:lead-", line)
    kinds = sorted(line.split()[4] for line in lines)
    assert kinds == ["Configuration", "Configuration", "Connection"]
    assert any("=invalid_value of lead-2 (field email) invalid_value" in line
               for line in lines), lines  # fmt: skip
    assert "Total errors (configuration) 2 Connection 1 LinkedIn 0" in _text(page)

    only = (await console.http.get(f"/console/forms/{forms.green}/errors?kind=connection")).text
    tbody = only.split("<tbody>")[1].split("</tbody>")[0]
    assert tbody.count("<tr>") == 1
    assert "connection_revoked" in tbody
    assert f'href="/console/forms/{forms.green}/errors?kind=connection"' in only
    assert 'aria-current="page">Connection</a>' in only
    assert f'href="/console/forms/{forms.green}/errors.csv?kind=connection" download' in only

    none = (await console.http.get(f"/console/forms/{forms.green}/errors?kind=internal")).text
    assert "No error of this kind in the log." in none
    clean = (await console.http.get(f"/console/forms/{forms.grey}/errors")).text
    assert "No error in the log" in clean


async def test_the_csv_download_is_the_api_s_csv(
    console: SignedInClient, api: httpx.AsyncClient, forms: Forms
) -> None:
    for query in ("", "?kind=configuration"):
        mine = await console.http.get(f"/console/forms/{forms.green}/errors.csv{query}")
        theirs = await api.get(f"/api/forms/{forms.green}/errors.csv{query}")
        assert mine.status_code == theirs.status_code == 200
        assert mine.headers["content-type"] == "text/csv; charset=utf-8"
        assert mine.headers["content-disposition"].startswith(
            f'attachment; filename="leadsync-errors-form-{forms.green}'
        )
        assert mine.content == theirs.content
    lines = mine.text.splitlines()
    assert lines[0].startswith("time,form id,form name,lead id,stage,kind,code,message")
    assert len(lines) == 3  # the header and the two configuration errors
    assert all(",'=" in line for line in lines[1:])  # formulas defused


async def test_another_account_s_form_is_the_404_page(
    settings: Settings, app: FastAPI, forms: Forms
) -> None:
    other = await new_account(settings, "otherco")
    user = await new_console_user(settings, other.id)
    async with console_client(settings, user.email, user.password, app=app) as console:
        theirs = f"/console/forms/{forms.green}"
        # Another account's form, one that does not exist, and an id that cannot be one.
        for path in (
            f"{theirs}/errors",
            f"{theirs}/errors.csv",
            "/console/forms/1/errors",
            "/console/forms/abc/errors",
            "/console/forms/abc",
        ):
            response = await console.http.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/html")
            assert "Page not found" in response.text
            assert "Alpha webinar" not in response.text
        page = (await console.http.get("/console/forms")).text
    assert "Alpha webinar" not in page
