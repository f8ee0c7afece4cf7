"""The field mapping page of a form nothing was imported from yet, on the real database with
the LinkedIn sandbox: a new form has Import off so that it is mapped first, and its leads
are at LinkedIn only. The page reads the newest of them through the account's own
connection, shows their answers beside the questions and what the mapping would write for
them, says they are not imported, and stores nothing; with the connection revoked, or
LinkedIn out of reach, it still renders and says why the examples are missing."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from psycopg import AsyncConnection
from pydantic import SecretStr

from harness.children import free_port
from harness.processes import Worker
from harness.sandboxes import Sandbox, serving
from ingest.connect import identify
from ingest.discovery import discover
from leadsync.settings import Settings
from linkedin import DEFAULT_SCOPES
from schemas.tokens import TokenPair
from sinks.answer_examples import DEFAULT_LIMIT
from sinks.connections import TokenCipher, save_connection
from sinks.database import Database
from sinks.forms import set_import
from tests.integration.admin_client import AccountWithToken, hold_for_session, new_account
from tests.integration.console_client import SignedInClient, console_client, new_console_user
from tests.integration.produce import envelope, lead_for, publish_raw

Conn = AsyncConnection[tuple[Any, ...]]
TEST_FORM_ID = 7234246  # the sandbox's Test Form (Italian; a consent, a hidden field)


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    with serving(settings) as running:
        yield running


@pytest.fixture(scope="module")
def app_settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return settings.model_copy(
        update={
            "linkedin_api_url": f"{sandbox.url}/rest",
            "linkedin_oauth_url": f"{sandbox.url}/oauth/v2",
        }
    )


async def _connected_account(settings: Settings, sandbox: Sandbox) -> tuple[AccountWithToken, str]:
    """A new account with the sandbox's demo member connected and its forms discovered
    (Import off, as discovery leaves them); its access token."""
    account = await new_account(settings, "mapping-linkedin")
    minted = sandbox.control.post("/tokens", json={"scopes": list(DEFAULT_SCOPES)})
    assert minted.status_code == 201, minted.text
    grant = minted.json()
    now = time.time()
    tokens = TokenPair(
        access_token=SecretStr(grant["access_token"]),
        access_expires_at=now + grant["expires_in"],
        refresh_token=SecretStr(grant["refresh_token"]),
        refresh_expires_at=now + grant["refresh_token_expires_in"],
        scope=grant.get("scope", ""),
    )
    member = await identify(settings, tokens)
    async with Database.from_settings(settings, max_size=2) as db:
        async with db.account(account.id) as conn:
            connection_id = await save_connection(
                conn, TokenCipher(settings), tokens, member.urn, member.name, account.id
            )
        await discover(settings, db, account.id, connection_id)
    return account, grant["access_token"]


async def _signed_in(settings: Settings, account_id: int) -> AsyncIterator[SignedInClient]:
    user = await new_console_user(settings, account_id)
    async with console_client(settings, user.email, user.password) as console:
        yield console


@pytest.fixture
async def connected(
    app_settings: Settings, sandbox: Sandbox
) -> AsyncIterator[tuple[AccountWithToken, str, SignedInClient]]:
    account, access_token = await _connected_account(app_settings, sandbox)
    async for console in _signed_in(app_settings, account.id):
        yield account, access_token, console


def _new_leads(sandbox: Sandbox, count: int) -> list[dict[str, Any]]:
    """Leads people leave in the Test Form now (valid answers): each as LinkedIn has it."""
    made = sandbox.control.post(
        "/leads", json={"count": count, "formId": TEST_FORM_ID, "invalidAnswers": False}
    )
    assert made.status_code == 201, made.text
    leads = []
    for lead_id in made.json()["ids"]:
        got = sandbox.control.get(f"/leads/{lead_id}")
        assert got.status_code == 200, got.text
        leads.append(got.json())
    return leads


def _answer(sandbox: Sandbox, lead: dict[str, Any], predefined: str) -> str:
    """A lead's answer to a predefined question of its form version."""
    form = sandbox.state.catalog.versions[lead["versionedLeadGenFormUrn"]].to_json()
    questions = {q["questionId"]: q.get("predefinedField") for q in form["content"]["questions"]}
    for answer in lead["formResponse"]["answers"]:
        if questions.get(answer["questionId"]) == predefined:
            text: str = answer["answerDetails"]["textQuestionAnswer"]["answer"]
            return text
    raise AssertionError(f"{lead['id']} has no {predefined} answer")


