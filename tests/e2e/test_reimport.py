"""A manual import that repairs a wrong mapping, and one that takes every submission again,
through the puller: the LinkedIn sandbox, the scheduler (which runs the pulls) and the
worker, for the account the operator acts for (issue #13)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from cli.context import with_database
from harness.operator import account_id_of, start_manual_import
from harness.processes import Scheduler, Worker, leadsync
from harness.sandboxes import Sandbox
from leadsync.settings import Settings
from sandbox.leads import LeadRecord
from sandbox.questions import question_id
from schemas.envelopes import SyncOptions
from schemas.mappings import FieldMapping, SourceKind
from sinks.database import Database
from sinks.mappings_store import lock_form, replace_mappings
from tests.e2e.conftest import query
from tests.integration.produce import envelope, lead_for, publish_raw
from tests.integration.topics import read_topic

# The reference form: its version 2 (the last 40 days) asks for the company, not the job
# title (questions at positions 1-5: first name, last name, email, company, phone).
TEST_FORM = 7234246
DEMO_FORM_NAME = "Demande de démo"  # version 3 (the last 30 days): company, city, country

Mapping = tuple[SourceKind, str, str]
EMAIL: Mapping = ("predefined", "EMAIL", "email")
FIRST: Mapping = ("predefined", "FIRST_NAME", "first_name")
LAST: Mapping = ("predefined", "LAST_NAME", "last_name")
PHONE: Mapping = ("predefined", "PHONE_NUMBER", "phone")


@pytest.fixture(scope="module")
def connected(stack_settings: Settings, sandbox: Sandbox) -> None:
    """LinkedIn connected and its forms discovered; every lead the sandbox makes from now on
    is valid and of a new person, so each contact is one lead's values."""
    out = leadsync(stack_settings, "linkedin", "connect")
    assert "tokens stored encrypted" in out, out
    generation = {"invalid_answer_rate": 0, "duplicate_person_rate": 0, "test_lead_rate": 0}
    sandbox.control.patch("/config", json={"generation": generation}).raise_for_status()


@pytest.fixture(scope="module")
def scheduler(stack_settings: Settings, connected: None) -> Iterator[Scheduler]:
    with Scheduler(stack_settings) as running:
        yield running


def _save_mappings(settings: Settings, form_id: int, *mappings: Mapping) -> None:
    """PUT /api/forms/{id}/mappings, as the admin API does it: the form locked, the whole
    set replaced, in the settings' account."""
    account_id = account_id_of(settings)

    async def save(db: Database) -> None:
        async with db.account(account_id) as conn, conn.transaction():
            assert await lock_form(conn, form_id)
            await replace_mappings(conn, form_id, [FieldMapping(*m) for m in mappings])

    with_database(settings, save)


def _switch_on(settings: Settings, form_id: int) -> None:
    """Import on; synced just now, so that the scheduler starts no run of its own."""
    leadsync(settings, "forms", "import", str(form_id), "on")
    query(settings, "UPDATE forms SET last_synced_at = now() WHERE id = %s", form_id)


def _import(
    settings: Settings, worker: Worker, scheduler: Scheduler, form_id: int, options: SyncOptions
) -> UUID:
    """A manual import with these options, followed to its end and its leads imported."""
    run = start_manual_import(settings, form_id, options, "test_reimport")
    deadline = time.monotonic() + 120
    while True:
        rows = query(settings, "SELECT status, error FROM sync_runs WHERE id = %s", run)
        if rows and rows[0][0] in ("succeeded", "failed"):
            assert rows[0] == ("succeeded", None), (rows, scheduler.log_tail())
            break
        assert time.monotonic() < deadline, f"run {run} did not end: {scheduler.log_tail()}"
        time.sleep(0.3)
    worker.settle()
    return run


def _answers(lead: LeadRecord, form_id: int, positions: dict[int, str]) -> dict[str, str | None]:
    """The lead's text answers, by the field name given for each question position."""
    texts = {
        a["questionId"]: a["answerDetails"]["textQuestionAnswer"]["answer"]
        for a in lead.answers
        if "textQuestionAnswer" in a["answerDetails"]
    }
    return {name: texts.get(question_id(p, form_id)) for p, name in positions.items()}


