"""The form page, category "Sync", in a real browser on the whole stack with the LinkedIn
sandbox: the Import switch saved, the manual-import dialog's option rule (the second option
only while the first is checked), and a manual import followed live to its end, the page's
final figures those of the database, the run in the history."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.axe import axe_check
from tests.browser.shots import screenshot
from tests.browser.stack import TEST_FORM_ID, BrowserStack, ConsoleAccount, create_leads

SYNC_URL = f"/console/forms/{TEST_FORM_ID}"
# A run's import may take a while on a busy machine: the puller, then the worker.
RUN_TIMEOUT_MS = 150_000


def _form_settings(stack: BrowserStack, account: ConsoleAccount) -> tuple[object, ...]:
    ((row),) = stack.query(
        "SELECT import_enabled, periodic_sync, sync_interval_hours FROM forms"
        " WHERE account_id = %s AND id = %s",
        account.id,
        TEST_FORM_ID,
    )
    return tuple(row)


def _run_figures(stack: BrowserStack, account: ConsoleAccount) -> tuple[str, dict[str, int]]:
    """The account's one manual run of the form: its id and figures, from the database."""
    ((run_id, pages, leads),) = stack.query(
        "SELECT id, pages, leads_published FROM sync_runs"
        " WHERE account_id = %s AND form_id = %s AND trigger = 'manual'",
        account.id,
        TEST_FORM_ID,
    )
    ((imported, updated, errors),) = stack.query(
        "SELECT"
        " (SELECT count(*) FROM outbox WHERE account_id = %s"
        "   AND payload -> 'data' ->> 'sync_run_id' = %s"
        "   AND event_type = 'com.leadsync.contact.created'),"
        " (SELECT count(*) FROM outbox WHERE account_id = %s"
        "   AND payload -> 'data' ->> 'sync_run_id' = %s"
        "   AND event_type = 'com.leadsync.contact.updated'),"
        " (SELECT count(*) FROM error_log WHERE account_id = %s AND sync_run_id = %s)",
        account.id,
        str(run_id),
        account.id,
        str(run_id),
        account.id,
        run_id,
    )
    figures = {
        "pages": pages,
        "leads": leads,
        "imported": imported,
        "updated": updated,
        "errors": errors,
    }
    return str(run_id), {name: int(value) for name, value in figures.items()}