def _row(page: str, source: str) -> str:
    return page.split(f'data-source="{source}"')[1].split("</tr>")[0]


def _posted(page: str) -> dict[str, str]:
    """The page's form as a browser posts it unchanged."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    data = {"csrf_token": found.group(1)}
    for index, token in re.findall(r'name="source_(\d+)" value="([^"]+)"', page):
        data[f"source_{index}"] = token
        select = re.search(rf'<select id="field_{index}".*?</select>', page, flags=re.DOTALL)
        assert select
        selected = re.search(r'<option value="([^"]*)" selected>', select.group(0))
        data[f"field_{index}"] = selected.group(1) if selected else ""
        data[f"new_name_{index}"] = ""
        data[f"new_type_{index}"] = "text"
    return data


async def _stored(db: Conn, account_id: int) -> tuple[object, ...]:
    """What an import of the Test Form would have left in the account: submissions, ledger
    and skipped rows, contacts, errors, and the form's counters."""
    cur = await db.execute(
        "SELECT (SELECT count(*) FROM form_submissions WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM imported_leads WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM skipped_leads WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM contacts WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM error_log WHERE account_id = %(a)s),"
        " (SELECT array[imported, updated, errors, skipped] FROM form_counters"
        "  WHERE account_id = %(a)s AND form_id = %(f)s)",
        {"a": account_id, "f": TEST_FORM_ID},
    )
    row = await cur.fetchone()
    assert row is not None
    return tuple(row)


async def _import_enabled(db: Conn, account_id: int) -> bool:
    cur = await db.execute(
        "SELECT import_enabled FROM forms WHERE account_id = %s AND id = %s",
        (account_id, TEST_FORM_ID),
    )
    row = await cur.fetchone()
    assert row is not None
    return bool(row[0])


async def test_a_form_with_import_off_shows_its_leads_at_linkedin_and_what_they_would_write(
    connected: tuple[AccountWithToken, str, SignedInClient], sandbox: Sandbox, db: Conn
) -> None:
    account, _token, console = connected
    await hold_for_session(db, account.id)
    assert not await _import_enabled(db, account.id)
    before = await _stored(db, account.id)
    leads = _new_leads(sandbox, 3)
    # As the page shows them (escaped: a name may hold an apostrophe).
    names = [html.escape(_answer(sandbox, lead, "FIRST_NAME")) for lead in leads]
    emails = [html.escape(_answer(sandbox, lead, "EMAIL").lower()) for lead in leads]

    response = await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping")
    assert response.status_code == 200, response.text
    page = response.text
    # Their answers beside the questions: the first names, the consent, the hidden field.
    name_row = _row(page, "predefined:FIRST_NAME")
    for name in names:
        assert name in name_row, (name, name_row)
    consent = _row(page, "consent:0")
    assert "Accepted" in consent or "Refused" in consent
    assert "linkedin" in _row(page, "hidden:utm_source").split('class="examples"')[1]
    assert "No answers yet" not in name_row
    # Where they come from.
    notice = page.split('id="leads-source"')[1].split("</div>")[0]
    assert "From LinkedIn: leads not imported yet." in notice
    assert "3 of the recent leads below were read from LinkedIn" in notice

    # The preview: what the mapping as saved (discovery's) would write for each of them.
    url = f"/console/forms/{TEST_FORM_ID}/mapping/preview"
    shown = await console.http.post(url, data=_posted(page), headers={"HX-Request": "true"})
    assert shown.status_code == 200, shown.text
    for lead, name, email in zip(leads, names, emails, strict=True):
        block = shown.text.split(f'data-lead="{lead["id"]}"')[1].split("</tbody>")[0]
        assert "Not imported yet" in block
        assert re.search(rf"<td>Email</td>\s*<td>{re.escape(email)}</td>", block), block
        assert re.search(rf"<td>First name</td>\s*<td>{re.escape(name)}</td>", block), block
    assert "No lead of this form has been imported yet" not in shown.text

    # In Italian, the same, with the contact fields' labels in Italian.
    italian = await console.http.post(
        f"{url}?lang=it", data=_posted(page), headers={"HX-Request": "true"}
    )
    assert "Non ancora importato" in italian.text
    assert re.search(rf"<td>Nome</td>\s*<td>{re.escape(names[0])}</td>", italian.text)
    await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping?lang=en")

    # Read only: nothing imported, skipped, counted or switched on.
    assert await _stored(db, account.id) == before
    assert not await _import_enabled(db, account.id)


