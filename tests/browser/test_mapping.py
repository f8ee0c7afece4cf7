"""The field mapping page in a real browser, on the whole stack with the LinkedIn sandbox.

- The issue's scenario "a wrong mapping fixed and re-imported, the contacts then right". A
  question is mapped to the wrong field in the page, leads come in and the contacts are
  wrong; the mapping is fixed in the page (examples of the answers beside it, a preview
  before saving), the form is imported again with "Sync already-imported contacts too", and
  the contacts are right, in the database and on the contact's page.
- A new form mapped before its first import: Import is off, its leads are at LinkedIn only,
  and the page shows their answers and what the mapping would write for them, read from
  LinkedIn; its consent and its hidden field mapped (to a new contact field, to an existing
  one), Import switched on, and the next leads' contacts hold those values."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Locator, Page, expect

from admin.console import contacts_pages, form_pages, routes
from sandbox.leads import LeadRecord
from tests.browser.axe import axe_check
from tests.browser.shots import screenshot
from tests.browser.stack import (
    TEST_FORM_ID,
    BrowserStack,
    ConsoleAccount,
    create_leads,
    enable_import,
    wait_for_leads,
)

NAME_SELECT = "Contact field for “Nome”"  # the Test Form's FIRST_NAME question, in Italian
COLOUR_SELECT = "Contact field for “Colore preferito”"
EMAIL_SELECT = "Contact field for “Indirizzo email”"
CONSENT_SELECT = "Contact field for “Acconsento a ricevere email”"  # its consent 0
HIDDEN_SELECT = "Contact field for “utm_source”"  # its hidden field, "linkedin" on the form


def _contacts(stack: BrowserStack, account: ConsoleAccount, lead_ids: list[str]) -> list[Any]:
    """(contact id, first name, job title, the first name the lead answered) per lead."""
    return stack.query(
        "SELECT c.id, c.first_name, c.job_title,"
        "       (SELECT a->>'value' FROM jsonb_array_elements(s.answers) a"
        "        WHERE a->>'predefinedField' = 'FIRST_NAME')"
        " FROM form_submissions s"
        " JOIN contacts c ON c.account_id = s.account_id AND c.id = s.contact_id"
        " WHERE s.account_id = %s AND s.lead_id = ANY(%s) ORDER BY s.lead_id",
        account.id,
        lead_ids,
    )


def _field_value(page: Page, label: str) -> Locator:
    """The value cell of a field on the contact's page (``table.fields``)."""
    row = page.locator("table.fields tr", has=page.get_by_role("rowheader", name=label, exact=True))
    return row.locator("td").first


def _wait_for_run(stack: BrowserStack, account: ConsoleAccount, since: int) -> None:
    """Until the form's manual runs after the ``since``-th have all ended (succeeded)."""
    deadline = time.monotonic() + 120
    while True:
        runs = stack.query(
            "SELECT status FROM sync_runs WHERE account_id = %s AND form_id = %s"
            " AND trigger = 'manual' ORDER BY requested_at",
            account.id,
            TEST_FORM_ID,
        )[since:]
        if runs and all(status in ("succeeded", "failed") for (status,) in runs):
            assert [status for (status,) in runs] == ["succeeded"] * len(runs), runs
            return
        stack.check_running()
        assert time.monotonic() < deadline, f"the manual import did not end: {runs}"
        time.sleep(0.5)


