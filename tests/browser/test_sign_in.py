"""Signing in to the console and out again, in a real browser: in English and Italian, with a
wrong password, and what protects a session (the CSRF token on every state change, an
HttpOnly SameSite cookie)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from admin.console.i18n import translate
from tests.browser.axe import axe_check
from tests.browser.pages import sign_out
from tests.browser.shots import screenshot
from tests.browser.stack import ConsoleAccount

SIGN_IN_URL = re.compile(r"/console/sign-in")
USERS_URL = re.compile(r"/console/users$")
SESSION_COOKIE = "leadsync_session"


def italian(text: str) -> str:
    """The Italian of an English text, from the console's catalog (it must have one)."""
    translated = translate("it", text)
    assert translated != text, f"no Italian for {text!r} in admin/console/locales/it"
    return translated


def session_cookie(context: BrowserContext) -> dict[str, object] | None:
    found = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    return dict(found[0]) if found else None


def test_the_sign_in_page_asks_for_email_and_password_and_passes_the_accessibility_scan(
    page: Page,
) -> None:
    page.goto("/console/sign-in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    axe_check(page)
    screenshot(page, "sign-in")


@pytest.mark.browser_context_args(locale="it-IT")
def test_an_italian_browser_gets_the_page_in_italian_and_the_switch_changes_language(
    page: Page,
) -> None:
    assert page.evaluate("() => navigator.language") == "it-IT"
    page.goto("/console/sign-in")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_role("button", name=italian("Sign in"))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(italian("Sign in to leadsync"))
    expect(page.get_by_label(translate("it", "Password"), exact=True)).to_be_visible()
    axe_check(page)

    # The switch: English, remembered on the next visit whatever the browser says.
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto("/console/sign-in")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Italiano").click()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_role("button", name=italian("Sign in"))).to_be_visible()


def test_a_wrong_password_is_refused_with_a_message_and_no_session(
    page: Page, account: ConsoleAccount
) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password + "-wrong")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(SIGN_IN_URL)
    expect(page.get_by_role("alert")).to_have_text("The email or the password is not right.")
    # What was typed stays (the email), what was wrong does not (the password).
    expect(page.get_by_label("Email")).to_have_value(account.email)
    expect(page.get_by_label("Password")).to_have_value("")
    assert session_cookie(page.context) is None
    page.goto("/console/users")
    expect(page).to_have_url(SIGN_IN_URL)


def test_a_user_signs_in_where_they_were_going_sees_their_account_and_signs_out(
    page: Page, account: ConsoleAccount
) -> None:
    # A page asked for before signing in is where the sign-in leads back to.
    page.goto("/console/users")
    expect(page).to_have_url(SIGN_IN_URL)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(USERS_URL)
    expect(page.get_by_role("banner")).to_contain_text(account.email)
    expect(page.get_by_role("banner")).to_contain_text(account.name)

    sign_out(page)
    assert session_cookie(page.context) is None
    # Signed out for good: the console's pages send the browser to the sign-in page.
    page.goto("/console/users")
    expect(page).to_have_url(SIGN_IN_URL)


def test_the_session_cookie_is_http_only_and_same_site(account_page: Page) -> None:
    cookie = session_cookie(account_page.context)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    # The whole site: LinkedIn's callback (/oauth/linkedin/callback) reads it too.
    assert cookie["path"] == "/"
    # No script of the page can read it.
    assert SESSION_COOKIE not in account_page.evaluate("() => document.cookie")


def test_a_state_change_without_the_csrf_token_is_refused(account_page: Page) -> None:
    request = account_page.request  # the browser's cookies, so the session's too
    without = request.post("/console/sign-out", form={}, max_redirects=0)
    assert without.status == 403, without.text()
    forged = request.post(
        "/console/sign-out", form={"csrf_token": "not-the-token"}, max_redirects=0
    )
    assert forged.status == 403, forged.text()
    wrong_header = request.post(
        "/console/sign-out", headers={"X-CSRF-Token": "not-the-token"}, max_redirects=0
    )
    assert wrong_header.status == 403, wrong_header.text()

    # Still signed in: none of them signed the user out.
    account_page.goto("/console/users")
    expect(account_page).to_have_url(USERS_URL)
    assert session_cookie(account_page.context) is not None
