"""The contacts and audiences pages over HTTP on the real database, as a signed-in user of an
account sees them: the filters on the LinkedIn fields (and the seed's example two links
away), the htmx results part, paging, a contact's fields with where each value came from,
saving a filter as an audience (CSRF, a taken name), an audience's live count, members, CSV,
rename and delete; another account's contact or audience answering 404; Italian."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from admin.console import audiences_pages, contacts_pages, csrf, routes
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.linkedin import Lead
from sinks.forms import register_from_leads
from tests.integration.admin_client import hold_for_session, new_account
from tests.integration.console_client import (
    SignedInClient,
    console_app,
    console_client,
    new_console_user,
)
from tests.integration.produce import lead_for

Conn = AsyncConnection[tuple[Any, ...]]
AD_ACCOUNT, OTHER_AD_ACCOUNT = "urn:li:sponsoredAccount:1234567", "urn:li:sponsoredAccount:765"
CAMPAIGN, OTHER_CAMPAIGN = "urn:li:sponsoredCampaign:198356826", "urn:li:sponsoredCampaign:42"
# What htmx sends for the contacts' results, and for the audiences list's rows it polls.
HTMX_RESULTS = {"HX-Request": "true", "HX-Target": "results"}
HTMX_ROWS = {"HX-Request": "true", "HX-Target": "audience-rows"}
_HREF = re.compile(r'<a class="chip[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>')


@dataclass
class Side:
    """An account as a test uses it: its signed-in console client, a connection inserting
    its rows (the account in hand), and its id."""

    console: SignedInClient
    db: Conn
    account_id: int
    token: str  # the account's API token

    @property
    def http(self) -> httpx.AsyncClient:
        return self.console.http


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with console_app(settings) as made:
        for router in (contacts_pages.router, audiences_pages.router):
            if router not in routes.ROUTERS:  # until the lead registers them
                made.include_router(router)
        yield made


async def _side(settings: Settings, app: FastAPI, prefix: str) -> AsyncIterator[Side]:
    account = await new_account(settings, prefix)
    user = await new_console_user(settings, account.id, "member")
    async with (
        console_client(settings, user.email, user.password, app=app) as console,
        await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as db,
    ):
        await hold_for_session(db, account.id)
        yield Side(console, db, account.id, account.token)


def _api(app: FastAPI, token: str) -> httpx.AsyncClient:
    """The JSON API as a client holding the account's ``token``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://admin.test",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def mine(settings: Settings, app: FastAPI) -> AsyncIterator[Side]:
    async for side in _side(settings, app, "contacts"):
        yield side


@pytest.fixture
async def theirs(settings: Settings, app: FastAPI) -> AsyncIterator[Side]:
    async for side in _side(settings, app, "others"):
        yield side