async def test_a_revoked_connection_still_renders_the_page_and_says_why(
    connected: tuple[AccountWithToken, str, SignedInClient], sandbox: Sandbox, db: Conn
) -> None:
    account, access_token, console = connected
    await hold_for_session(db, account.id)
    _new_leads(sandbox, 1)
    revoked = sandbox.control.post("/tokens/revoke", json={"token": access_token})
    assert revoked.status_code == 200, revoked.text

    response = await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping")
    assert response.status_code == 200, response.text
    notice = response.text.split('id="leads-source"')[1].split("</div>")[0]
    assert "LinkedIn could not be asked for this form&#39;s recent leads:" in notice
    assert "the LinkedIn connection has expired or was revoked" in notice
    assert 'href="/console/linkedin"' in notice
    assert "No answers yet" in _row(response.text, "predefined:FIRST_NAME")
    preview = await console.http.post(
        f"/console/forms/{TEST_FORM_ID}/mapping/preview",
        data=_posted(response.text),
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "LinkedIn could not be asked for its recent leads" in preview.text
    # The page marks nothing: the puller and the hydrator say a connection is refused.
    cur = await db.execute(
        "SELECT status FROM linkedin_connections WHERE account_id = %s", (account.id,)
    )
    assert await cur.fetchall() == [("active",)]


async def test_linkedin_out_of_reach_still_renders_the_page_and_says_why(
    app_settings: Settings, sandbox: Sandbox
) -> None:
    account, _token = await _connected_account(app_settings, sandbox)
    _new_leads(sandbox, 1)
    away = app_settings.model_copy(
        update={"linkedin_api_url": f"http://127.0.0.1:{free_port()}/rest"}
    )
    async for console in _signed_in(away, account.id):
        started = time.monotonic()
        response = await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping")
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 15
        notice = response.text.split('id="leads-source"')[1].split("</div>")[0]
        assert "LinkedIn could not be reached, or did not answer in time." in notice
        italian = await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping?lang=it")
        assert "LinkedIn non era raggiungibile" in italian.text
        assert "Salva associazione" in italian.text
        await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping?lang=en")


async def test_a_form_with_enough_imported_leads_does_not_ask_linkedin(
    app_settings: Settings, settings: Settings, sandbox: Sandbox, worker: Worker, db: Conn
) -> None:
    """As many imported leads as the page shows: LinkedIn (here out of reach) is not asked,
    and nothing is said about it."""
    account, _token = await _connected_account(app_settings, sandbox)
    await hold_for_session(db, account.id)
    await set_import(db, TEST_FORM_ID, True)
    tag = uuid.uuid4().hex[:8]
    leads = [
        lead_for(f"enough-{tag}-{i}", f"enough-{tag}-{i}@example.com",
                 submitted_at=1_700_000_000_000 + i * 1000)
        for i in range(DEFAULT_LIMIT)
    ]  # fmt: skip
    publish_raw(settings, *[envelope(lead, account_id=account.id) for lead in leads])
    worker.settle()
    away = app_settings.model_copy(
        update={"linkedin_api_url": f"http://127.0.0.1:{free_port()}/rest"}
    )
    async for console in _signed_in(away, account.id):
        page = (await console.http.get(f"/console/forms/{TEST_FORM_ID}/mapping")).text
        assert 'id="leads-source"' not in page
        assert "Not imported yet" not in page
        preview = await console.http.post(
            f"/console/forms/{TEST_FORM_ID}/mapping/preview",
            data=_posted(page),
            headers={"HX-Request": "true"},
        )
        for i in range(DEFAULT_LIMIT):
            assert f"enough-{tag}-{i}@example.com" in preview.text
