"""What a console user does in the browser on every page: sign in and sign out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.stack import ConsoleAccount

FORMS_URL = re.compile(r"/console/forms/?$")


def sign_in(page: Page, account: ConsoleAccount) -> Page:
    """Sign in as the account's console user through the sign-in page, as a person does;
    the page ends on the forms list."""
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(FORMS_URL)
    return page


def sign_out(page: Page) -> None:
    """The "Sign out" button (every signed-in page has it); ends on the sign-in page."""
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