def _preload(sandbox: Sandbox, form_id: int, count: int, spread_days: float) -> list[LeadRecord]:
    """``count`` new leads of the form over the last ``spread_days``, none pushed."""
    before = set(sandbox.state.store.by_id)
    sandbox.control.post(
        "/leads/preload", json={"count": count, "spreadDays": spread_days, "formId": form_id}
    ).raise_for_status()
    leads = [lead for lead in sandbox.state.store.all() if lead.id not in before]
    assert {int(lead.form_urn.split(":")[-1].split(",")[0]) for lead in leads} == {form_id}
    assert len(leads) == count
    return leads


def _contacts(settings: Settings, columns: str, emails: list[str]) -> dict[str, tuple[Any, ...]]:
    rows = query(settings, f"SELECT email, {columns} FROM contacts WHERE email = ANY(%s)", emails)
    return {row[0]: tuple(row[1:]) for row in rows}


def _events(settings: Settings) -> list[dict[str, Any]]:
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.contact_changes)
    return [json.loads(value) for _, value in records]


def _events_since(
    settings: Settings, seen: list[dict[str, Any]], ids: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """The events on the topic that ``seen`` did not hold, by the email of their contact."""
    old = {event["id"] for event in seen}
    by_contact = {contact_id: email for email, contact_id in ids.items()}
    new: dict[str, list[dict[str, Any]]] = {email: [] for email in ids}
    for event in _events(settings):
        if event["id"] not in old and event["subject"] in by_contact:
            new[by_contact[event["subject"]]].append(event)
    return new


def _changes(event: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The event's changes but the import date, which every import moves."""
    return [
        (c["field"], c["before"], c["after"])
        for c in event["data"]["changes"]
        if c["field"] != "linkedin_import_date"
    ]


def _reason(run: UUID, form_id: int) -> str:
    return (
        f"synced again by manual import {run} (sync existing contacts)"
        f" with form {form_id}'s current mapping"
    )


def test_a_fixed_mapping_reimported_moves_the_company_out_of_the_job_title(
    stack_settings: Settings, sandbox: Sandbox, worker: Worker, scheduler: Scheduler
) -> None:
    settings = stack_settings
    _switch_on(settings, TEST_FORM)
    # Mapped wrongly: the company question into the job title.
    wrong: Mapping = ("predefined", "COMPANY_NAME", "job_title")
    _save_mappings(settings, TEST_FORM, EMAIL, FIRST, LAST, wrong, PHONE)
    # Leads of the last quarter of an hour (version 2), not pushed: the pull brings them.
    leads = _preload(sandbox, TEST_FORM, 8, 0.01)
    answers = {
        a["email"].strip().lower(): a
        for a in (_answers(lead, TEST_FORM, {3: "email", 4: "company"}) for lead in leads)
        if a["email"]
    }
    emails = sorted(answers)
    assert len(emails) == 8
    with_company = [e for e in emails if answers[e]["company"]]
    assert len(with_company) >= 2, "the company is optional: most leads answer it"

    _import(settings, worker, scheduler, TEST_FORM, SyncOptions())
    assert _contacts(settings, "company, job_title", emails) == {
        e: (None, answers[e]["company"]) for e in emails
    }
    ids = {e: str(c[0]) for e, c in _contacts(settings, "id", emails).items()}
    # Since then another system set one person's job title.
    kept = with_company[0]
    query(settings, "UPDATE contacts SET job_title = 'Head of Sales' WHERE email = %s", kept)
    seen = _events(settings)

    # The mapping is fixed and the form imported again with "sync existing contacts too".
    right: Mapping = ("predefined", "COMPANY_NAME", "company")
    _save_mappings(settings, TEST_FORM, EMAIL, FIRST, LAST, right, PHONE)
    run = _import(settings, worker, scheduler, TEST_FORM, SyncOptions(reimport_existing=True))

    expected: dict[str, tuple[str | None, str | None]] = {
        e: (answers[e]["company"], None) for e in emails
    }
    expected[kept] = (answers[kept]["company"], "Head of Sales")
    assert _contacts(settings, "company, job_title", emails) == expected
    # Every re-synced contact has exactly one event, with its changes listed.
    events = _events_since(settings, seen, ids)
    assert {e: len(events[e]) for e in emails} == {e: 1 for e in emails}
    for email in emails:
        (event,) = events[email]
        data = event["data"]
        assert (data["cause"], data["sync_run_id"], data["restart_workflows"]) == (
            "manual", str(run), False,
        )  # fmt: skip
        assert data["reason"] == _reason(run, TEST_FORM)
        company = answers[email]["company"]
        if email == kept:
            assert _changes(event) == [("company", None, company)]
        elif company:
            assert _changes(event) == [("company", None, company), ("job_title", company, None)]
        else:
            assert _changes(event) == []  # nothing to move: re-synced all the same


def test_every_submission_of_the_form_overwrites_the_contacts_that_had_filled_it(
    stack_settings: Settings, sandbox: Sandbox, worker: Worker, scheduler: Scheduler
) -> None:
    settings = stack_settings
    ((form_id,),) = query(settings, "SELECT id FROM forms WHERE name = %s", DEMO_FORM_NAME)
    _switch_on(settings, form_id)
    # Leads of the last 20 days: older than the form's last run, so only "every submission"
    # (option 3) reaches them.
    leads = _preload(sandbox, form_id, 10, 20)
    positions = {1: "first_name", 2: "last_name", 3: "email", 4: "company", 6: "city"}
    answers = {
        a["email"].strip().lower(): a
        for a in (_answers(lead, form_id, positions) for lead in leads)
        if a["email"]
    }
    emails = sorted(answers)
    assert len(emails) == 10
    columns = "first_name, last_name, company, city"
    expected = {e: tuple(answers[e][c] for c in columns.split(", ")) for e in emails}

    first = _import(settings, worker, scheduler, form_id, SyncOptions(all_submissions=True))
    assert _contacts(settings, columns, emails) == expected
    ledger = "SELECT count(*) FROM imported_leads WHERE sync_run_id = %s"
    assert query(settings, ledger, first) == [(10,)]
    ids = {e: str(c[0]) for e, c in _contacts(settings, "id", emails).items()}
    # One of them filled another form since: that contact's data is newer than any of this
    # form's submissions.
    _switch_on(settings, TEST_FORM)
    newer = lead_for(
        "newer-elsewhere", emails[0], form_id=TEST_FORM, first_name="Newer",
        submitted_at=int(time.time() * 1000),
    )  # fmt: skip
    publish_raw(settings, envelope(newer))
    worker.settle()
    assert _contacts(settings, "first_name", emails[:1]) == {emails[0]: ("Newer",)}
    # Another system edits every one of them.
    query(
        settings,
        "UPDATE contacts SET first_name = 'Edited', company = 'Edited Inc' WHERE email = ANY(%s)",
        emails,
    )
    edited = {e: ("Edited", values[1], "Edited Inc", values[3]) for e, values in expected.items()}

    # Every submission, without option 1: the leads are already imported, nothing is applied.
    again = _import(settings, worker, scheduler, form_id, SyncOptions(all_submissions=True))
    assert query(settings, ledger, again) == [(0,)]
    assert _contacts(settings, columns, emails) == edited
    seen = _events(settings)

    # Options 1 + 3: every submission again, overwriting the values of those who filled it,
    # even where newer data came since (the fields this form maps are its to set again).
    options = SyncOptions(reimport_existing=True, all_submissions=True)
    run = _import(settings, worker, scheduler, form_id, options)
    assert query(settings, ledger, run) == [(10,)]
    assert _contacts(settings, columns, emails) == expected
    events = _events_since(settings, seen, ids)
    assert {e: len(events[e]) for e in emails} == {e: 1 for e in emails}
    for email in emails:
        (event,) = events[email]
        assert event["data"]["reason"] == _reason(run, form_id)
        assert event["data"]["sync_run_id"] == str(run)
        assert _changes(event) == [
            ("company", "Edited Inc", answers[email]["company"]),
            ("first_name", "Edited", answers[email]["first_name"]),
        ]
