"""The console in a real browser: Playwright (sync API) driving Debian's chromium against the
whole stack (real Kafka and PostgreSQL, the LinkedIn sandbox, leadsync's processes).

Fixtures (names are stable; the page tests build on them):

- ``stack``: the session's :class:`~tests.browser.stack.BrowserStack` (settings, sandbox,
  worker, scheduler, ingress, admin; ``stack.query(sql, ...)`` reads as the owner).
- ``base_url`` / ``console_url``: the admin process's URL; ``page.goto("/console/...")``
  is relative to it.
- ``make_account(name=None, member=None, role="admin", connect=True)``: a fresh account
  with the sandbox's member (``member``: a person URN, the demo member when None) connected
  (OAuth; none with ``connect=False``), its forms discovered and a console user of ``role``
  (admin or member)
  (:class:`~tests.browser.stack.ConsoleAccount`: name, id, token, email, password, role,
  member_urn, forms {id: name}).
- ``account``: one such account for the test; ``account_page``: pytest-playwright's
  ``page``, signed in as ``account``'s user and on /console/forms.
- The browser: 1280x800, locale en-US (Accept-Language). Another for one test with
  pytest-playwright's marker, e.g. ``@pytest.mark.browser_context_args(locale="it-IT")``
  (``new_context(locale=...)`` would repeat an argument and fail).

Functions to import (not fixtures):

- ``tests.browser.pages``: ``sign_in(page, account)``, ``sign_out(page)``.
- ``tests.browser.axe``: ``axe_check(page)`` fails on serious/critical WCAG 2 A/AA
  violations.
- ``tests.browser.shots``: ``screenshot(page, "name")`` writes docs/screenshots/name.png.
- ``tests.browser.stack``: ``enable_import(stack, account, form_id)``,
  ``create_leads(stack, form_id, count)`` (pushed to the ingress),
  ``wait_for_leads(stack, account, lead_ids)``, ``TEST_FORM_ID``, and
  ``call_in_thread(function, *args)``: a test cannot call ``asyncio.run`` (nor what uses
  it: ``harness.operator``, ``cli.context.with_database``) while Playwright runs; in
  another thread it can. ``stack.leadsync(...)`` runs a command, ``stack.query(sql, ...)``
  reads the database (plain psycopg): both are fine as they are.

Every test here is marked ``browser`` and ``integration``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from leadsync.settings import Settings
from tests.browser.pages import sign_in
from tests.browser.shots import HEIGHT, WIDTH
from tests.browser.stack import BrowserStack, ConsoleAccount, new_account, running_stack
from tests.integration.conftest import settings

CHROMIUM = Path("/usr/bin/chromium")
# expect() waits 5 s by default: short for a page of the whole stack on two busy cores.
expect.set_options(timeout=15_000)
_HERE = Path(__file__).parent

MakeAccount = Callable[..., ConsoleAccount]


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture scope
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this folder's tests, and run them after every other test of the session.

    Why last: Playwright's sync API leaves its event loop marked as running in the main
    thread between calls (playwright.sync_api._context_manager: "Between sync calls the user
    code marks the loop as running"), and pytest-playwright keeps it up for the whole
    session. Any pytest-asyncio test after the first browser test would then fail with
    "Runner.run() cannot be called from a running event loop". So no asyncio test may run
    once it has started, and browser tests themselves are plain sync tests.
    """
    # A conftest's hook sees the whole session's items: only this folder's are touched.
    ours = [item for item in items if _HERE in item.path.parents]
    for item in ours:
        if inspect.iscoroutinefunction(getattr(item, "obj", None)):
            raise pytest.UsageError(
                f"{item.nodeid}: browser tests use Playwright's sync API; write a plain test"
            )
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.integration)
    mine = set(map(id, ours))
    items[:] = [item for item in items if id(item) not in mine] + ours


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium (stack-notes: `playwright install` cannot work here), headless, as
    root (no sandbox), and with the background services off: the machine's closed network
    refuses their connections."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
            " (apt-get install chromium)",
            pytrace=False,
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": browser_type_launch_args.get("headless", True),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A laptop-sized window and an English browser (``new_context(locale="it-IT")`` for an
    Italian one)."""
    return {
        **browser_context_args,
        "viewport": {"width": WIDTH, "height": HEIGHT},
        "locale": "en-US",
    }


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[BrowserStack]:
    with running_stack(settings) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def _stack_before_the_browser(stack: BrowserStack) -> None:
    """The stack starts before Playwright does: its set-up (migrations, the account) runs
    asyncio.run, which fails once Playwright's loop is up (see pytest_collection_modifyitems;
    ``tests.browser.stack.call_in_thread`` is the way around it inside a test)."""


@pytest.fixture(scope="session")
def console_url(stack: BrowserStack) -> str:
    return stack.console_url


@pytest.fixture(scope="session")
def base_url(console_url: str) -> str:
    """pytest-playwright's base URL: relative ``page.goto`` paths go to the admin process."""
    return console_url


@pytest.fixture(scope="session")
def make_account(stack: BrowserStack) -> MakeAccount:
    def make(
        name: str | None = None,
        member: str | None = None,
        role: str = "admin",
        connect: bool = True,
    ) -> ConsoleAccount:
        return new_account(stack, name, member, role, connect)

    return make


@pytest.fixture
def account(make_account: MakeAccount) -> ConsoleAccount:
    return make_account()


@pytest.fixture
def account_page(page: Page, account: ConsoleAccount) -> Page:
    return sign_in(page, account)


__all__ = ["settings"]
