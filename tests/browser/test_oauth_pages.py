"""LinkedIn's authorization pages in a real browser, looking and speaking like the console:
the start page naming the account, then LinkedIn (the sandbox) approving or the member
declining there, and the callback's answer: connected, declined, or the same answer loaded
again (a replayed state). In English and in Italian, each page accessible (axe) and
photographed, and each way back to the console working: to the LinkedIn page for a signed-in
user of the account, to the console's first page (sign-in) for anyone else."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import axe_check
from tests.browser.shots import screenshot
from tests.browser.stack import BrowserStack, ConsoleAccount

MakeAccount = Callable[..., ConsoleAccount]
CALLBACK = re.compile(r"/oauth/linkedin/callback\?")
LINKEDIN_PAGE = re.compile(r"/console/linkedin$")
FORMS_PAGE = re.compile(r"/console/forms/?$")


@dataclass(frozen=True)
class Words:
    """What the pages say in one language (the catalogs' texts)."""

    lang: str
    sign_in: str
    connect: str
    start: str  # the start page's heading, {account} filled
    go_on: str  # its Continue
    declined: str
    replayed: str
    back: str
    not_connected: str  # the console's LinkedIn page of an account without a member


ENGLISH = Words(
    lang="en",
    sign_in="Sign in",
    connect="Connect LinkedIn",
    start="Connect your LinkedIn member to the account {account}",
    go_on="Continue",
    declined="LinkedIn access was not approved",
    replayed="This connection link was already used",
    back="Back to the LinkedIn page",
    not_connected="No LinkedIn member connected yet",
)
ITALIAN = Words(
    lang="it",
    sign_in="Accedi",
    connect="Connetti LinkedIn",
    start="Collega il tuo membro LinkedIn all'account {account}",
    go_on="Continua",
    declined="L'accesso a LinkedIn non è stato autorizzato",
    replayed="Questo link di connessione è già stato usato",
    back="Torna alla pagina LinkedIn",
    not_connected="Nessun membro LinkedIn ancora connesso",
)


@contextmanager
def member_declines(stack: BrowserStack) -> Iterator[None]:
    """The sandbox's authorization page answers as a member who cancels, as LinkedIn does
    (``?error=user_cancelled_authorize``); it approves again afterwards."""
    control = stack.sandbox.control
    control.patch("/config", json={"member_denies_consent": True}).raise_for_status()
    try:
        yield
    finally:
        control.patch("/config", json={"member_denies_consent": False}).raise_for_status()


def _sign_in(page: Page, account: ConsoleAccount, words: Words) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name=words.sign_in).click()
    page.wait_for_url(FORMS_PAGE)


def _declined_then_replayed(
    page: Page, stack: BrowserStack, make_account: MakeAccount, words: Words, suffix: str
) -> None:
    """A signed-in user connects from the console, the member declines at LinkedIn, and the
    answer is loaded again: each page in ``words``' language, and back to the console."""
    account = make_account(connect=False)
    _sign_in(page, account, words)
    page.goto("/console/linkedin")
    page.get_by_role("button", name=words.connect).click()

    h1 = page.get_by_role("heading", level=1)
    expect(h1).to_have_text(words.start.format(account=account.name))
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    axe_check(page)
    screenshot(page, f"oauth-start{suffix}")

    with member_declines(stack), page.expect_response(CALLBACK) as answered:
        page.get_by_role("button", name=words.go_on).click()
    assert answered.value.status == 400
    expect(h1).to_have_text(words.declined)
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    axe_check(page)
    screenshot(page, f"oauth-declined{suffix}")
    assert stack.query(
        "SELECT count(*) FROM linkedin_connections WHERE account_id = %s", account.id
    ) == [(0,)]

    replayed = page.reload()  # the same state again: spent
    assert replayed is not None
    assert replayed.status == 400
    expect(h1).to_have_text(words.replayed)
    axe_check(page)
    screenshot(page, f"oauth-replayed{suffix}")

    page.get_by_role("link", name=words.back).click()
    page.wait_for_url(LINKEDIN_PAGE)
    expect(page.get_by_role("heading", name=words.not_connected)).to_be_visible()


def test_a_member_who_declines_at_linkedin_is_told_so_and_sent_back_to_the_console(
    page: Page, stack: BrowserStack, make_account: MakeAccount
) -> None:
    _declined_then_replayed(page, stack, make_account, ENGLISH, "")


@pytest.mark.browser_context_args(locale="it-IT")
def test_the_same_pages_in_italian(
    page: Page, stack: BrowserStack, make_account: MakeAccount
) -> None:
    _declined_then_replayed(page, stack, make_account, ITALIAN, "-it")


def test_a_member_sent_the_link_connects_without_the_console_and_finds_the_way_to_it(
    page: Page, stack: BrowserStack, make_account: MakeAccount
) -> None:
    account = make_account(connect=False)
    made = httpx.post(
        f"{stack.console_url}/api/linkedin/authorization",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=60,
    )
    assert made.status_code == 201, made.text
    page.goto(made.json()["url"])
    h1 = page.get_by_role("heading", level=1)
    expect(h1).to_have_text(ENGLISH.start.format(account=account.name))
    # The language switch: the same page (the same link) in Italian, and back.
    languages = page.get_by_role("navigation", name="Language")
    languages.get_by_role("link", name="Italiano").click()
    expect(h1).to_have_text(ITALIAN.start.format(account=account.name))
    page.get_by_role("navigation", name="Lingua").get_by_role("link", name="English").click()
    expect(h1).to_have_text(ENGLISH.start.format(account=account.name))

    with page.expect_response(CALLBACK) as answered:
        page.get_by_role("button", name="Continue").click()
    assert answered.value.status == 200
    expect(h1).to_have_text("leadsync is connected to LinkedIn")
    expect(page.get_by_text(f"is now connected to the account {account.name}.")).to_be_visible()
    axe_check(page)
    screenshot(page, "oauth-connected")
    ((connections,),) = stack.query(
        "SELECT count(*) FROM linkedin_connections WHERE account_id = %s", account.id
    )
    assert connections == 1

    # Not signed in to the console: its LinkedIn page asks to sign in first, then opens.
    page.get_by_role("link", name="Go to the console's LinkedIn page").click()
    page.wait_for_url(re.compile(r"/console/sign-in\?next=/console/linkedin$"))
    # The back button loads the callback again: its state is spent.
    replayed = page.go_back()
    assert replayed is not None
    assert replayed.status == 400
    expect(h1).to_have_text(ENGLISH.replayed)
    page.get_by_role("link", name="Go to the console").click()
    page.wait_for_url(re.compile(r"/console/sign-in$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to leadsync")
