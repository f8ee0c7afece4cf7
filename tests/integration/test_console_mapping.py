"""The field mapping page over HTTP, on the real database and broker, as a signed-in user of
an account sees it: every question, consent and hidden field of the form version with
recent answers; saving (rows in ``field_mappings``, a new mapping version, new contact
fields); the API's message when the identity is not mapped, and nothing saved; a preview
that writes nothing; CSRF; another account's form answering 404."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from psycopg import AsyncConnection

from harness.processes import Worker
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.linkedin import Lead
from sinks.forms import register_from_leads, set_import
from tests.integration.admin_client import (
    AccountWithToken,
    admin_client,
    hold_for_session,
    new_account,
)
from tests.integration.console_client import console_client, new_console_user
from tests.integration.produce import envelope, lead_for, publish_raw

Conn = AsyncConnection[tuple[Any, ...]]

# The example form (tests/data/lead_example.json): its questions, consent and hidden field.
EMAIL_Q, COLOUR_Q, NAME_Q = "307234246", "707234246", "107234246"
IDENTITY_MESSAGE = "nothing is mapped to the identity field &#39;email&#39;"


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "mapping")


@pytest.fixture(scope="module")
async def client(settings: Settings, account: AccountWithToken) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in, through the sign-in form, as an admin of ``account``."""
    user = await new_console_user(settings, account.id)
    async with console_client(settings, user.email, user.password) as console:
        yield console.http


@pytest.fixture
async def db(db: Conn, account: AccountWithToken) -> Conn:
    await hold_for_session(db, account.id)
    return db


