"""The forms list in a real browser on the whole stack with the LinkedIn sandbox: every
discovered form with its status icon (the API's reason on hover and as its accessible
name, the colour also as a word), its counters as the API counts them, "New" on the forms
never switched on, and the toolbar's filters by LinkedIn state and status."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

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


def api_forms(stack: BrowserStack, account: ConsoleAccount) -> dict[int, dict[str, Any]]:
    """The account's forms as ``GET /api/forms`` shows them, by id."""
    answer = httpx.get(
        f"{stack.admin.url}/api/forms",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return {form["id"]: form for form in answer.json()["forms"]}


def form_row(page: Page, name: str) -> Locator:
    return page.locator("table.forms tbody tr").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def listed(page: Page) -> list[str]:
    return page.locator("table.forms tbody th[scope=row] a").all_inner_texts()


def test_the_list_shows_each_form_s_status_and_counters_and_filters_by_state(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    # The reference form imports leads (one of them invalid: a configuration error).
    enable_import(stack, account, TEST_FORM_ID)
    leads = create_leads(stack, TEST_FORM_ID, 3, invalidAnswers=False)
    leads += create_leads(stack, TEST_FORM_ID, 1, invalidAnswers=True)
    wait_for_leads(stack, account, leads)
    forms = api_forms(stack, account)
    test_form = forms[TEST_FORM_ID]
    assert test_form["status"]["color"] == "green"
    counters = test_form["counters"]
    assert counters["imported"] + counters["updated"] == 3
    assert counters["errors"] == 1

    page = account_page
    page.goto("/console/forms")
    expect(page.get_by_role("heading", level=1)).to_have_text("Forms")
    assert sorted(listed(page)) == sorted(account.forms.values())
    expect(page.get_by_text(f"{len(account.forms)} forms", exact=True)).to_be_visible()

    # The reference form: a green icon whose name and tooltip are the API's reason, the
    # colour as a word, the counters as the API counts them, the error log's download.
    row = form_row(page, account.forms[TEST_FORM_ID])
    icon = row.get_by_role("img")
    reason = test_form["status"]["reason"]
    expect(icon).to_have_accessible_name(reason)
    expect(icon).to_have_attribute("title", reason)
    expect(icon).to_have_class("status status-green")
    cells = row.locator("td")
    expect(cells.nth(0)).to_have_text("Working")
    # The owner by the name discovery found for the ad account.
    ((ad_account,),) = stack.query(
        "SELECT name FROM ad_accounts WHERE account_id = %s AND urn = %s",
        account.id,
        test_form["owner_urn"],
    )
    expect(cells.nth(1)).to_have_text(ad_account)
    expect(cells.nth(2)).to_have_text("Published")
    expect(cells.nth(3)).to_have_text(str(counters["imported"]))
    expect(cells.nth(4)).to_have_text(str(counters["updated"]))
    expect(cells.nth(5)).to_have_text("1")
    download = row.get_by_role("link", name="Download the error log of Test Form", exact=True)
    expect(download).to_have_attribute("href", f"/console/forms/{TEST_FORM_ID}/errors.csv")
    expect(row.get_by_text("New", exact=True)).to_have_count(0)

    # Every other form as discovery left it: grey, Import off, marked "New".
    for form_id, name in account.forms.items():
        if form_id == TEST_FORM_ID:
            continue
        other = form_row(page, name)
        expect(other.get_by_role("img")).to_have_accessible_name(
            "Import is off for this form: nothing is imported."
        )
        expect(other.locator("td").nth(0)).to_have_text("Import off")
        expect(other.locator(".badge.new")).to_have_text("New")
    axe_check(page)
    screenshot(page, "forms-list")

    # Filter by LinkedIn's state: a GET form, so the URL says what is shown.
    archived = sorted(
        name
        for (name,) in stack.query(
            "SELECT name FROM forms WHERE account_id = %s AND state = 'ARCHIVED'", account.id
        )
    )
    assert archived, "the sandbox's member has an archived form"
    page.get_by_label("LinkedIn state").select_option(label="Archived")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/console/forms\?.*state=ARCHIVED"))
    expect(page.locator("table.forms tbody tr")).to_have_count(len(archived))
    assert sorted(listed(page)) == archived
    expect(page.get_by_label("LinkedIn state")).to_have_value("ARCHIVED")
    expect(page.get_by_text(f"{len(archived)} of {len(account.forms)} forms")).to_be_visible()

    # Then by status, state cleared: only the working form.
    page.get_by_label("LinkedIn state").select_option(label="All states")
    page.get_by_label("Status", exact=True).select_option(label="Working")
    page.get_by_role("button", name="Apply filters").click()
    assert listed(page) == [account.forms[TEST_FORM_ID]]
    axe_check(page)
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("table.forms tbody tr")).to_have_count(len(account.forms))
