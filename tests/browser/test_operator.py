"""The platform operator's page in a real browser: the accounts with their forms and the
leads they imported, an account created (its token shown once, and working), an account
disabled after the confirmation dialog (Cancel changes nothing), and no account's pages for
the operator (403)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.axe import axe_check
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

OPERATOR_URL = re.compile(r"/console/operator(\?.*)?$")


@dataclass(frozen=True)
class Operator:
    email: str
    password: str


@pytest.fixture(scope="module")
def operator(stack: BrowserStack) -> Operator:
    email = f"operator-{uuid.uuid4().hex[:6]}@example.com"
    password = secrets.token_urlsafe(12)
    stack.leadsync("users", "add", "--operator", email, "--password-stdin", stdin=password + "\n")
    return Operator(email, password)


@pytest.fixture
def operator_page(page: Page, operator: Operator) -> Page:
    """Signed in as the operator, who lands on the accounts page."""
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(operator.email)
    page.get_by_label("Password").fill(operator.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(OPERATOR_URL)
    return page


def _row(page: Page, account: str) -> Locator:
    return page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=account, exact=True)
    )


def _api_status(page: Page, token: str) -> int:
    return page.request.get("/api/forms", headers={"Authorization": f"Bearer {token}"}).status


def test_the_operator_sees_each_account_with_its_forms_and_leads(
    operator_page: Page, make_account: Callable[..., ConsoleAccount], stack: BrowserStack
) -> None:
    account = make_account("volume")
    enable_test_form(stack, account)  # its first pull brings other tests' recent leads too
    wait_for_leads(stack, account, create_leads(stack, TEST_FORM_ID, 3))
    ((imported,),) = stack.query(
        "SELECT count(*) FROM imported_leads WHERE account_id = %s AND contact_id IS NOT NULL",
        account.id,
    )
    assert imported >= 3

    page = operator_page
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    cells = _row(page, account.name).get_by_role("cell")
    # Status, created, forms, Import on, leads in 24 h, in 30 days, last import.
    expect(cells.nth(0)).to_contain_text("Active")
    expect(cells.nth(2)).to_have_text(str(len(account.forms)))
    expect(cells.nth(3)).to_have_text("1")
    expect(cells.nth(4)).to_have_text(str(imported))
    expect(cells.nth(5)).to_have_text(str(imported))
    expect(cells.nth(6)).to_contain_text("UTC")
    axe_check(page)


def test_the_operator_creates_an_account_then_disables_it(operator_page: Page) -> None:
    page = operator_page
    name = f"made-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Account name").fill(name)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text(f"Account {name} created.")
    token = page.get_by_label(f"API token of {name}").input_value()
    assert token.startswith("lsk_")
    assert _api_status(page, token) == 200
    expect(_row(page, name)).to_contain_text("Active")
    axe_check(page)
    screenshot(page, "operator")

    # The confirmation: Cancel leaves the account as it is.
    page.get_by_role("button", name=f"Disable {name}").click()
    dialog = page.get_by_role("dialog", name=f"Disable the account {name}?")
    expect(dialog).to_be_visible()
    axe_check(page)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert _api_status(page, token) == 200

    page.get_by_role("button", name=f"Disable {name}").click()
    dialog.get_by_role("button", name="Disable account").click()
    page.wait_for_url(re.compile(rf"/console/operator\?disabled={name}$"))
    expect(page.get_by_role("status")).to_contain_text(f"Account {name} disabled")
    expect(_row(page, name)).to_contain_text("Disabled")
    expect(page.get_by_role("button", name=f"Disable {name}")).to_have_count(0)
    # Shown once: the token is nowhere on the page any more, and it no longer works.
    expect(page.get_by_label(f"API token of {name}")).to_have_count(0)
    assert _api_status(page, token) == 401


@pytest.mark.parametrize("path", ["/console/contacts", "/console/linkedin", "/console/forms"])
def test_the_operator_sees_no_accounts_pages(operator_page: Page, path: str) -> None:
    page = operator_page
    answer = page.goto(path)
    assert answer is not None
    assert answer.status == 403
    expect(
        page.get_by_text("The platform operator manages accounts and sees none of their data.")
    ).to_be_visible()


def test_the_operator_gives_an_account_its_first_admin_a_token_and_enables_it_again(
    operator_page: Page, make_account: Callable[..., ConsoleAccount], stack: BrowserStack
) -> None:
    account = make_account("managed")
    enable_import(stack, account, TEST_FORM_ID)
    wait_for_leads(stack, account, create_leads(stack, TEST_FORM_ID, 2))
    page = operator_page
    page.reload()
    page.get_by_role("link", name=account.name, exact=True).click()
    page.wait_for_url(re.compile(rf"/console/operator/accounts/{account.name}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(account.name)

    # Its forms with their figures, as the account's own API counts them.
    ((imported, updated, errors),) = stack.query(
        "SELECT imported, updated, errors FROM form_counters"
        " WHERE account_id = %s AND form_id = %s",
        account.id,
        TEST_FORM_ID,
    )
    forms = page.locator("#account-forms tbody tr")
    expect(forms).to_have_count(len(account.forms))
    test_form = forms.filter(has=page.get_by_role("rowheader", name=account.forms[TEST_FORM_ID]))
    expect(test_form).to_contain_text("Working")
    expect(test_form.locator('[data-counter="imported"]')).to_have_text(str(imported))
    expect(test_form.locator('[data-counter="updated"]')).to_have_text(str(updated))
    expect(test_form.locator('[data-counter="errors"]')).to_have_text(str(errors))
    assert imported + updated >= 2  # and what the first pull found of other tests' leads
    # Figures, never a lead: no contact's email is on the page.
    emails = [
        e for (e,) in stack.query("SELECT email FROM contacts WHERE account_id = %s", account.id)
    ]
    assert emails
    body = page.locator("body").inner_text()
    assert not any(email in body for email in emails)

    # Its first admin, added here, can sign in.
    expect(page.locator("#account-users")).to_contain_text(account.email)
    email = f"first-admin-{uuid.uuid4().hex[:6]}@example.com"
    password = secrets.token_urlsafe(15)
    page.get_by_role("button", name="Add a user").click()
    dialog = page.get_by_role("dialog", name="Add a user")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Role").select_option(label="Admin")
    dialog.get_by_label("First password").fill("short")
    dialog.get_by_role("button", name="Add the user").click()
    expect(page.get_by_role("dialog", name="Add a user")).to_be_visible()  # open again: refused
    expect(page.get_by_role("dialog", name="Add a user")).to_contain_text("At least")
    dialog = page.get_by_role("dialog", name="Add a user")
    dialog.get_by_label("First password").fill(password)
    dialog.get_by_role("button", name="Add the user").click()
    expect(page.get_by_role("status")).to_contain_text(f"{email} was added.")
    row = page.locator("#account-users tr").filter(has=page.get_by_role("rowheader", name=email))
    expect(row).to_contain_text("Admin")
    ((role, account_id),) = stack.query(
        "SELECT role, account_id FROM console_users WHERE email = %s", email
    )
    assert (role, account_id) == ("admin", account.id)

    # Another API token, shown once, and working beside the first.
    page.get_by_role("button", name="New API token").click()
    token = page.get_by_label(f"API token of {account.name}").input_value()
    assert token.startswith("lsk_")
    assert token != account.token
    assert _api_status(page, token) == 200
    assert _api_status(page, account.token) == 200
    axe_check(page)
    screenshot(page, "operator-account")

    # Disabled from its page, then enabled again: both tokens work again.
    page.get_by_role("button", name=f"Disable {account.name}").click()
    page.get_by_role("dialog", name=f"Disable the account {account.name}?").get_by_role(
        "button", name="Disable account"
    ).click()
    page.wait_for_url(re.compile(rf"/console/operator/accounts/{account.name}\?done=disabled$"))
    expect(page.locator("#account-state")).to_contain_text("Disabled")
    assert _api_status(page, token) == 401
    page.get_by_role("button", name="Enable account").click()
    page.wait_for_url(re.compile(rf"/console/operator/accounts/{account.name}\?done=enabled$"))
    expect(page.get_by_role("status")).to_contain_text(f"Account {account.name} enabled")
    expect(page.locator("#account-state")).to_contain_text("Active")
    assert _api_status(page, token) == 200
    assert _api_status(page, account.token) == 200
    expect(page.get_by_label(f"API token of {account.name}")).to_have_count(0)
    axe_check(page)
