"""A form's error log in a real browser on the whole stack with the LinkedIn sandbox: reached
from the forms list's error count, its lines (time, lead, kind, message) those of the
database, the filter by kind, and the CSV downloads (the page's button and the list's icon)
holding the same bytes as the API's CSV."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.axe import axe_check
from tests.browser.shots import screenshot
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
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


def test_the_error_log_shows_its_lines_filters_by_kind_and_downloads_the_csv(
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
    screenshot(page, "error-log")

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