def test_a_wrong_mapping_fixed_in_the_page_and_reimported_makes_the_contacts_right(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    page = account_page
    enable_import(stack, account, TEST_FORM_ID)
    mapping_url = f"/console/forms/{TEST_FORM_ID}/mapping"

    # The wrong mapping: the first name ("Nome") into Job title.
    page.goto(mapping_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(account.forms[TEST_FORM_ID])
    expect(page.get_by_role("link", name="Field mapping")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label(NAME_SELECT)).to_have_value("first_name")  # pre-mapped
    page.get_by_label(NAME_SELECT).select_option("job_title")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator("#saved")).to_contain_text("Mapping saved")

    leads = create_leads(stack, TEST_FORM_ID, 3)
    wait_for_leads(stack, account, leads)
    wrong = _contacts(stack, account, leads)
    assert len(wrong) == 3, wrong
    for _id, first_name, job_title, answered in wrong:
        assert answered
        assert (first_name, job_title) == (None, answered)
    contact_id, _, _, first_answer = wrong[0]
    pages_served = routes.ROUTERS
    if contacts_pages.router in pages_served:
        page.goto(f"/console/contacts/{contact_id}")
        expect(_field_value(page, "Job title")).to_have_text(first_answer)
        expect(_field_value(page, "First name")).to_have_count(0)

    # Fixing it: the answers show beside the question, and the preview before saving.
    page.goto(mapping_url)
    name_row = page.locator("tr", has=page.get_by_label(NAME_SELECT))
    for _id, _first, _job, name in wrong:
        expect(name_row.locator("td.examples")).to_contain_text(name)
    expect(page.get_by_label(NAME_SELECT)).to_have_value("job_title")
    page.get_by_label(NAME_SELECT).select_option("first_name")
    # Without the identity the set is refused with the API's message, the edits kept.
    page.get_by_label(EMAIL_SELECT).select_option("")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "nothing is mapped to the identity field 'email'"
    )
    expect(page.get_by_label(NAME_SELECT)).to_have_value("first_name")
    axe_check(page)
    page.goto(mapping_url)  # start again, from the saved set
    page.get_by_label(NAME_SELECT).select_option("first_name")
    # The colour question into a field that does not exist yet: its inputs appear.
    new_name = page.locator("tr", has=page.get_by_label(COLOUR_SELECT)).get_by_label(
        "New field's name"
    )
    expect(new_name).to_be_hidden()
    page.get_by_label(COLOUR_SELECT).select_option("__new__")
    expect(new_name).to_be_visible()
    new_name.fill("Colore preferito")
    page.locator("tr", has=page.get_by_label(COLOUR_SELECT)).get_by_label("Type").select_option(
        "single_choice"
    )
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview table")
    expect(preview).to_be_visible()
    for _id, _first, _job, name in wrong:
        lead_rows = preview.locator("tbody", has_text=name)
        expect(lead_rows.locator("tr", has_text="First name")).to_contain_text(name)
        expect(lead_rows).not_to_contain_text("Job title")
        expect(lead_rows.locator("tr", has_text="Colore preferito")).to_have_count(1)
    assert "/preview" not in page.url  # htmx swapped the preview in; nothing saved
    assert _contacts(stack, account, leads) == wrong
    axe_check(page)
    screenshot(page, "mapping-preview")

    page.get_by_role("button", name="Save mapping").click()
    saved = page.locator("#saved")
    expect(saved).to_contain_text("Mapping saved")
    expect(saved).to_contain_text("Sync already-imported contacts too")
    expect(page.get_by_label(NAME_SELECT)).to_have_value("first_name")
    expect(page.get_by_label(COLOUR_SELECT)).to_have_value("colore_preferito")
    axe_check(page)
    screenshot(page, "field-mapping")

    # Import again with option 1, from the form's Sync page the notice links to.
    runs_before = len(
        stack.query(
            "SELECT 1 FROM sync_runs WHERE account_id = %s AND form_id = %s AND trigger = 'manual'",
            account.id,
            TEST_FORM_ID,
        )
    )
    if form_pages.router in pages_served:
        saved.get_by_role("link").click()
        page.get_by_role("button", name="Start manual import").click()
        page.get_by_label("Sync already-imported contacts too").check()
        page.get_by_label("Sync all submissions of the form").check()
        page.get_by_role("button", name="Start", exact=True).click()
    else:  # the form page is not served yet: the same request through the API
        answer = page.request.post(
            f"/api/forms/{TEST_FORM_ID}/imports",
            headers={"Authorization": f"Bearer {account.token}"},
            data={"reimport_existing": True, "all_submissions": True},
        )
        assert answer.ok, answer.text()
    _wait_for_run(stack, account, runs_before)
    stack.worker.settle()

    right = _contacts(stack, account, leads)
    for _id, first_name, job_title, answered in right:
        assert (first_name, job_title) == (answered, None)
    if contacts_pages.router in pages_served:
        page.goto(f"/console/contacts/{contact_id}")
        expect(_field_value(page, "First name")).to_have_text(first_answer)
        expect(_field_value(page, "Job title")).to_have_count(0)


def _sandbox_lead(stack: BrowserStack, lead_id: str) -> tuple[LeadRecord, str, bool]:
    """The lead as the sandbox keeps it, its first name and whether it accepted consent 0."""
    lead = stack.sandbox.state.store.get(lead_id)
    assert lead is not None, lead_id
    form = stack.sandbox.state.catalog.versions[lead.form_urn].to_json()
    first_name_q = next(
        q["questionId"]
        for q in form["content"]["questions"]
        if q.get("predefinedField") == "FIRST_NAME"
    )
    name = next(
        a["answerDetails"]["textQuestionAnswer"]["answer"]
        for a in lead.answers
        if a["questionId"] == first_name_q
    )
    accepted = next(c["accepted"] for c in lead.consents if c["consentId"] == 0)
    return lead, name, bool(accepted)


