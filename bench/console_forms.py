"""How heavy and how fast the console's forms list is with 500 forms, against the same page
with 10 forms (the baseline), measured in Debian's chromium.

A program, not a test. On loopback, with the local PostgreSQL (Kafka only for the admin
process's producer, which sends nothing here):

1. a throwaway database; two accounts, made as an operator does (``leadsync accounts
   create``, ``leadsync users add``), whose forms are recorded through the functions that
   discovery uses (:func:`sinks.catalog.save_form` behind a LinkedIn connection stored with
   :func:`sinks.connections.save_connection`): ``--forms`` forms in one, ``--baseline-forms``
   in the other, across a few ad accounts, with a mix of statuses: most new (Import off),
   a third with Import on (green), a few behind a revoked connection (red);
2. ``leadsync admin`` as a child process on a free port;
3. for each account, Playwright drives ``/usr/bin/chromium`` (headless, cache disabled
   through the DevTools protocol, so every load is a first visit): sign in, one load to
   warm the server, then ``--loads`` loads of ``/console/forms``. From the Performance API
   (navigation and resource timings): bytes transferred for the document, CSS, JavaScript
   and the rest (page weight), DOMContentLoaded, domInteractive and loadEventEnd (time to
   interactive: the page has no script that works after load); and the server's time to
   the last byte of the document, fetched with the session's cookie by a plain HTTP client.
   The admin serves gzip to browsers that ask (chromium does): the document's decoded size
   says what the compression saved.

Figures are medians over the loads; the machines are noisy, so compare the two rows.

    .venv/bin/python bench/console_forms.py [--forms 500] [--baseline-forms 10] [--loads 5]

PostgreSQL and Kafka are 127.0.0.1:25432 and 127.0.0.1:29092 unless LEADSYNC_DATABASE_URL /
LEADSYNC_KAFKA_BOOTSTRAP_SERVERS say otherwise. Everything it creates (the database, the
admin process, the browser) is removed at the end, also on Ctrl-C; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, sync_playwright
from pydantic import SecretStr

from bench._rounds import Stack, interrupt_on_sigterm
from harness.children import free_port
from harness.operator import migrate, with_app_login
from harness.processes import Admin, leadsync, leadsync_argv, settings_env
from harness.scratch import run_database
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.linkedin import LeadForm
from schemas.tokens import TokenPair
from sinks.accounts import account_by_name
from sinks.catalog import save_ad_account, save_form
from sinks.connections import TokenCipher, mark_connection, save_connection
from sinks.database import Database
from sinks.forms import set_import

CHROMIUM = "/usr/bin/chromium"
AD_ACCOUNTS = 8  # the forms are spread over these
STATES = ("PUBLISHED",) * 8 + ("DRAFT", "ARCHIVED")  # LinkedIn's, in about this mix
FIRST_FORM_ID = 900_000_000


# --- the accounts and their forms ---------------------------------------------------------


@dataclass(frozen=True)
class BenchAccount:
    name: str
    forms: int
    email: str
    password: str


async def _record_forms(db: Database, settings: Settings, name: str, forms: int) -> None:
    """``forms`` forms for the account, as discovery records them, with a mix of statuses."""
    async with db.connection() as conn:
        account_id = (await account_by_name(conn, name)).id
    cipher = TokenCipher(settings)
    year = (datetime.now(UTC) + timedelta(days=365)).timestamp()
    tokens = TokenPair(SecretStr("bench"), year, SecretStr("bench-refresh"), year)
    async with db.account(account_id) as conn:
        active = await save_connection(
            conn, cipher, tokens, f"urn:li:person:{name}-a", None, account_id
        )
        revoked = await save_connection(
            conn, cipher, tokens, f"urn:li:person:{name}-r", None, account_id
        )
        await mark_connection(conn, revoked, "revoked", "the member revoked the app")
        for n in range(AD_ACCOUNTS):
            urn = f"urn:li:sponsoredAccount:{500_000 + n}"
            await save_ad_account(
                conn,
                active,
                urn,
                f"Ad account {n + 1} of {name}",
                "ACCOUNT_MANAGER",
                None,
                False,
                "ACTIVE",
            )
        created = int((datetime.now(UTC) - timedelta(days=30)).timestamp() * 1000)
        for n in range(forms):
            form = LeadForm.model_validate(
                {
                    "id": FIRST_FORM_ID + n,
                    "name": f"Campaign {n + 1:03d}: whitepaper download and demo request",
                    "state": STATES[n % len(STATES)],
                    "created": created,
                    "creationLocale": {"language": "en", "country": "US"},
                }
            )
            owner = f"urn:li:sponsoredAccount:{500_000 + n % AD_ACCOUNTS}"
            behind = revoked if n % 20 == 19 else active  # 5 % red once Import is on
            await save_form(conn, form, owner, behind, "SPONSORED", auto_mappings)
            if n % 3 == 0 or behind == revoked:
                await set_import(conn, form.id, True)


def _make_account(settings: Settings, name: str, forms: int) -> BenchAccount:
    leadsync(settings, "accounts", "create", name)
    email, password = f"{name}@example.com", secrets.token_urlsafe(16)
    added = subprocess.run(  # noqa: S603 - this interpreter running leadsync
        leadsync_argv("users", "add", "--account", name, email, "--password-stdin"),
        env=settings_env(settings),
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if added.returncode != 0:
        raise SystemExit(f"leadsync users add failed:\n{added.stdout}{added.stderr}")

    async def record() -> None:
        async with Database.from_settings(settings, max_size=2) as db:
            await _record_forms(db, settings, name, forms)

    asyncio.run(record())
    return BenchAccount(name, forms, email, password)


# --- the measurements ---------------------------------------------------------------------

_TIMINGS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const kinds = {css: 0, js: 0, other: 0};
  for (const r of performance.getEntriesByType('resource')) {
    const path = new URL(r.name).pathname;
    const kind = path.endsWith('.css') ? 'css' : path.endsWith('.js') ? 'js' : 'other';
    kinds[kind] += r.transferSize;
  }
  return {document: nav.transferSize, decoded: nav.decodedBodySize, ...kinds,
          server: nav.responseEnd - nav.requestStart,
          dcl: nav.domContentLoadedEventEnd, interactive: nav.domInteractive,
          load: nav.loadEventEnd, nodes: document.getElementsByTagName('*').length,
          rows: document.querySelectorAll('table.forms tbody tr').length};
}"""


