"""The forms list in a real browser on the whole stack with the LinkedIn sandbox: every
discovered form with its status icon (the API's reason on hover and as its accessible
name, the colour also as a word), its counters as the API counts them, "New" on the forms
never switched on, and the toolbar's filters by LinkedIn state and status."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.browser.axe import axe_check
from tests.browser.pages import sign_in, sign_out
from tests.browser.shots import screenshot
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
    create_leads,
    enable_import,
    enable_test_form,
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
    # The reference form imports leads (one of them invalid: a configuration error). Its
    # first pull, done first, brings what other tests left in the shared sandbox's form.
    enable_test_form(stack, account)
    before = api_forms(stack, account)[TEST_FORM_ID]["counters"]
    leads = create_leads(stack, TEST_FORM_ID, 3, invalidAnswers=False)
    leads += create_leads(stack, TEST_FORM_ID, 1, invalidAnswers=True)
    wait_for_leads(stack, account, leads)
    forms = api_forms(stack, account)
    test_form = forms[TEST_FORM_ID]
    assert test_form["status"]["color"] == "green"
    counters = test_form["counters"]
    assert counters["imported"] + counters["updated"] == before["imported"] + before["updated"] + 3
    assert counters["errors"] == before["errors"] + 1

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
    expect(cells.nth(5)).to_have_text(str(counters["errors"]))
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


def test_another_accounts_user_sees_none_of_its_forms_runs_or_errors_and_gets_404(
    stack: BrowserStack, make_account: Callable[..., ConsoleAccount], page: Page
) -> None:
    first = make_account("first")
    # The same LinkedIn member: the same form ids, in its own rows (Import off, nothing in).
    second = make_account("second")
    # No LinkedIn connection: no forms at all.
    third = make_account("third", connect=False)
    enable_import(stack, first, TEST_FORM_ID)
    leads = create_leads(stack, TEST_FORM_ID, 2, invalidAnswers=False)
    bad = create_leads(stack, TEST_FORM_ID, 1, invalidAnswers=True)
    wait_for_leads(stack, first, leads + bad)
    runs = stack.query("SELECT id FROM sync_runs WHERE account_id = %s", first.id)
    assert runs, "Import on starts the first account's first pull"
    run_url = f"/console/runs/{runs[0][0]}"
    first_counters = api_forms(stack, first)[TEST_FORM_ID]["counters"]
    assert first_counters["imported"] + first_counters["updated"] >= 2
    assert first_counters["errors"] >= 1

    # The second account's user: its own Test Form, with none of the first's figures.
    sign_in(page, second)
    page.goto("/console/forms")
    row = form_row(page, second.forms[TEST_FORM_ID])
    expect(row.locator("td").nth(0)).to_have_text("Import off")
    for cell in (3, 4, 5):
        expect(row.locator("td").nth(cell)).to_have_text("0")
    page.goto(f"/console/forms/{TEST_FORM_ID}/errors")
    for lead_id in bad:
        expect(page.locator("main")).not_to_contain_text(lead_id)
    csv = page.request.get(f"/console/forms/{TEST_FORM_ID}/errors.csv")
    assert csv.status == 200
    assert not any(lead_id in csv.text() for lead_id in leads + bad)
    response = page.goto(run_url)
    assert response is not None
    assert response.status == 404, run_url
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    sign_out(page)

    # The third account's user: no forms, and every URL of the first's form is not found.
    sign_in(page, third)
    page.goto("/console/forms")
    expect(page.locator("table.forms tbody tr")).to_have_count(0)
    body = page.locator("main").inner_text()
    assert not any(name in body for name in first.forms.values())
    for url in (
        f"/console/forms/{TEST_FORM_ID}",
        f"/console/forms/{TEST_FORM_ID}/errors",
        f"/console/forms/{TEST_FORM_ID}/mapping",
        run_url,
    ):
        response = page.goto(url)
        assert response is not None
        assert response.status == 404, url
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        assert first.forms[TEST_FORM_ID] not in page.locator("main").inner_text()
    csv = page.request.get(f"/console/forms/{TEST_FORM_ID}/errors.csv")
    assert csv.status == 404
    assert not any(lead_id in csv.text() for lead_id in leads + bad)
    # A state change on the first's form is refused as not found, and changes nothing.
    answer = page.request.post(
        f"/console/forms/{TEST_FORM_ID}/settings",
        form={"csrf_token": csrf_token(page), "sync_interval_hours": "24"},
    )
    assert answer.status == 404
    ((enabled,),) = stack.query(
        "SELECT import_enabled FROM forms WHERE account_id = %s AND id = %s",
        first.id,
        TEST_FORM_ID,
    )
    assert enabled is True


def csrf_token(page: Page) -> str:
    page.goto("/console/forms")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token
