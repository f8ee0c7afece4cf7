"""The LinkedIn connection page in a real browser: a new account's user clicks "Connect
LinkedIn", confirms the account on the start page, LinkedIn (the sandbox) approves, and the
browser comes back to the page, which shows the member, the ad accounts found (the member's
role on each in words), the organization by the name LinkedIn gave and a year's countdown;
as the end nears the countdown turns to days and hours with a warning, and once ended the
page is red and "Reconnect LinkedIn" starts a new year."""

from __future__ import annotations

import re
import secrets
import uuid

from playwright.sync_api import Page, expect

from admin.console.linkedin_pages import AD_ACCOUNT_ROLES
from tests.browser.axe import axe_check
from tests.browser.pages import sign_in
from tests.browser.shots import screenshot
from tests.browser.stack import BrowserStack, ConsoleAccount

LINKEDIN_URL = re.compile(r"/console/linkedin(\?connected=\d+)?$")
A_YEAR_LEFT = re.compile(r"^36[45] days left$")


def _unconnected_account(stack: BrowserStack) -> ConsoleAccount:
    """A new account with a console user and no LinkedIn member yet."""
    name = f"unlinked-{uuid.uuid4().hex[:6]}"
    created = stack.leadsync("accounts", "create", name)
    token = created.rsplit("API token (shown once, keep it now):", 1)[1].split()[0]
    email, password = f"{name}@example.com", secrets.token_urlsafe(12)
    stack.leadsync(
        *("users", "add", "--account", name, email, "--role", "admin", "--password-stdin"),
        stdin=password + "\n",
    )
    ((account_id,),) = stack.query("SELECT id FROM accounts WHERE name = %s", name)
    return ConsoleAccount(
        name=name,
        id=int(account_id),
        token=token,
        email=email,
        password=password,
        role="admin",
        member_urn="",
    )


def _connect_through_linkedin(page: Page, account: str, button: str) -> None:
    """Press ``button``, confirm the account on the start page; the sandbox approves at once
    and LinkedIn's callback brings the browser back to the connection page."""
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Connect your LinkedIn member to the account {account}"
    )
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(LINKEDIN_URL)
    expect(page.get_by_role("status")).to_contain_text("is connected")


def test_a_new_account_connects_linkedin_from_the_console_through_the_sandbox(
    page: Page, stack: BrowserStack
) -> None:
    account = _unconnected_account(stack)
    sign_in(page, account)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="LinkedIn").click()
    expect(page.get_by_role("heading", name="No LinkedIn member connected yet")).to_be_visible()
    axe_check(page)

    _connect_through_linkedin(page, account.name, "Connect LinkedIn")

    ((member_name, member_urn),) = stack.query(
        "SELECT member_name, member_urn FROM linkedin_connections WHERE account_id = %s",
        account.id,
    )
    ad_accounts = stack.query(
        "SELECT a.name, a.urn, a.role FROM ad_accounts a JOIN linkedin_connections c"
        " ON c.account_id = a.account_id AND c.id = a.connection_id WHERE a.account_id = %s",
        account.id,
    )
    assert len(ad_accounts) >= 2
    expect(page.get_by_role("status")).to_contain_text(f"LinkedIn member {member_name}")
    card = page.locator("section.card", has=page.get_by_role("heading", name=member_name))
    expect(card.get_by_role("img", name="Connected")).to_be_visible()
    expect(card.locator("dd").filter(has_text=member_urn)).to_be_visible()
    expect(card.locator(".countdown")).to_have_text(A_YEAR_LEFT)
    table = card.get_by_role("table", name=f"Ad accounts found for {member_name}")
    for name, urn, role in ad_accounts:
        row = table.get_by_role("row").filter(has_text=str(name))
        expect(row).to_contain_text(str(urn).rsplit(":", 1)[-1])
        # The role as Campaign Manager names it, not LinkedIn's constant.
        expect(row).to_contain_text(AD_ACCOUNT_ROLES[str(role)])
        expect(row).not_to_contain_text(str(role))
    # The organization by the name LinkedIn (the sandbox) has for it, its id beside it.
    organization = stack.sandbox.state.catalog.organization
    organizations = card.get_by_role(
        "table", name=f"Organizations whose forms {member_name} can read"
    )
    expect(organizations.locator("tbody tr")).to_have_count(1)
    expect(organizations.locator("tbody td")).to_have_text(
        [organization.name, str(organization.id)]
    )
    expect(organizations).not_to_contain_text(organization.urn)
    expect(page.get_by_role("alert")).to_have_count(0)
    axe_check(page)
    screenshot(page, "linkedin")


def test_the_countdown_warns_in_days_and_hours_and_an_ended_connection_is_reconnected(
    account_page: Page, account: ConsoleAccount, stack: BrowserStack
) -> None:
    page = account_page
    stack.query(
        "UPDATE linkedin_connections SET refresh_expires_at"
        " = now() + interval '6 days 5 hours 30 minutes' WHERE account_id = %s",
        account.id,
    )
    page.goto("/console/linkedin")
    card = page.locator("section.card").first
    expect(card.locator(".countdown")).to_have_text("6 days and 5 hours left")
    expect(card.get_by_role("img", name="Ends soon")).to_be_visible()
    expect(card.locator(".notice.warning")).to_contain_text(
        "ends in 6 days and 5 hours. Reconnect before"
    )
    expect(page.locator(".page-header").get_by_role("button", name="Reconnect")).to_have_class(
        re.compile(r"\bprimary\b")
    )
    axe_check(page)

    stack.query(
        "UPDATE linkedin_connections SET refresh_expires_at = now() - interval '1 hour'"
        " WHERE account_id = %s",
        account.id,
    )
    page.reload()
    expect(card.locator(".countdown")).to_have_text("Ended")
    expect(card.get_by_role("img", name="Expired")).to_be_visible()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("No lead comes in through an ended connection.")
    axe_check(page)

    _connect_through_linkedin(page, account.name, "Reconnect LinkedIn")
    # Connecting again gives the member's connection a new year.
    expect(card.locator(".countdown")).to_have_text(A_YEAR_LEFT)
    expect(card.get_by_role("img", name="Connected")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