@dataclass
class Figures:
    forms: int
    document: float  # bytes transferred, headers included
    css: float
    js: float
    other: float
    dcl_ms: float
    interactive_ms: float
    load_ms: float
    browser_server_ms: float  # requestStart to responseEnd, as the browser saw it
    server_ms: float  # time to the last byte, plain HTTP client
    html: float  # the document's HTML as the browser decoded it
    nodes: int

    @property
    def total(self) -> float:
        return self.document + self.css + self.js + self.other


def _measure(browser: Browser, base: str, account: BenchAccount, loads: int) -> Figures:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto("/console/sign-in")
        page.get_by_label("Email").fill(account.email)
        page.get_by_label("Password").fill(account.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/forms")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        samples: list[dict[str, Any]] = []
        for n in range(loads + 1):  # the first warms the server (templates, pools)
            page.goto("/console/forms", wait_until="load")
            page.wait_for_function(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0"
            )
            sample: dict[str, Any] = page.evaluate(_TIMINGS)
            if sample["rows"] != account.forms:
                raise SystemExit(f"{account.name}: {sample['rows']} rows, not {account.forms}")
            if n:
                samples.append(sample)
        cookies = {c["name"]: c["value"] for c in context.cookies()}
    finally:
        context.close()
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        client.get("/console/forms").raise_for_status()
        server: list[float] = []
        for _ in range(loads):
            started = time.perf_counter()
            response = client.get("/console/forms")
            response.raise_for_status()
            server.append((time.perf_counter() - started) * 1000)

    def median(key: str) -> float:
        return statistics.median(float(s[key]) for s in samples)

    return Figures(
        forms=account.forms,
        document=median("document"),
        css=median("css"),
        js=median("js"),
        other=median("other"),
        dcl_ms=median("dcl"),
        interactive_ms=median("interactive"),
        load_ms=median("load"),
        browser_server_ms=median("server"),
        server_ms=statistics.median(server),
        html=median("decoded"),
        nodes=int(median("nodes")),
    )


def _kb(size: float) -> str:
    return f"{size / 1024:,.1f} kB"


def _print(rows: list[Figures]) -> None:
    print(
        f"{'forms':>5}  {'document':>10}  {'css':>8}  {'js':>8}  {'other':>8}  {'total':>10}"
        f"  {'doc HTML':>9}  {'DOM nodes':>9}  {'server':>8}  {'DOMContentLoaded':>16}"
        f"  {'interactive':>11}  {'load':>8}"
    )
    for f in rows:
        print(
            f"{f.forms:>5}  {_kb(f.document):>10}  {_kb(f.css):>8}  {_kb(f.js):>8}"
            f"  {_kb(f.other):>8}  {_kb(f.total):>10}  {_kb(f.html):>9}  {f.nodes:>9,}"
            f"  {f.server_ms:>6.0f}ms  {f.dcl_ms:>14.0f}ms  {f.interactive_ms:>9.0f}ms"
            f"  {f.load_ms:>6.0f}ms"
        )
    base, big = rows[0], rows[-1]
    print(
        f"{big.forms} forms / {base.forms} forms: page weight x{big.total / base.total:.1f},"
        f" server x{big.server_ms / base.server_ms:.1f},"
        f" load x{big.load_ms / base.load_ms:.1f}"
        f" (the browser saw the document served in {big.browser_server_ms:.0f} ms"
        f" vs {base.browser_server_ms:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=500)
    parser.add_argument("--baseline-forms", type=int, default=10)
    parser.add_argument("--loads", type=int, default=5, help="measured loads per page")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    interrupt_on_sigterm()
    stack = Stack("bench-console")
    with run_database(stack.admin_url) as database_url:
        settings = stack.settings("forms", database_url, admin_port=free_port())
        migrate(settings)
        settings = with_app_login(settings)  # the admin process runs as production's role
        token = stack.token
        accounts = [
            _make_account(settings, f"bench-{token}-{n}", n)
            for n in (args.baseline_forms, args.forms)
        ]
        with Admin(settings) as admin, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                print(
                    f"/console/forms in chromium {browser.version} (headless, cache off),"
                    f" python {sys.version.split()[0]}, {multiprocessing.cpu_count()} CPUs,"
                    f" loopback; medians of {args.loads} loads after one warm-up;"
                    " page weight = bytes transferred (headers included, compressed as served);"
                    " doc HTML = the document decoded"
                )
                _print([_measure(browser, admin.url, a, args.loads) for a in accounts])
            finally:
                browser.close()


if __name__ == "__main__":
    main()