def test_a_new_forms_leads_at_linkedin_show_in_the_page_and_its_consent_and_hidden_field_map(
    stack: BrowserStack, account: ConsoleAccount, account_page: Page
) -> None:
    page = account_page
    mapping_url = f"/console/forms/{TEST_FORM_ID}/mapping"
    # A new form: Import off, as discovery leaves it. People fill it; their pushes are
    # recorded as skipped, nothing is imported.
    early = create_leads(stack, TEST_FORM_ID, 3, invalidAnswers=False)
    stack.worker.wait_caught_up(stack.settings.topics.notifications)
    stack.worker.settle()
    assert stack.query(
        "SELECT count(*) FROM form_submissions WHERE account_id = %s", account.id
    ) == [(0,)]

    # The page shows their answers, read from LinkedIn, and says so.
    page.goto(mapping_url)
    notice = page.locator("#leads-source")
    expect(notice).to_contain_text("From LinkedIn: leads not imported yet.")
    name_examples = page.locator("tr", has=page.get_by_label(NAME_SELECT)).locator("td.examples")
    for lead_id in early:
        _lead, name, _accepted = _sandbox_lead(stack, lead_id)
        expect(name_examples).to_contain_text(name)
    consent_row = page.locator("tr", has=page.get_by_label(CONSENT_SELECT))
    expect(consent_row.locator("td.examples")).to_contain_text(re.compile("Accepted|Refused"))
    hidden_row = page.locator("tr", has=page.get_by_label(HIDDEN_SELECT))
    expect(hidden_row.locator("td.examples")).to_contain_text("linkedin")

    # The consent into a new yes/no field, the hidden field into an existing one (Industry).
    new_name = consent_row.get_by_label("New field's name")
    page.get_by_label(CONSENT_SELECT).select_option("__new__")
    expect(new_name).to_be_visible()
    new_name.fill("Consenso email")
    expect(consent_row.get_by_label("Type")).to_have_value("boolean")  # a consent's default
    page.get_by_label(HIDDEN_SELECT).select_option("industry")

    # The preview: what each of those leads would write, none of them imported.
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview table")
    expect(preview).to_be_visible()
    for lead_id in early:
        _lead, name, accepted = _sandbox_lead(stack, lead_id)
        rows = preview.locator(f'tbody[data-lead="{lead_id}"]')
        expect(rows).to_contain_text("Not imported yet")
        expect(rows.locator("tr", has_text="First name")).to_contain_text(name)
        expect(rows.locator("tr", has_text="Consenso email")).to_contain_text(
            "Yes" if accepted else "No"
        )
        expect(rows.locator("tr", has_text="Industry")).to_contain_text("linkedin")
    axe_check(page)
    screenshot(page, "field-mapping-new-form")

    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator("#saved")).to_contain_text("Mapping saved")
    expect(page.get_by_label(CONSENT_SELECT)).to_have_value("consenso_email")
    expect(page.get_by_label(HIDDEN_SELECT)).to_have_value("industry")
    assert stack.query(
        "SELECT label, type, standard FROM contact_fields WHERE account_id = %s"
        " AND key = 'consenso_email'",
        account.id,
    ) == [("Consenso email", "boolean", False)]
    # Nothing of the leads read from LinkedIn was stored.
    assert stack.query("SELECT count(*) FROM contacts WHERE account_id = %s", account.id) == [(0,)]

    # Import on, on the form's Sync page; LinkedIn pushes the next leads.
    page.goto(f"/console/forms/{TEST_FORM_ID}")
    page.get_by_role("switch", name="Import").check()
    page.get_by_label("Periodic sync").uncheck()  # no pull meanwhile: the pushes import
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Sync settings saved.")).to_be_visible()
    stack.leadsync("subscribe", "--account", account.name)
    later = create_leads(stack, TEST_FORM_ID, 3, invalidAnswers=False)
    wait_for_leads(stack, account, later)

    imported = stack.query(
        "SELECT s.lead_id, c.first_name, c.custom_fields->'consenso_email', c.industry"
        " FROM form_submissions s"
        " JOIN contacts c ON c.account_id = s.account_id AND c.id = s.contact_id"
        " WHERE s.account_id = %s AND s.lead_id = ANY(%s) ORDER BY s.lead_id",
        account.id,
        later,
    )
    assert len(imported) == 3, imported
    for lead_id, first_name, consent, industry in imported:
        _lead, name, accepted = _sandbox_lead(stack, lead_id)
        assert (first_name, consent, industry) == (name, accepted, "linkedin")
    # The leads left while Import was off stay out until a manual import brings them.
    assert stack.query(
        "SELECT count(*) FROM form_submissions WHERE account_id = %s AND lead_id = ANY(%s)",
        account.id,
        early,
    ) == [(0,)]
