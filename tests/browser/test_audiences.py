"""Dynamic audiences in a real browser on the whole stack with the LinkedIn sandbox: a filter
of the contacts saved as an audience, whose count on its page grows, without a reload, when
the sandbox pushes a matching lead; its members exported as CSV; the list with live counts;
rename and delete (through the confirm dialog)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.axe import axe_check
from tests.browser.pages import sign_in
from tests.browser.shots import screenshot
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
    create_leads,
    enable_test_form,
    wait_for_leads,
)

AUDIENCE_URL = re.compile(r"/console/audiences/[0-9a-f-]{36}$")
# The page polls its count every 3 s; a pushed lead takes a few seconds to be imported.
GROWTH_TIMEOUT_MS = 60_000


def member_emails(stack: BrowserStack, account: ConsoleAccount) -> set[str]:
    """The account's contacts with a test-lead submission of Test Form (the database's)."""
    rows = stack.query(
        "SELECT c.email FROM contacts c JOIN form_submissions s"
        " ON s.account_id = c.account_id AND s.contact_id = c.id"
        " WHERE c.account_id = %s AND s.form_id = %s AND s.test_lead",
        account.id,
        TEST_FORM_ID,
    )
    return {str(row[0]) for row in rows}


def counted(count: int) -> str:
    return "1 contact" if count == 1 else f"{count} contacts"


def push_test_leads(stack: BrowserStack, account: ConsoleAccount, count: int) -> list[str]:
    made = create_leads(stack, TEST_FORM_ID, count, testLead=True, invalidAnswers=False)
    wait_for_leads(stack, account, made)
    return made


def test_an_audience_grows_live_exports_csv_and_is_renamed_and_deleted(
    stack: BrowserStack, account: ConsoleAccount, page: Page
) -> None:
    enable_test_form(stack, account)
    push_test_leads(stack, account, 2)
    real = create_leads(stack, TEST_FORM_ID, 1, testLead=False, invalidAnswers=False)
    wait_for_leads(stack, account, real)
    members = member_emails(stack, account)
    test_form = account.forms[TEST_FORM_ID]

    # Saved from the contacts page's filters.
    sign_in(page, account)
    page.goto(f"/console/contacts?form_id={TEST_FORM_ID}&test_lead=true")
    page.get_by_label("Audience name").fill("Test leads of Test Form")
    page.get_by_role("button", name="Save as audience").click()
    expect(page).to_have_url(AUDIENCE_URL)
    audience_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Test leads of Test Form")
    expect(page.locator("main")).to_contain_text(
        f"Contacts who filled “{test_form}”, as a test lead"
    )
    count = page.locator("#audience-count")
    expect(count).to_have_text(counted(len(members)))
    listed = page.locator("table.contacts tbody tr td:first-child a")
    assert set(listed.all_inner_texts()) == members
    axe_check(page)
    screenshot(page, "audience")

    # A matching lead is pushed: the count grows on the page, which is not reloaded (a
    # reload would drop the mark left on its window).
    page.evaluate("() => { window.notReloaded = true; }")
    for _attempt in range(3):  # a lead may come from a person already a member
        push_test_leads(stack, account, 1)
        if len(member_emails(stack, account)) > len(members):
            break
    grown = member_emails(stack, account)
    assert len(grown) > len(members)
    expect(count).to_have_text(counted(len(grown)), timeout=GROWTH_TIMEOUT_MS)
    assert page.evaluate("() => window.notReloaded === true")
    assert page.url == audience_url

    # The CSV export: every member now, with its fields and forms filled.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["email"] for row in rows} == grown
    assert {row["linkedin_forms_filled"] for row in rows} == {test_form}
    assert {row["linkedin_imported"] for row in rows} == {"true"}

    # The list, with its live count.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audiences").click()
    row = page.locator("#audience-rows tr").filter(has_text="Test leads of Test Form")
    expect(row).to_contain_text(str(len(grown)))
    expect(row).to_contain_text(f"Contacts who filled “{test_form}”, as a test lead")
    axe_check(page)
    screenshot(page, "audiences")

    # Rename, then delete through the confirm dialog.
    row.get_by_role("link").click()
    page.get_by_role("button", name="Rename").click()
    dialog = page.get_by_role("dialog", name="Rename the audience")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Test Form's test leads")
    dialog.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Test Form's test leads")
    page.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete “Test Form's test leads”?")
    expect(confirm).to_be_visible()
    axe_check(page)
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    page.get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete the audience").click()
    expect(page.get_by_role("status")).to_contain_text("The audience was deleted")
    expect(page.locator("main")).not_to_contain_text("Test Form's test leads")
    response = page.goto(audience_url)
    assert response is not None
    assert response.status == 404