async def _form_with_leads(db: Conn, worker: Worker, settings: Settings, account: int) -> int:
    """A form as discovery leaves it (predefined questions mapped), Import on, and two leads
    imported through the pipeline: Ann (colour "Blu") then Bob."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    seed = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [seed], auto_mappings)
    await set_import(db, form_id, True)
    leads = [
        lead_for(f"ann-{form_id}", f"ann-{form_id}@example.com", form_id=form_id,
                 first_name="Ann", submitted_at=1_700_000_000_000),
        lead_for(f"bob-{form_id}", f"bob-{form_id}@example.com", form_id=form_id,
                 first_name="Bob", submitted_at=1_700_000_100_000),
    ]  # fmt: skip
    publish_raw(settings, *[envelope(lead, account_id=account) for lead in leads])
    worker.settle()
    return form_id


async def _mappings(db: Conn, form_id: int) -> set[tuple[str, str, str]]:
    cur = await db.execute(
        "SELECT source_kind, source_key, field_key FROM field_mappings"
        " WHERE account_id = leadsync_account() AND form_id = %s",
        (form_id,),
    )
    return {(kind, key, field) for kind, key, field in await cur.fetchall()}


async def _mapping_version(db: Conn, form_id: int) -> int:
    cur = await db.execute(
        "SELECT mapping_version FROM forms WHERE account_id = leadsync_account() AND id = %s",
        (form_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _rows(page: str) -> dict[str, int]:
    """The row index of each source on the page (``source_N`` hidden inputs)."""
    return {
        token: int(index)
        for index, token in re.findall(r'name="source_(\d+)" value="([^"]+)"', page)
    }


def _posted(page: str, choices: dict[str, str]) -> dict[str, str]:
    """The page's form as a browser posts it, with ``choices`` (source token -> field key)
    changed and the other rows as the page shows them selected."""
    data = {"csrf_token": _csrf(page)}
    for index, token in re.findall(r'name="source_(\d+)" value="([^"]+)"', page):
        data[f"source_{index}"] = token
        select = re.search(rf'<select id="field_{index}".*?</select>', page, flags=re.DOTALL)
        assert select
        selected = re.search(r'<option value="([^"]*)" selected>', select.group(0))
        data[f"field_{index}"] = choices.get(token, selected.group(1) if selected else "")
        data[f"new_name_{index}"] = ""
        data[f"new_type_{index}"] = "text"
    return data


async def test_the_page_shows_each_source_of_the_version_with_recent_answers(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    response = await client.get(f"/console/forms/{form_id}/mapping")
    assert response.status_code == 200, response.text
    page = response.text
    # Questions (predefined and custom, with the choice's options), consent, hidden field.
    for text in (
        "Indirizzo email",
        "Colore preferito",
        "Nome",
        "Options: Rosso, Blu",
        "Acconsento a ricevere email",
        "utm_source",
        "Predefined",
        "Multiple choice",
    ):
        assert text in page, text  # fmt: skip
    assert set(_rows(page)) == {
        "predefined:EMAIL", f"question:{COLOUR_Q}", "predefined:FIRST_NAME", "consent:0",
        "hidden:utm_source",
    }  # fmt: skip
    # Predefined questions come mapped; the others not.
    posted = _posted(page, {})
    by_token = {posted[f"source_{i}"]: posted[f"field_{i}"] for i in _rows(page).values()}
    assert by_token == {
        "predefined:EMAIL": "email", "predefined:FIRST_NAME": "first_name",
        f"question:{COLOUR_Q}": "", "consent:0": "", "hidden:utm_source": "",
    }  # fmt: skip
    # Recent answers beside each: the last leads' values, newest first.
    colour_row = page.split(f'data-source="question:{COLOUR_Q}"')[1].split("</tr>")[0]
    assert "Blu" in colour_row
    name_row = page.split('data-source="predefined:FIRST_NAME"')[1].split("</tr>")[0]
    assert name_row.index("Bob") < name_row.index("Ann")
    assert "Accepted" in page.split('data-source="consent:0"')[1].split("</tr>")[0]
    # The identity rule and the tabs of the form's pages.
    assert "Email is the contact&#39;s identity" in page
    assert f'href="/console/forms/{form_id}"' in page
    italian = (await client.get(f"/console/forms/{form_id}/mapping?lang=it")).text
    assert "Salva associazione" in italian
    assert "Risposte recenti" in italian
    await client.get(f"/console/forms/{form_id}/mapping?lang=en")  # the choice is remembered


async def test_saving_writes_the_set_to_field_mappings_and_says_how_to_apply_it(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    before = await _mapping_version(db, form_id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    data = _posted(page, {"predefined:FIRST_NAME": "last_name", f"question:{COLOUR_Q}": "company"})
    response = await client.post(f"/console/forms/{form_id}/mapping?version=1", data=data)
    assert response.status_code == 303, response.text
    assert await _mappings(db, form_id) == {
        ("predefined", "EMAIL", "email"),
        ("predefined", "FIRST_NAME", "last_name"),
        ("question", COLOUR_Q, "company"),
    }
    after = await _mapping_version(db, form_id)
    assert after == before + 1
    shown = await client.get(response.headers["location"])
    assert f"Mapping saved: it is now version {after}." in shown.text
    assert "Sync already-imported contacts too" in shown.text
    assert f'<a href="/console/forms/{form_id}">' in shown.text
    # The page now shows the saved choices.
    again = _posted(shown.text, {})
    rows = _rows(shown.text)
    assert again[f"field_{rows['predefined:FIRST_NAME']}"] == "last_name"


async def test_without_the_identity_the_apis_message_shows_and_nothing_is_saved(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    mappings, version = await _mappings(db, form_id), await _mapping_version(db, form_id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    data = _posted(page, {"predefined:EMAIL": "", f"question:{COLOUR_Q}": "company"})
    response = await client.post(f"/console/forms/{form_id}/mapping", data=data)
    assert response.status_code == 422
    assert "The mapping was not saved:" in response.text
    assert IDENTITY_MESSAGE in response.text
    # The edits stay on the page, to be fixed.
    assert _posted(response.text, {})[f"field_{_rows(page)[f'question:{COLOUR_Q}']}"] == "company"
    # In Italian, the same message in Italian.
    italian = await client.post(f"/console/forms/{form_id}/mapping?lang=it", data=data)
    assert italian.status_code == 422
    assert "nessuna domanda è associata al campo identità" in italian.text
    await client.get(f"/console/forms/{form_id}/mapping?lang=en")
    assert await _mappings(db, form_id) == mappings
    assert await _mapping_version(db, form_id) == version


async def test_a_mapping_problem_is_said_in_the_readers_language_naming_what_the_page_shows(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    mappings = await _mappings(db, form_id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    # Two questions into Company: the API's English names them by key and id...
    data = _posted(page, {"predefined:FIRST_NAME": "company", f"question:{COLOUR_Q}": "company"})
    wanted = [
        {"source_kind": kind, "source_key": key, "field_key": field}
        for kind, key, field in (
            ("predefined", "EMAIL", "email"),
            ("question", COLOUR_Q, "company"),
            ("predefined", "FIRST_NAME", "company"),
        )
    ]
    async with admin_client(settings, account.token) as api:
        refused = await api.put(f"/api/forms/{form_id}/mappings", json={"mappings": wanted})
    assert refused.status_code == 422, refused.text
    assert refused.json()["details"][0]["message"] == (
        f"'company' is filled by several sources: question '{COLOUR_Q}',"
        " predefined field 'FIRST_NAME'"
    )
    # ...the page names the field by its label and the questions as the form asks them,
    english = await client.post(f"/console/forms/{form_id}/mapping", data=data)
    assert english.status_code == 422
    said = "“Company” is filled by several sources: “Colore preferito”, “Nome”"
    assert said in english.text.split('id="problems"')[1].split("</div>")[0]
    # beside each of the two rows,
    for token in (f"question:{COLOUR_Q}", "predefined:FIRST_NAME"):
        assert said in english.text.split(f'data-source="{token}"')[1].split("</tr>")[0]
    # and in Italian, in Italian, with the contact fields' labels in Italian too.
    italian = await client.post(f"/console/forms/{form_id}/mapping?lang=it", data=data)
    await client.get(f"/console/forms/{form_id}/mapping?lang=en")
    assert italian.status_code == 422
    problems = italian.text.split('id="problems"')[1].split("</div>")[0]
    assert (
        "il campo “Azienda” è compilato da più elementi del modulo: “Colore preferito”, “Nome”"
        in problems
    ), problems
    assert "filled by several sources" not in italian.text
    assert re.search(r'<option value="company" selected>Azienda</option>', italian.text)
    assert re.search(r'<option value="first_name">Nome</option>', italian.text)
    assert await _mappings(db, form_id) == mappings


async def test_a_new_contact_field_is_created_on_save_and_only_then(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    colour = _rows(page)[f"question:{COLOUR_Q}"]
    name = f"Colour {uuid.uuid4().hex[:6]}"
    key = name.lower().replace(" ", "_")
    new = {f"new_name_{colour}": name, f"new_type_{colour}": "single_choice"}

    # Refused (no identity): the field is not created either.
    refused = {**_posted(page, {f"question:{COLOUR_Q}": "__new__", "predefined:EMAIL": ""}), **new}
    assert (await client.post(f"/console/forms/{form_id}/mapping", data=refused)).status_code == 422
    cur = await db.execute(
        "SELECT count(*) FROM contact_fields WHERE account_id = leadsync_account() AND key = %s",
        (key,),
    )
    assert await cur.fetchone() == (0,)

    data = {**_posted(page, {f"question:{COLOUR_Q}": "__new__"}), **new}
    response = await client.post(f"/console/forms/{form_id}/mapping", data=data)
    assert response.status_code == 303, response.text
    cur = await db.execute(
        "SELECT label, type, standard, system FROM contact_fields"
        " WHERE account_id = leadsync_account() AND key = %s",
        (key,),
    )
    assert await cur.fetchone() == (name, "single_choice", False, False)
    assert ("question", COLOUR_Q, key) in await _mappings(db, form_id)

    # The same name again is an existing field now: the page says to pick it.
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    data = {**_posted(page, {f"question:{COLOUR_Q}": "__new__"}), **new}
    response = await client.post(f"/console/forms/{form_id}/mapping", data=data)
    assert response.status_code == 422
    assert "already exists: choose it in the list" in response.text


async def test_a_nul_character_in_a_new_field_name_is_said_beside_it(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    mappings = await _mappings(db, form_id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    colour = _rows(page)[f"question:{COLOUR_Q}"]
    data = {
        **_posted(page, {f"question:{COLOUR_Q}": "__new__"}),
        f"new_name_{colour}": "Colour\x00",
        f"new_type_{colour}": "text",
    }
    response = await client.post(f"/console/forms/{form_id}/mapping", data=data)
    assert response.status_code == 422
    assert "A field name cannot contain the NUL character (\\0)." in response.text
    assert await _mappings(db, form_id) == mappings
    cur = await db.execute(
        "SELECT count(*) FROM contact_fields WHERE account_id = leadsync_account()"
        " AND key = 'colour'"
    )
    assert await cur.fetchone() == (0,)


async def test_the_preview_shows_what_the_edited_mapping_would_write_and_writes_nothing(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    mappings, version = await _mappings(db, form_id), await _mapping_version(db, form_id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    colour = _rows(page)[f"question:{COLOUR_Q}"]
    name = f"Preview {uuid.uuid4().hex[:6]}"
    data = {
        **_posted(page, {f"question:{COLOUR_Q}": "__new__", "predefined:FIRST_NAME": "company"}),
        f"new_name_{colour}": name,
    }
    url = f"/console/forms/{form_id}/mapping/preview?version=1"

    whole = await client.post(url, data=data)  # without JavaScript: the whole page
    assert whole.status_code == 200, whole.text
    assert "<html" in whole.text
    assert "Nothing has been saved" in whole.text
    fragment = await client.post(url, data=data, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    for shown in (whole.text, fragment.text):
        preview = shown.split('id="preview-title"')[1]
        ann = preview.split(f'data-lead="ann-{form_id}"')[1].split("</tbody>")[0]
        assert f"ann-{form_id}@example.com" in ann
        assert re.search(rf"<td>{name}</td>\s*<td>Blu</td>", ann), ann
        assert re.search(r"<td>Company</td>\s*<td>Ann</td>", ann), ann
        assert "First name" not in ann
        # Bob, the newest, first.
        assert preview.index(f"bob-{form_id}") < preview.index(f"ann-{form_id}")

    # Without the identity, each lead would fail, and the preview says why.
    no_identity = {**data, f"field_{_rows(page)['predefined:EMAIL']}": ""}
    failing = await client.post(url, data=no_identity, headers={"HX-Request": "true"})
    assert "This lead would fail" in failing.text

    assert await _mappings(db, form_id) == mappings
    assert await _mapping_version(db, form_id) == version
    cur = await db.execute(
        "SELECT count(*) FROM contact_fields WHERE account_id = leadsync_account() AND label = %s",
        (name,),
    )
    assert await cur.fetchone() == (0,)
    cur = await db.execute(
        "SELECT first_name, company FROM contacts"
        " WHERE account_id = leadsync_account() AND email = %s",
        (f"ann-{form_id}@example.com",),
    )
    assert await cur.fetchone() == ("Ann", None)


async def test_a_post_without_the_csrf_token_is_refused_and_saves_nothing(
    client: httpx.AsyncClient, db: Conn, worker: Worker, settings: Settings,
    account: AccountWithToken,
) -> None:  # fmt: skip
    form_id = await _form_with_leads(db, worker, settings, account.id)
    mappings = await _mappings(db, form_id)
    page = (await client.get(f"/console/forms/{form_id}/mapping")).text
    data = _posted(page, {"predefined:FIRST_NAME": "last_name"})
    del data["csrf_token"]
    for url in (f"/console/forms/{form_id}/mapping", f"/console/forms/{form_id}/mapping/preview"):
        assert (await client.post(url, data=data)).status_code == 403
    assert await _mappings(db, form_id) == mappings


async def test_another_accounts_form_and_an_unknown_version_are_404(
    client: httpx.AsyncClient, db: Conn, settings: Settings
) -> None:
    other = await new_account(settings, "other")
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    await hold_for_session(db, other.id)
    seed = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [seed], auto_mappings)
    mappings = await _mappings(db, form_id)
    page = await client.get(f"/console/forms/{form_id}/mapping")
    assert page.status_code == 404
    token = _csrf(page.text)  # the 404 page is a signed-in page too
    saved = await client.post(
        f"/console/forms/{form_id}/mapping",
        data={"csrf_token": token, "source_0": "predefined:EMAIL", "field_0": "company"},
    )
    assert saved.status_code == 404
    assert await _mappings(db, form_id) == mappings


async def test_a_form_version_is_chosen_in_the_url(client: httpx.AsyncClient, db: Conn) -> None:
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    first = Lead.model_validate(lead_for("v1", "v1@example.com", form_id=form_id))
    second = lead_for("v2", "v2@example.com", form_id=form_id, version=2)
    second["form"]["content"]["questions"] = second["form"]["content"]["questions"][:1]
    await register_from_leads(db, [first, Lead.model_validate(second)], auto_mappings)
    latest = (await client.get(f"/console/forms/{form_id}/mapping")).text
    assert set(_rows(latest)) == {"predefined:EMAIL", "consent:0", "hidden:utm_source"}
    assert "Version 2" in latest
    assert "(latest)" in latest
    older = (await client.get(f"/console/forms/{form_id}/mapping?version=1")).text
    assert f"question:{COLOUR_Q}" in _rows(older)
    assert (await client.get(f"/console/forms/{form_id}/mapping?version=9")).status_code == 404