async def _form(db: Conn, name: str) -> int:
    """A form discovered from the example lead (with its consent 0), named ``name``, that
    imported a lead a moment ago (so it is among the quick filters)."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [lead], auto_mappings)
    await db.execute(
        "UPDATE forms SET name = %s, owner_name = 'Acme Ads', import_enabled = true,"
        " import_enabled_at = now() WHERE id = %s AND account_id = leadsync_account()",
        (name, form_id),
    )
    await db.execute(
        "INSERT INTO form_counters (form_id, last_imported_at) VALUES (%s, now())"
        " ON CONFLICT (account_id, form_id) DO UPDATE SET last_imported_at = now()",
        (form_id,),
    )
    return form_id


async def _contact(
    db: Conn,
    email: str,
    form_id: int | None = None,
    form_name: str = "",
    *,
    test_lead: bool = False,
    owner: str = AD_ACCOUNT,
    campaign: str = CAMPAIGN,
    consent: bool | None = None,
    import_date: datetime | None = None,
    first_name: str | None = None,
    field_sources: dict[str, Any] | None = None,
) -> str:
    """A contact, with a submission of ``form_id`` when given."""
    cur = await db.execute(
        "INSERT INTO contacts (email, first_name, company, linkedin_imported,"
        " linkedin_import_date, sources, field_sources)"
        " VALUES (%s, %s, 'Acme', true, %s, '{linkedin}', %s) RETURNING id",
        (email, first_name, import_date or datetime.now(UTC), Jsonb(field_sources or {})),
    )
    row = await cur.fetchone()
    assert row is not None
    contact = str(row[0])
    if form_id is not None:
        consents = [] if consent is None else [{"consentId": 0, "accepted": consent}]
        await db.execute(
            "INSERT INTO form_submissions (contact_id, form_id, lead_id, form_name,"
            " form_version, owner_urn, campaign_urn, campaign_name, lead_type, test_lead,"
            " submitted_at, consents, raw_lead)"
            " VALUES (%s, %s, %s, %s, 1, %s, %s, %s, 'SPONSORED', %s, now(), %s, %s)",
            (
                row[0],
                form_id,
                f"lead-{uuid.uuid4().hex[:8]}",
                form_name,
                owner,
                campaign,
                f"Campaign {campaign.rsplit(':', 1)[-1]}",
                test_lead,
                Jsonb(consents),
                Jsonb({}),
            ),
        )
    return contact


async def _page(
    side: Side, path: str, status: int = 200, headers: dict[str, str] | None = None
) -> str:
    response = await side.http.get(path, headers=headers)
    assert response.status_code == status, response.text
    return response.text


def _emails(page: str) -> set[str]:
    """The contacts a page lists (their links)."""
    return set(re.findall(r'<a href="/console/contacts/[0-9a-f-]{36}">([^<]+)</a>', page))


def _chip(page: str, label: str) -> str:
    """The href of the quick filter ``label``, as a browser would follow it."""
    for href, text in _HREF.findall(page):
        if text.strip() == label:
            return html.unescape(href)
    raise AssertionError(f"no quick filter {label!r} in the page")


# -- the contacts page ---------------------------------------------------------------------


async def test_the_seed_example_is_two_links_from_the_contacts_page(mine: Side) -> None:
    test_form = await _form(mine.db, "Test Form")
    other = await _form(mine.db, "Webinar")
    await _contact(mine.db, "test@example.com", test_form, "Test Form", test_lead=True)
    await _contact(mine.db, "real@example.com", test_form, "Test Form")
    await _contact(mine.db, "other-test@example.com", other, "Webinar", test_lead=True)

    start = await _page(mine, "/console/contacts")
    assert _emails(start) == {"test@example.com", "real@example.com", "other-test@example.com"}
    assert "3 contacts" in start

    first = await _page(mine, _chip(start, "Test Form"))  # click 1
    assert _emails(first) == {"test@example.com", "real@example.com"}
    second_url = _chip(first, "Test leads")
    second = await _page(mine, second_url)  # click 2
    assert _emails(second) == {"test@example.com"}
    assert "Contacts who filled “Test Form”, as a test lead" in html.unescape(second)
    assert "1 contact" in second
    # The chips toggle: the pressed ones say so, and a click on one takes its filter off.
    assert 'aria-current="true">Test Form</a>' in second
    assert _emails(await _page(mine, _chip(second, "Test leads"))) == _emails(first)
    assert second_url == f"/console/contacts?form_id={test_form}&test_lead=true"


async def test_every_linkedin_field_filters_the_contacts(mine: Side) -> None:
    form = await _form(mine.db, "Filters")
    await _contact(mine.db, "plain@example.com", form, "Filters", consent=False)
    await _contact(
        mine.db,
        "elsewhere@example.com",
        form,
        "Filters",
        owner=OTHER_AD_ACCOUNT,
        campaign=OTHER_CAMPAIGN,
        consent=True,
        import_date=datetime(2026, 1, 15, tzinfo=UTC),
    )
    await mine.db.execute(
        "INSERT INTO contacts (email, linkedin_imported) VALUES ('no@x.it', false)"
    )

    async def emails(query: str) -> set[str]:
        return _emails(await _page(mine, f"/console/contacts?{query}"))

    both = {"plain@example.com", "elsewhere@example.com"}
    assert await emails(f"form_id={form}") == both
    assert await emails(f"form_id={form}&ad_account={OTHER_AD_ACCOUNT}") == {
        "elsewhere@example.com"
    }
    assert await emails(f"campaign={CAMPAIGN}") == {"plain@example.com"}
    assert await emails("consent_given=true") == {"elsewhere@example.com"}
    assert await emails(f"form_id={form}&consent_given=true&consent_id=0") == {
        "elsewhere@example.com"
    }
    assert await emails(f"form_id={form}&consent_given=false") == {"plain@example.com"}
    # Picking one consent alone means "who gave it".
    assert await emails(f"form_id={form}&consent_id=0") == {"elsewhere@example.com"}
    assert await emails("imported_from=2026-01-01&imported_to=2026-02-01") == {
        "elsewhere@example.com"
    }
    assert await emails("imported=false") == {"no@x.it"}
    # The form's empty fields are no filter; the choices name what is chosen.
    page = await _page(mine, f"/console/contacts?form_id={form}&test_lead=&imported=&campaign=")
    assert _emails(page) == both
    assert f'<option value="{form}" selected>Filters</option>' in page
    assert "Campaign 42" in page
    assert "Acme Ads" in page
    assert "Acconsento a ricevere email" in page  # the form's consent, to pick


async def test_a_filter_that_cannot_be_is_left_out_and_said(mine: Side) -> None:
    form = await _form(mine.db, "Kept")
    await _contact(mine.db, "kept@example.com", form, "Kept")
    page = await _page(
        mine,
        f"/console/contacts?form_id={form}&test_lead=maybe"
        "&imported_from=2026-02-01&imported_to=2026-01-01",
    )
    assert _emails(page) == {"kept@example.com"}  # the form filter stays
    assert "left out: Test lead, Imported before" in page


async def test_a_nul_character_in_a_filter_is_left_out_and_said(mine: Side) -> None:
    form = await _form(mine.db, "Nul")
    await _contact(mine.db, "nul@example.com", form, "Nul")
    await _contact(mine.db, "elsewhere@example.com")
    page = await _page(
        mine, f"/console/contacts?form_id={form}&ad_account=%00&campaign=12%0034&test_lead=%00"
    )
    assert _emails(page) == {"nul@example.com"}  # the form filter stays
    assert "left out: Ad account, Campaign, Test lead." in page
    alone = await _page(mine, "/console/contacts?form_name=Nul%00")
    assert _emails(alone) >= {"nul@example.com", "elsewhere@example.com"}
    assert "left out: Form filled." in alone


async def test_the_api_refuses_a_nul_character_in_a_filter_with_422(
    app: FastAPI, mine: Side
) -> None:
    async with _api(app, mine.token) as api:
        for name, value in (("form_name", "\x00"), ("campaign", "1\x002"), ("imported", "\x00")):
            answer = await api.get("/api/contacts", params={name: value})
            assert answer.status_code == 422, (name, answer.text)
            body = answer.json()
            assert body["error"] == "invalid_request"
            assert [d["location"] for d in body["details"]] == [f"query.{name}"]
            assert "NUL" in body["message"]


async def test_htmx_gets_the_results_and_the_chips_only(mine: Side) -> None:
    form = await _form(mine.db, "Live")
    await _contact(mine.db, "live@example.com", form, "Live", test_lead=True)
    part = await _page(
        mine,
        f"/console/contacts?form_id={form}&test_lead=true",
        headers=HTMX_RESULTS,
    )
    assert "<html" not in part
    assert 'id="results"' in part
    assert 'id="quick-filters" aria-label="Quick filters" hx-swap-oob="true"' in part
    assert 'id="consent-filters" hx-swap-oob="true"' in part
    assert _emails(part) == {"live@example.com"}


async def test_htmx_keeps_no_copy_of_the_pages_for_the_back_button(mine: Side) -> None:
    # The filter pushes each result's URL into the history; with a history cache htmx would
    # keep each page (a contact's details) in sessionStorage, where it outlives sign-out.
    page = await _page(mine, "/console/contacts")
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert meta, "no htmx-config"
    assert json.loads(meta[1])["historyCacheSize"] == 0
    assert "hx-push-url" in page


async def test_contacts_come_in_pages_of_fifty_without_repeats(mine: Side) -> None:
    form = await _form(mine.db, "Many")
    made = {f"many-{n}@example.com" for n in range(contacts_pages.PAGE_SIZE + 3)}
    for email in sorted(made):
        await _contact(mine.db, email, form, "Many")
    first = await _page(mine, f"/console/contacts?form_id={form}")
    assert len(_emails(first)) == contacts_pages.PAGE_SIZE
    assert f"{len(made)} contacts" in first
    next_url = html.unescape(re.findall(r'href="([^"]+)" rel="next"', first)[0])
    second = await _page(mine, next_url)
    assert _emails(first) | _emails(second) == made
    assert not _emails(first) & _emails(second)
    assert 'rel="next"' not in second
    assert "First page" in second
    # A cursor the console did not make starts again from the first page.
    assert _emails(await _page(mine, f"/console/contacts?form_id={form}&cursor=junk")) == (
        _emails(first)
    )


async def test_a_contact_page_shows_where_each_value_came_from(mine: Side) -> None:
    form = await _form(mine.db, "Sources")
    written = {
        "form_id": form,
        "lead_id": "lead-src",
        "mapping_version": 3,
        "mapping_source": "predefined:FIRST_NAME",
        "at": "2026-11-01T10:00:00+00:00",
    }
    contact = await _contact(
        mine.db,
        "sources@example.com",
        form,
        "Sources",
        test_lead=True,
        first_name="Giulia",
        field_sources={
            "first_name": {**written, "value": "Giulia"},
            "company": {**written, "mapping_source": "predefined:COMPANY_NAME", "value": "Old"},
        },
    )
    page = html.unescape(await _page(mine, f"/console/contacts/{contact}"))
    rows = {
        label: cells
        for label, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page, re.S)
    }
    assert "Giulia" in rows["First name"]
    assert "Form “Sources”, lead lead-src, mapping version 3" in rows["First name"]
    assert "2026-11-01 10:00 UTC" in rows["First name"]
    assert "predefined:FIRST_NAME" in rows["First name"]
    # Company holds "Acme", not what leadsync wrote ("Old"): someone else changed it.
    assert "Other" in rows["Company"]
    assert "Changed since leadsync wrote “Old”" in rows["Company"]
    # Its submission, with the test-lead mark.
    submissions = page.split('id="submissions-heading"', 1)[1]
    assert f'href="/console/forms/{form}">Sources</a>' in submissions
    assert "Test lead" in submissions
    assert "Campaign 198356826" in submissions


async def test_another_accounts_contacts_are_nowhere(mine: Side, theirs: Side) -> None:
    form = await _form(theirs.db, "Theirs")
    contact = await _contact(theirs.db, "secret@example.com", form, "Theirs", test_lead=True)
    for query in ("", f"?form_id={form}", "?test_lead=true"):
        page = await _page(mine, f"/console/contacts{query}")
        assert "secret@example.com" not in page
    assert "Theirs" not in await _page(mine, "/console/contacts")  # not even its form
    not_found = await _page(mine, f"/console/contacts/{contact}", 404)
    assert "Page not found" in not_found
    assert "secret@example.com" not in not_found
    assert "Page not found" in await _page(mine, "/console/contacts/not-a-contact", 404)
    assert "secret@example.com" in await _page(theirs, f"/console/contacts/{contact}")


# -- audiences -----------------------------------------------------------------------------


async def _save(side: Side, name: str, **where: Any) -> httpx.Response:
    return await side.http.post("/console/audiences", data=side.console.form(name=name, **where))


async def _saved(side: Side, name: str, **where: Any) -> str:
    """A new audience's id, saved as the contacts page's form does."""
    response = await _save(side, name, **where)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/console/audiences/[0-9a-f-]{36}", location), location
    return location.rsplit("/", 1)[1]


async def test_saving_a_filter_needs_the_csrf_token_and_a_free_name(mine: Side) -> None:
    form = await _form(mine.db, "Saved")
    page = await _page(mine, f"/console/contacts?form_id={form}&test_lead=true")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    # The page's copy of the session's token, masked (admin.console.csrf).
    assert csrf.matches(fields.pop("csrf_token"), mine.console.csrf_token)
    assert fields == {"form_id": str(form), "test_lead": "true"}

    refused = await mine.http.post(
        "/console/audiences", data={"name": "No token", "form_id": str(form)}
    )
    assert refused.status_code == 403
    audience = await _saved(mine, "Test leads", form_id=str(form), test_lead="true")
    taken = await _save(mine, "TEST LEADS", form_id=str(form))
    assert taken.status_code == 409
    assert "An audience named “TEST LEADS” exists already" in html.unescape(taken.text)
    assert 'value="TEST LEADS"' in taken.text  # the name typed is kept to change it
    blank = await _save(mine, "  ", form_id=str(form))
    assert blank.status_code == 422
    assert "Give the audience a name" in blank.text

    listing = html.unescape(await _page(mine, "/console/audiences"))
    assert listing.count('href="/console/audiences/') == 1
    assert f'href="/console/audiences/{audience}">Test leads</a>' in listing
    assert "Contacts who filled “Saved”, as a test lead" in listing
    assert "No token" not in listing


async def test_a_nul_character_in_an_audience_name_is_refused_with_a_message(
    app: FastAPI, mine: Side
) -> None:
    form = await _form(mine.db, "Named")
    refused = await _save(mine, "Bad\x00name", form_id=str(form))
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "A name cannot contain the NUL character (\\0): it was taken out" in text
    assert 'value="Badname"' in refused.text  # offered again without it
    assert "Bad" not in html.unescape(await _page(mine, "/console/audiences"))
    audience = await _saved(mine, "Good name", form_id=str(form))
    renamed = await mine.http.post(
        f"/console/audiences/{audience}/rename", data=mine.console.form(name="\x00")
    )
    assert renamed.status_code == 422
    assert "A name cannot contain the NUL character" in html.unescape(renamed.text)
    assert "<h1>Good name</h1>" in renamed.text  # not renamed

    async with _api(app, mine.token) as api:
        answer = await api.post("/api/audiences", json={"name": "a\x00b", "filter": {}})
        assert answer.status_code == 422, answer.text
        assert answer.json()["details"][0]["location"] == "body.name"
        assert "NUL" in answer.json()["message"]
        names = [a["name"] for a in (await api.get("/api/audiences")).json()["audiences"]]
    assert names == ["Good name"]


async def test_the_audience_list_counts_every_audience(app: FastAPI, mine: Side) -> None:
    spring, autumn = await _form(mine.db, "Spring"), await _form(mine.db, "Autumn")
    await _contact(mine.db, "a@example.com", spring, "Spring", test_lead=True, consent=True)
    await _contact(mine.db, "b@example.com", spring, "Spring", consent=False)
    await _contact(mine.db, "c@example.com", autumn, "Autumn", campaign=OTHER_CAMPAIGN)
    await _contact(
        mine.db, "d@example.com", import_date=datetime(2026, 1, 15, tzinfo=UTC)
    )  # no submission
    expected = {
        "Everyone": ({}, 4),
        "Spring tests": ({"form_id": str(spring), "test_lead": "true"}, 1),
        "Spring by name": ({"form_name": "spring"}, 2),
        "Consenting": ({"form_id": str(spring), "consent_id": "0"}, 1),
        "Other campaign": ({"campaign": OTHER_CAMPAIGN}, 1),
        "January": ({"imported_from": "2026-01-01", "imported_to": "2026-02-01"}, 1),
        "Nobody": ({"form_id": str(autumn), "test_lead": "true"}, 0),
    }
    for name, (where, _count) in expected.items():
        await _saved(mine, name, **where)

    rows = await _page(mine, "/console/audiences", headers=HTMX_ROWS)
    shown = dict(
        re.findall(
            r'<a href="/console/audiences/[0-9a-f-]{36}">([^<]+)</a></td>\s*'
            r'<td class="numeric">(\d+)</td>',
            rows,
        )
    )
    assert shown == {name: str(count) for name, (_where, count) in expected.items()}
    # The API lists the same counts, by name.
    async with _api(app, mine.token) as api:
        listed = (await api.get("/api/audiences")).json()["audiences"]
    assert [(a["name"], a["count"]) for a in listed] == sorted(
        ((name, count) for name, (_where, count) in expected.items()),
        key=lambda pair: pair[0].lower(),
    )


async def test_an_audience_counts_its_members_live(mine: Side) -> None:
    form = await _form(mine.db, "Growing")
    await _contact(mine.db, "first@example.com", form, "Growing", test_lead=True)
    await _contact(mine.db, "real@example.com", form, "Growing")
    audience = await _saved(mine, "Growing tests", form_id=str(form), test_lead="true")

    page = html.unescape(await _page(mine, f"/console/audiences/{audience}"))
    assert _emails(page) == {"first@example.com"}
    assert f'hx-get="/console/audiences/{audience}/count" hx-trigger="every 3s"' in page
    assert "Contacts who filled “Growing”, as a test lead" in page
    assert (await _page(mine, f"/console/audiences/{audience}/count")).strip() == "1 contact"
    rows = await _page(mine, "/console/audiences", headers=HTMX_ROWS)
    assert rows.lstrip().startswith('<tbody id="audience-rows"')
    assert ">1</td>" in rows

    # A matching contact arrives: the count the page polls grows, as do the list's.
    await _contact(mine.db, "second@example.com", form, "Growing", test_lead=True)
    assert (await _page(mine, f"/console/audiences/{audience}/count")).strip() == "2 contacts"
    rows = await _page(mine, "/console/audiences", headers=HTMX_ROWS)
    assert ">2</td>" in rows


async def test_an_audience_exports_its_members_as_csv(mine: Side) -> None:
    form = await _form(mine.db, "Export")
    await _contact(mine.db, "csv@example.com", form, "Export", test_lead=True, first_name="Ada")
    await _contact(mine.db, "not-csv@example.com", form, "Export")
    audience = await _saved(mine, "Export", form_id=str(form), test_lead="true")
    page = await _page(mine, f"/console/audiences/{audience}")
    assert f'href="/console/audiences/{audience}.csv"' in page

    export = await mine.http.get(f"/console/audiences/{audience}.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["email"], r["first_name"], r["linkedin_forms_filled"]) for r in rows] == [
        ("csv@example.com", "Ada", "Export")
    ]


async def test_an_audience_is_renamed_and_deleted(mine: Side) -> None:
    form = await _form(mine.db, "Changing")
    audience = await _saved(mine, "Before", form_id=str(form))
    await _saved(mine, "Taken", form_id=str(form))
    renamed = await mine.http.post(
        f"/console/audiences/{audience}/rename", data=mine.console.form(name="After")
    )
    assert renamed.status_code == 303
    assert "<h1>After</h1>" in await _page(mine, f"/console/audiences/{audience}")
    taken = await mine.http.post(
        f"/console/audiences/{audience}/rename", data=mine.console.form(name="taken")
    )
    assert taken.status_code == 409
    assert "<h1>After</h1>" in taken.text  # not renamed
    # The rename dialog opens again with the name typed and why it was refused.
    assert 'aria-labelledby="rename-heading" data-open-on-load' in taken.text
    assert 'value="taken"' in taken.text
    assert "An audience named “taken” exists already" in html.unescape(taken.text)

    page = await _page(mine, f"/console/audiences/{audience}")
    assert f'action="/console/audiences/{audience}/delete"' in page  # in the confirm dialog
    no_token = await mine.http.post(f"/console/audiences/{audience}/delete")
    assert no_token.status_code == 403
    deleted = await mine.http.post(
        f"/console/audiences/{audience}/delete", data=mine.console.form()
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/console/audiences?deleted=1"
    assert "The audience was deleted" in await _page(mine, deleted.headers["location"])
    await _page(mine, f"/console/audiences/{audience}", 404)
    stopped = await mine.http.get(f"/console/audiences/{audience}/count")
    assert stopped.status_code == 286  # htmx stops polling


async def test_another_accounts_audience_is_not_found(mine: Side, theirs: Side) -> None:
    form = await _form(theirs.db, "Private")
    await _contact(theirs.db, "private@example.com", form, "Private")
    audience = await _saved(theirs, "Private audience", form_id=str(form))

    assert "Private audience" not in await _page(mine, "/console/audiences")
    for path in ("", ".csv"):
        response = await mine.http.get(f"/console/audiences/{audience}{path}")
        assert response.status_code == 404, path
        assert "Page not found" in response.text
        assert "private@example.com" not in response.text
    # The live count answers as for a deleted audience: htmx stops polling, nothing shown.
    count = await mine.http.get(f"/console/audiences/{audience}/count")
    assert (count.status_code, count.text) == (286, "Deleted")
    for action, data in (("rename", {"name": "Mine now"}), ("delete", {})):
        response = await mine.http.post(
            f"/console/audiences/{audience}/{action}", data=mine.console.form(**data)
        )
        assert response.status_code == 404, action
    # Untouched for its own account.
    page = await _page(theirs, f"/console/audiences/{audience}")
    assert "<h1>Private audience</h1>" in page
    assert "private@example.com" in page


async def test_the_pages_speak_italian(mine: Side) -> None:
    form = await _form(mine.db, "Modulo")
    await _contact(mine.db, "it@example.com", form, "Modulo", test_lead=True)
    audience = await _saved(mine, "Prove", form_id=str(form), test_lead="true")
    contacts = html.unescape(
        await _page(mine, f"/console/contacts?form_id={form}&test_lead=true&lang=it")
    )
    assert "Contatti che hanno compilato “Modulo”, come compilazione di prova" in contacts
    assert "Salva come audience" in contacts
    detail = await _page(mine, f"/console/audiences/{audience}?lang=it")
    assert "Esporta CSV" in detail
    assert "1 contatto" in detail
