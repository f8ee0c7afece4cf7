"""A form's error log in a real browser on the whole stack with the LinkedIn sandbox: reached
from the forms list's error count, its lines (time, lead, kind, message) those of the
database, the filter by kind, the CSV downloads (the page's button and the list's icon)
holding the same bytes as the API's CSV, and "Older lines" paging back through the whole
log (each line once, in the database's order) keeping the kind filter, "Newest lines" back
to the start."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from schemas.events import ErrorEvent
from sinks.database import Database
from sinks.error_log import record_errors
from tests.browser.axe import axe_check
from tests.browser.shots import screenshot
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
    call_in_thread,
    create_leads,
    enable_import,
    wait_for_leads,
)
from tests.browser.test_forms_list import form_row

ERRORS_URL = f"/console/forms/{TEST_FORM_ID}/errors"


def api_csv(stack: BrowserStack, account: ConsoleAccount, query: str = "") -> bytes:
    answer = httpx.get(
        f"{stack.admin.url}/api/forms/{TEST_FORM_ID}/errors.csv{query}",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.content


def record_older_lines(stack: BrowserStack, account: ConsoleAccount, before: datetime) -> list[str]:
    """Five lines older than ``before``, as the error agent writes them (``record_errors``):
    three invalid values, two revoked connections, a minute apart; their lead ids, newest
    first."""
    events = [
        ErrorEvent(
            error_id=uuid.uuid4(),
            occurred_at=before - timedelta(minutes=n + 1),
            stage="map" if n % 2 == 0 else "hydrate",
            code="invalid_value" if n % 2 == 0 else "connection_revoked",
            message="the email address is not valid: it has no @"
            if n % 2 == 0
            else "the LinkedIn connection was revoked: the member must reconnect",
            account_id=account.id,
            form_id=TEST_FORM_ID,
            lead_id=f"{uuid.uuid4()}-{n}",  # as the sandbox names its leads
            field="email" if n % 2 == 0 else None,
            origin="pull",
        )
        for n in range(5)
    ]

    async def record() -> None:
        async with (
            Database.from_settings(stack.settings, max_size=1) as db,
            db.account(account.id) as conn,
        ):
            assert await record_errors(conn, events) == len(events)

    call_in_thread(asyncio.run, record())
    return [str(event.lead_id) for event in events]


def shown_leads(page: Page) -> list[str]:
    return page.locator("table.errors tbody tr td:nth-child(2)").all_inner_texts()


def test_the_error_log_shows_its_lines_filters_by_kind_downloads_the_csv_and_pages_back(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    enable_import(stack, account, TEST_FORM_ID)
    leads = create_leads(stack, TEST_FORM_ID, 2, invalidAnswers=True)
    leads += create_leads(stack, TEST_FORM_ID, 1, invalidAnswers=False)
    wait_for_leads(stack, account, leads)
    logged = stack.query(
        "SELECT lead_id, kind, message FROM error_log WHERE account_id = %s AND form_id = %s",
        account.id,
        TEST_FORM_ID,
    )
    assert len(logged) >= 2  # an invalid lead may fail on more than one field
    assert {kind for _, kind, _ in logged} == {"configuration"}

    # From the list: the form's error count opens its log.
    page = account_page
    page.goto("/console/forms")
    form_row(page, account.forms[TEST_FORM_ID]).get_by_role(
        "link", name=str(len(logged)), exact=True
    ).click()
    expect(page).to_have_url(f"{stack.console_url}{ERRORS_URL}")
    expect(page.get_by_role("heading", level=1)).to_have_text(account.forms[TEST_FORM_ID])
    expect(page.get_by_role("link", name="Errors", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    rows = page.locator("table.errors tbody tr")
    expect(rows).to_have_count(len(logged))
    for lead_id, _kind, message in logged:
        line = rows.filter(has_text=lead_id).filter(has_text=message)
        expect(line.locator("td").nth(2)).to_have_text("Configuration")
        expect(line.locator("td").nth(3)).to_contain_text(message)
        expect(line.locator("time")).to_have_text(
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
        )
    axe_check(page)

    # The filter by kind: links, the chosen one marked.
    kinds = page.get_by_role("navigation", name="Filter by kind")
    kinds.get_by_role("link", name="Connection", exact=True).click()
    expect(page.get_by_text("No error of this kind in the log.")).to_be_visible()
    expect(kinds.get_by_role("link", name="Connection", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    kinds.get_by_role("link", name="Configuration", exact=True).click()
    expect(rows).to_have_count(len(logged))

    # The page's download: the lines of the chosen kind, the API's very bytes.
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download CSV").click()
    download = downloading.value
    assert download.suggested_filename.startswith(
        f"leadsync-errors-form-{TEST_FORM_ID}-configuration-"
    )
    body = Path(download.path()).read_bytes()
    assert body == api_csv(stack, account, "?kind=configuration")
    text = body.decode()
    assert text.startswith("time,form id,form name,lead id,stage,kind,code,message")
    assert all(lead_id in text for lead_id, _, _ in logged)

    # The list's icon: the whole log.
    page.goto("/console/forms")
    icon = form_row(page, account.forms[TEST_FORM_ID]).locator("a.download")
    with page.expect_download() as downloading:
        icon.click()
    assert Path(downloading.value.path()).read_bytes() == api_csv(stack, account)

    # Older lines than a page holds: five more, from before the sandbox's, read three at a
    # time (?limit=, within the API's bounds) from the newest back to the oldest.
    (oldest_logged,) = stack.query(
        "SELECT min(occurred_at) FROM error_log WHERE account_id = %s AND form_id = %s",
        account.id,
        TEST_FORM_ID,
    )[0]
    older = record_older_lines(stack, account, oldest_logged)
    in_order = [
        lead_id
        for (lead_id,) in stack.query(
            "SELECT lead_id FROM error_log WHERE account_id = %s AND form_id = %s"
            " ORDER BY occurred_at DESC, id DESC",
            account.id,
            TEST_FORM_ID,
        )
    ]
    page.goto(f"{ERRORS_URL}?limit=3")
    note = page.locator("#lines-note")
    pager = page.get_by_role("navigation", name="Pages of the log")
    expect(rows).to_have_count(3)
    expect(note).to_have_text("The newest 3 lines; the CSV download has them all.")
    expect(pager.get_by_role("link", name="Newest lines")).to_have_count(0)
    screenshot(page, "error-log")
    shown = shown_leads(page)
    pages = 1
    while pager.get_by_role("link", name="Older lines").count():
        pager.get_by_role("link", name="Older lines").click()
        expect(page).to_have_url(re.compile(rf"{re.escape(ERRORS_URL)}\?limit=3&before=[\w-]+$"))
        expect(note).to_contain_text(re.compile(r"from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
        expect(pager.get_by_role("link", name="Newest lines")).to_be_visible()
        if pages == 1:
            axe_check(page)
        shown += shown_leads(page)
        pages += 1
        assert pages <= len(in_order), "the pages never end"
    assert shown == in_order
    assert pages == -(-len(in_order) // 3)
    expect(note).to_contain_text("The oldest lines, from ")
    pager.get_by_role("link", name="Newest lines").click()
    expect(page).to_have_url(f"{stack.console_url}{ERRORS_URL}?limit=3")
    assert shown_leads(page) == in_order[:3]

    # The kind filter keeps the page's size, and "Older lines" keeps the kind.
    kinds.get_by_role("link", name="Connection", exact=True).click()
    expect(page).to_have_url(f"{stack.console_url}{ERRORS_URL}?kind=connection&limit=3")
    page.goto(f"{ERRORS_URL}?kind=connection&limit=1")
    expect(rows).to_have_count(1)
    first = shown_leads(page)
    pager.get_by_role("link", name="Older lines").click()
    expect(page).to_have_url(re.compile(r"\?kind=connection&limit=1&before=[\w-]+$"))
    expect(kinds.get_by_role("link", name="Connection", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(rows).to_have_count(1)
    expect(rows.locator("td").nth(2)).to_have_text("Connection")
    assert [*first, *shown_leads(page)] == older[1::2]  # the revoked connections
    expect(pager.get_by_role("link", name="Older lines")).to_have_count(0)
