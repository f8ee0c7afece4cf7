"""Every page of an account's user in a real browser, in Italian as an Italian user sees it:
translated (the page's text is not the English one) and with no serious or critical
accessibility violation, the error pages included; and the seed's central interaction, the
manual import's dialog, done from the keyboard alone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.axe import axe_check
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
    create_leads,
    enable_import,
    wait_for_leads,
)

MAX_TABS = 80


def _pages(stack: BrowserStack, account: ConsoleAccount) -> dict[str, int]:
    """Each page of the account's user, with the HTTP status it answers."""
    ((contact_id,),) = stack.query(
        "SELECT id FROM contacts WHERE account_id = %s LIMIT 1", account.id
    )
    return {
        "/console/forms": 200,
        f"/console/forms/{TEST_FORM_ID}": 200,
        f"/console/forms/{TEST_FORM_ID}/mapping": 200,
        f"/console/forms/{TEST_FORM_ID}/errors": 200,
        "/console/contacts": 200,
        f"/console/contacts/{contact_id}": 200,
        "/console/audiences": 200,
        "/console/linkedin": 200,
        "/console/users": 200,
        "/console/no-such-page": 404,
        "/console/users?added=not-a-number": 400,
    }


def _main_text(page: Page, url: str, status: int) -> str:
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == status, url
    return page.locator("main").inner_text()


def test_every_page_reads_in_italian_and_passes_the_accessibility_scan(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    enable_import(stack, account, TEST_FORM_ID)
    leads = create_leads(stack, TEST_FORM_ID, 2, invalidAnswers=False)
    leads += create_leads(stack, TEST_FORM_ID, 1, invalidAnswers=True)
    wait_for_leads(stack, account, leads)
    page = account_page
    pages = _pages(stack, account)
    english = {url: _main_text(page, url, status) for url, status in pages.items()}

    page.get_by_role("link", name="Italiano").click()  # remembered from here on
    for url, status in pages.items():
        italian = _main_text(page, url, status)
        assert page.evaluate("() => document.documentElement.lang") == "it", url
        assert italian != english[url], f"{url} reads the same in Italian as in English"
        axe_check(page)


def test_the_manual_import_dialog_works_from_the_keyboard_alone(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    enable_import(stack, account, TEST_FORM_ID)
    page = account_page
    page.goto(f"/console/forms/{TEST_FORM_ID}")
    opener = page.get_by_role("button", name="Start manual import")
    # Tab through the page until the button has the focus, as a keyboard user does.
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if opener.evaluate("button => button === document.activeElement"):
            break
    else:
        raise AssertionError(f"'Start manual import' not reached in {MAX_TABS} tabs")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Start manual import")
    expect(dialog).to_be_visible()
    # The focus moved into the dialog, on the first option: a Space checks it, and the
    # second option, shown only then, is the next Tab.
    first = dialog.get_by_label("Sync already-imported contacts too")
    second = dialog.get_by_label("Restart workflows for synced contacts")
    expect(first).to_be_focused()
    expect(second).to_be_hidden()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    expect(second).to_be_visible()
    page.keyboard.press("Tab")
    expect(second).to_be_focused()
    page.keyboard.press("Space")
    expect(second).to_be_checked()
    # Escape closes it, starting nothing, and the focus is back on the button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    assert not stack.query(
        "SELECT 1 FROM sync_runs WHERE account_id = %s AND trigger = 'manual'", account.id
    )
