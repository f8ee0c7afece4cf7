"""The users page in a real browser: an account's admin adds a colleague through the dialog
(a too-short password first, shown in the dialog), sees them listed, disables them (the
colleague is signed out at once); a member is not shown the page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import axe_check
from tests.browser.conftest import MakeAccount
from tests.browser.pages import sign_in
from tests.browser.shots import screenshot
from tests.browser.stack import ConsoleAccount

USERS_URL = re.compile(r"/console/users(\?.*)?$")


def test_an_admin_adds_a_colleague_who_can_sign_in_then_disables_them(
    account_page: Page, account: ConsoleAccount, browser: Browser, base_url: str
) -> None:
    page = account_page
    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url(USERS_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    me = page.get_by_role("row").filter(has_text=account.email)
    expect(me).to_contain_text("Admin")
    expect(me).to_contain_text("Active")
    axe_check(page)

    colleague = f"colleague-{uuid.uuid4().hex[:6]}@example.com"
    password = "a colleague's long password"
    page.get_by_role("button", name="Add a user").click()
    dialog = page.get_by_role("dialog", name="Add a user")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Email").fill(colleague)
    dialog.get_by_label("Role").select_option(label="Member")
    dialog.get_by_label("First password").fill("too short")
    dialog.get_by_role("button", name="Add the user").click()
    # Refused: the dialog comes back open, with the reason beside the password.
    dialog = page.get_by_role("dialog", name="Add a user")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("A password needs at least 12 characters.")
    expect(dialog.get_by_label("Email")).to_have_value(colleague)
    axe_check(page)
    dialog.get_by_label("First password").fill(password)
    dialog.get_by_role("button", name="Add the user").click()

    expect(page.get_by_role("status")).to_have_text(f"{colleague} was added.")
    row = page.get_by_role("row").filter(has_text=colleague)
    expect(row).to_contain_text("Member")
    screenshot(page, "users")

    # The colleague signs in, in a browser of their own.
    theirs = browser.new_context(base_url=base_url, locale="en-US")
    other = theirs.new_page()
    other.goto("/console/sign-in")
    other.get_by_label("Email").fill(colleague)
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Sign in").click()
    expect(other).to_have_url(re.compile(r"/console/forms/?$"))
    # A member: no Users tab, and the page itself refused.
    expect(other.get_by_role("link", name="Users")).to_have_count(0)
    other.goto("/console/users")
    expect(other.get_by_role("heading", level=1)).to_have_text(
        "Only the account's admins manage its users"
    )

    row.get_by_role("button", name=f"Disable {colleague}").click()
    confirm = page.get_by_role("dialog", name=f"Disable {colleague}?")
    expect(confirm).to_be_visible()
    axe_check(page)
    confirm.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_have_text(f"{colleague} was disabled.")
    expect(page.get_by_role("row").filter(has_text=colleague)).to_contain_text("Disabled")

    # Signed out at once: their next page is the sign-in page.
    other.goto("/console/forms")
    expect(other).to_have_url(re.compile(r"/console/sign-in"))
    theirs.close()


def test_an_admin_cannot_disable_themselves(account_page: Page, account: ConsoleAccount) -> None:
    account_page.goto("/console/users")
    me = account_page.get_by_role("row").filter(has_text=account.email)
    expect(me.get_by_role("button")).to_have_count(0)


def test_a_member_is_not_shown_the_users_page(page: Page, make_account: MakeAccount) -> None:
    member = make_account(role="member", connect=False)
    sign_in(page, member)
    page.goto("/console/users")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Only the account's admins manage its users"
    )
    axe_check(page)