def test_the_import_switch_is_saved_and_the_dialogs_second_option_follows_the_first(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    page = account_page
    page.goto(SYNC_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(account.forms[TEST_FORM_ID])
    expect(page.get_by_role("link", name="Sync", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    switch = page.get_by_role("switch", name="Import")
    expect(switch).not_to_be_checked()  # as discovery leaves a new form
    expect(page.get_by_role("button", name="Start manual import")).to_be_disabled()
    expect(page.locator("#sync-status")).to_contain_text("Import off")

    # Import on, periodic sync every 12 hours: saved, and the page says so.
    switch.check()
    page.get_by_label("Interval (hours)").fill("12")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Sync settings saved.")).to_be_visible()
    expect(page.get_by_role("switch", name="Import")).to_be_checked()
    assert _form_settings(stack, account) == (True, True, 12)
    expect(page.locator("#sync-status")).not_to_contain_text("Import off")
    axe_check(page)
    screenshot(page, "form-sync")

    # The dialog: the second option shows only while the first is checked.
    page.get_by_role("button", name="Start manual import").click()
    dialog = page.get_by_role("dialog", name="Start manual import")
    expect(dialog).to_be_visible()
    first = dialog.get_by_label("Sync already-imported contacts too")
    second = dialog.get_by_label("Restart workflows for synced contacts")
    third = dialog.get_by_label("Sync all submissions of the form")
    expect(first).not_to_be_checked()
    expect(second).to_be_hidden()
    expect(third).to_be_visible()
    expect(dialog).to_contain_text("resets this form's counters")
    first.check()
    expect(second).to_be_visible()
    second.check()
    first.uncheck()
    expect(second).to_be_hidden()
    first.check()
    expect(second).to_be_visible()
    axe_check(page)
    screenshot(page, "manual-import-dialog")

    # Cancel closes it and starts nothing.
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    manual = "SELECT 1 FROM sync_runs WHERE account_id = %s AND trigger = 'manual'"
    assert stack.query(manual, account.id) == []
    axe_check(page)

    # In Italian, the seed's own words.
    page.get_by_role("link", name="Italiano").click()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_role("switch", name="Importazione")).to_be_checked()
    page.get_by_role("button", name="Avvia importazione manuale").click()
    dialog = page.get_by_role("dialog", name="Avvia importazione manuale")
    expect(dialog.get_by_label("Sincronizza anche i contatti già esistenti")).to_be_visible()
    expect(dialog.get_by_label("Riavvia i workflow per i contatti sincronizzati")).to_be_hidden()
    expect(dialog.get_by_label("Sincronizza tutte le compilazioni del modulo")).to_be_visible()
    axe_check(page)


def test_a_manual_import_is_followed_live_to_its_end_with_the_figures_of_the_database(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    page = account_page
    # Leads left while Import is off are skipped; the manual import of all submissions
    # brings them (and every other lead of the form on LinkedIn) in.
    create_leads(stack, TEST_FORM_ID, 4)
    # Their pushes dealt with first, so that none lands once Import is on.
    stack.worker.wait_caught_up(stack.settings.topics.notifications)
    stack.worker.settle()
    page.goto(SYNC_URL)
    page.get_by_role("switch", name="Import").check()
    # No periodic sync: the scheduler would start a run at once (none has run yet), and a
    # form has one run at a time.
    page.get_by_label("Periodic sync").uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Sync settings saved.")).to_be_visible()

    page.get_by_role("button", name="Start manual import").click()
    dialog = page.get_by_role("dialog", name="Start manual import")
    dialog.get_by_label("Sync all submissions of the form").check()
    dialog.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Manual import started")).to_be_visible()
    card = page.locator("#latest-run")
    expect(card).to_be_visible()
    expect(card.get_by_role("heading")).to_have_text("Latest manual import")
    # No reload from here on: what changes comes by htmx's polling of the run. The card
    # shown first is of a run not ended yet (the scheduler has not even read the request
    # from Kafka when the page comes back), so "done" below can only come by the polling.
    page.evaluate("() => { window.followedWithoutReload = true; }")
    url = page.url
    first_phase = card.get_attribute("data-phase")
    assert first_phase in {"queued", "running", "importing"}, first_phase

    expect(card).to_have_attribute("data-phase", "done", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("() => window.followedWithoutReload === true")
    assert page.url == url
    expect(card).to_contain_text("Succeeded")
    run_id, figures = _run_figures(stack, account)
    assert figures["leads"] >= 4, figures
    assert figures["imported"] + figures["updated"] + figures["errors"] > 0, figures
    for name, value in figures.items():
        expect(card.locator(f'[data-figure="{name}"]')).to_have_text(re.compile(rf"^{value}\b"))
    # The counters (reset when the run started) and the history, brought up to date.
    ((imported, updated),) = stack.query(
        "SELECT imported, updated FROM form_counters WHERE account_id = %s AND form_id = %s",
        account.id,
        TEST_FORM_ID,
    )
    counters = page.locator("#sync-counters")
    expect(counters.locator('[data-counter="imported"]')).to_have_text(str(imported))
    expect(counters.locator('[data-counter="updated"]')).to_have_text(str(updated))
    row = page.locator(f'#run-history tr[data-run="{run_id}"]')
    expect(row).to_contain_text("Manual import")
    expect(row).to_contain_text("all submissions")
    expect(row).to_contain_text("Succeeded")
    for name in ("imported", "updated", "errors"):
        expect(row.locator(f'[data-figure="{name}"]')).to_have_text(str(figures[name]))
    expect(page.get_by_role("button", name="Start manual import")).to_be_enabled()
    # The reconciliation counts what the pulls found on LinkedIn.
    ((on_linkedin,),) = stack.query(
        "SELECT count(*) FROM lead_sightings WHERE account_id = %s AND form_id = %s"
        " AND pulls > 0 AND day >= (now() AT TIME ZONE 'UTC')::date - 29",
        account.id,
        TEST_FORM_ID,
    )
    assert on_linkedin >= 4
    expect(page.locator('#reconciliation [data-figure="on_linkedin"]')).to_have_text(
        str(on_linkedin)
    )
    axe_check(page)
    screenshot(page, "manual-import-done")

    # Without JavaScript's help, a reload shows the same.
    page.reload()
    expect(card).to_have_attribute("data-phase", "done")
    expect(card.locator('[data-figure="imported"]')).to_have_text(str(figures["imported"]))
