"""The contacts pages in a real browser on the whole stack with the LinkedIn sandbox: leads
pushed to an account's "Test Form", then the seed's example, "contacts from test
submissions of Test Form", reached in two clicks from the contacts page; a contact's page
with where each value came from; and a second account's user, who sees none of it and gets
the 404 page on its URLs."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.axe import axe_check
from tests.browser.pages import sign_in, sign_out
from tests.browser.shots import screenshot
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
    create_leads,
    enable_test_form,
    wait_for_leads,
)

CONTACT_URL = re.compile(r"/console/contacts/[0-9a-f-]{36}$")


def import_leads(
    stack: BrowserStack, account: ConsoleAccount, tests: int, others: int
) -> list[str]:
    """Import on for the account's Test Form, then people leave ``tests`` test leads and
    ``others`` real ones in it (pushed by the sandbox), all imported; their lead ids."""
    enable_test_form(stack, account)
    made = create_leads(stack, TEST_FORM_ID, tests, testLead=True, invalidAnswers=False)
    if others:
        made += create_leads(stack, TEST_FORM_ID, others, testLead=False, invalidAnswers=False)
    wait_for_leads(stack, account, made)
    return made


def contact_emails(
    stack: BrowserStack, account: ConsoleAccount, test_lead: bool | None
) -> set[str]:
    """The account's contacts with a submission of Test Form (a test lead, or not, or
    either), from the database."""
    rows = stack.query(
        "SELECT c.email FROM contacts c JOIN form_submissions s"
        " ON s.account_id = c.account_id AND s.contact_id = c.id"
        " WHERE c.account_id = %s AND s.form_id = %s"
        " AND (%s::boolean IS NULL OR s.test_lead = %s::boolean)",
        account.id,
        TEST_FORM_ID,
        test_lead,
        test_lead,
    )
    return {str(row[0]) for row in rows}


def listed_emails(page: Page) -> set[str]:
    """The contacts the results table lists (their links)."""
    return set(page.locator("#results table.contacts tbody tr td:first-child a").all_inner_texts())


def test_contacts_from_test_submissions_of_test_form_are_two_clicks_away(
    stack: BrowserStack, account: ConsoleAccount, page: Page
) -> None:
    import_leads(stack, account, tests=3, others=2)
    test_form = account.forms[TEST_FORM_ID]
    tests = contact_emails(stack, account, test_lead=True)
    assert tests, "no test lead was imported"
    everyone = contact_emails(stack, account, test_lead=None)
    assert everyone - tests, "no real lead was imported"
    sign_in(page, account)
    page.goto("/console/contacts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")
    expect(page.locator("#results-count")).to_have_text(f"{len(everyone)} contacts")
    assert listed_emails(page) == everyone

    clicks = 0

    def click(target: Locator) -> None:
        nonlocal clicks
        target.click()
        clicks += 1

    quick = page.get_by_role("navigation", name="Quick filters")
    click(quick.get_by_role("link", name=test_form, exact=True))
    expect(page.locator("#results-heading")).to_have_text(f"Contacts who filled “{test_form}”")
    click(quick.get_by_role("link", name="Test leads", exact=True))
    assert clicks == 2

    expect(page.locator("#results-heading")).to_have_text(
        f"Contacts who filled “{test_form}”, as a test lead"
    )
    expect(page.locator("#results-count")).to_have_text(
        "1 contact" if len(tests) == 1 else f"{len(tests)} contacts"
    )
    assert listed_emails(page) == tests
    # The pressed chips say so, and the filter form shows the same choices.
    expect(quick.get_by_role("link", name="Test leads")).to_have_attribute("aria-current", "true")
    expect(page.get_by_label("Form filled")).to_have_value(str(TEST_FORM_ID))
    expect(page.get_by_label("Test lead", exact=True)).to_have_value("true")
    axe_check(page)
    screenshot(page, "contacts")

    # The filter form updates the results in place (htmx) and keeps the URL in step.
    page.get_by_label("Test lead", exact=True).select_option("false")
    expect(page.locator("#results-heading")).to_have_text(
        f"Contacts who filled “{test_form}”, not as a test lead"
    )
    expect(page).to_have_url(re.compile(r"test_lead=false"))
    assert listed_emails(page) == everyone - tests


def test_a_contact_page_shows_its_submission_and_where_each_value_came_from(
    stack: BrowserStack, account: ConsoleAccount, page: Page
) -> None:
    (lead_id,) = import_leads(stack, account, tests=1, others=0)
    ((email,),) = stack.query(
        "SELECT c.email FROM contacts c JOIN form_submissions s"
        " ON s.account_id = c.account_id AND s.contact_id = c.id"
        " WHERE c.account_id = %s AND s.lead_id = %s",
        account.id,
        lead_id,
    )
    sign_in(page, account)
    page.goto(f"/console/contacts?form_id={TEST_FORM_ID}")
    page.get_by_role("link", name=email).click()
    expect(page).to_have_url(CONTACT_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(email)

    fields = page.locator("table.fields")
    first_name = fields.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="First name")
    )
    expect(first_name).to_contain_text("LinkedIn")
    expect(first_name).to_contain_text(
        f"Form “{account.forms[TEST_FORM_ID]}”, lead {lead_id}, mapping version"
    )
    expect(first_name).to_contain_text("predefined:FIRST_NAME")
    submissions = page.locator("table.submissions tbody tr")
    expect(submissions).to_have_count(1)
    expect(submissions.first).to_contain_text(account.forms[TEST_FORM_ID])
    expect(submissions.first).to_contain_text(lead_id)
    expect(submissions.first).to_contain_text("Test lead")
    axe_check(page)
    screenshot(page, "contact")


def test_another_accounts_user_sees_none_of_the_contacts_and_gets_404_on_their_urls(
    stack: BrowserStack, make_account: Callable[..., ConsoleAccount], page: Page
) -> None:
    first = make_account("first")
    second = make_account("second")  # the same LinkedIn member, Import off
    import_leads(stack, first, tests=1, others=1)
    emails = contact_emails(stack, first, test_lead=None)
    ((contact_id,),) = stack.query(
        "SELECT id FROM contacts WHERE account_id = %s LIMIT 1", first.id
    )

    # The first account's user saves an audience of them.
    sign_in(page, first)
    page.goto(f"/console/contacts?form_id={TEST_FORM_ID}")
    page.get_by_label("Audience name").fill("First's contacts")
    page.get_by_role("button", name="Save as audience").click()
    expect(page).to_have_url(re.compile(r"/console/audiences/[0-9a-f-]{36}$"))
    audience_url = page.url.removeprefix(stack.console_url)
    sign_out(page)

    sign_in(page, second)
    page.goto("/console/contacts")
    expect(page.locator("#results-count")).to_have_text("0 contacts")
    expect(page.locator("#results")).to_contain_text("No contacts yet")
    body = page.locator("body").inner_text()
    assert not any(email in body for email in emails)
    page.goto("/console/audiences")
    expect(page.locator("main")).not_to_contain_text("First's contacts")
    for url in (f"/console/contacts/{contact_id}", audience_url, f"{audience_url}.csv"):
        if url.endswith(".csv"):
            answer = page.request.get(url)
            assert answer.status == 404, url
            assert not any(email in answer.text() for email in emails)
            continue
        response = page.goto(url)
        assert response is not None
        assert response.status == 404, url
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        assert not any(email in page.locator("body").inner_text() for email in emails)
