"""The exactness checks a user would make after a fault: rows in the database, events on a topic."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from leadsync.settings import Settings
from schemas.events import ContactEventType
from tests.faults.dataset import Expected
from tests.integration.topics import read_topic

CREATED = ContactEventType.CREATED.value
UPDATED = ContactEventType.UPDATED.value
_BATCH_LINE = re.compile(r"imported batch: (\d+) records, (\d+) new leads")


@dataclass(frozen=True)
class Outcome:
    """Figures for the test's report (not asserted: they depend on timing)."""

    contacts: int
    outbox_rows: int
    events_on_topic: int  # including re-publications of the same event id
    records_processed: int  # from the worker log: replays after a crash count again


def imported_count(settings: Settings, account: int, forms: list[int]) -> int:
    """Leads of these forms in the ledger, read from the server directly (not a proxy)."""
    with psycopg.connect(settings.database_conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM imported_leads WHERE account_id = %s AND form_id = ANY(%s)",
            (account, forms),
        ).fetchone()
    assert row is not None
    return int(row[0])


def assert_imported_exactly_once(settings: Settings, expected: Expected, log: Path) -> Outcome:
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        ledger = _ledger(conn, expected)
        contacts = _contacts(conn, expected)
        _check_submissions(conn, expected, contacts)
        for lead_id, (contact_id, _) in ledger.items():
            assert contact_id == contacts[expected.email_of_lead[lead_id]][0], lead_id
        outbox = _check_outbox(conn, expected, contacts, ledger)
        _check_errors(conn, expected)
    published = _published_event_ids(settings, expected.account, {c for c, _ in contacts.values()})
    outbox_ids = {event_id for event_id, *_ in outbox}
    missing = outbox_ids - set(published)
    unknown = set(published) - outbox_ids
    assert not missing, f"{len(missing)} outbox events never reached the topic"
    assert not unknown, f"{len(unknown)} events on the topic have no outbox row"
    log_text = log.read_text(errors="replace")
    # An exception escaping an agent's loop loses its batch (stack-notes): none may crash.
    assert "Crashed reason" not in log_text, "an agent crashed: see " + str(log)
    processed = sum(int(m[1]) for m in _BATCH_LINE.finditer(log_text))
    return Outcome(len(contacts), len(outbox), sum(published.values()), processed)


def _ledger(
    conn: psycopg.Connection[Any], expected: Expected
) -> dict[str, tuple[uuid.UUID, datetime]]:
    rows = conn.execute(
        "SELECT lead_id, contact_id, imported_at FROM imported_leads"
        " WHERE account_id = %s AND form_id = ANY(%s) AND erased_at IS NULL",
        (expected.account, expected.forms),
    ).fetchall()
    ledger = {lead_id: (contact_id, at) for lead_id, contact_id, at in rows}
    assert len(ledger) == len(rows)
    lost = expected.lead_ids - set(ledger)
    extra = set(ledger) - expected.lead_ids
    assert not lost, f"imported_leads: {len(lost)} leads lost, e.g. {sorted(lost)[:3]}"
    assert not extra, f"imported_leads: {len(extra)} unexpected, e.g. {sorted(extra)[:3]}"
    return ledger


def _contacts(
    conn: psycopg.Connection[Any], expected: Expected
) -> dict[str, tuple[uuid.UUID, str]]:
    rows = conn.execute(
        "SELECT email, id, first_name FROM contacts WHERE account_id = %s AND email = ANY(%s)",
        (expected.account, list(expected.first_names)),
    ).fetchall()
    by_email = Counter(email for email, _, _ in rows)
    doubled = [email for email, n in by_email.items() if n > 1]
    assert not doubled, f"{len(doubled)} people have more than one contact: {doubled[:3]}"
    contacts = {email: (contact_id, name) for email, contact_id, name in rows}
    missing = set(expected.first_names) - set(contacts)
    assert not missing, f"{len(missing)} people have no contact: {sorted(missing)[:3]}"
    wrong = {e: n for e, (_, n) in contacts.items() if n != expected.first_names[e]}
    assert not wrong, f"{len(wrong)} contacts do not hold their newest lead: {list(wrong)[:3]}"
    return contacts


def _check_submissions(
    conn: psycopg.Connection[Any],
    expected: Expected,
    contacts: dict[str, tuple[uuid.UUID, str]],
) -> None:
    rows = conn.execute(
        "SELECT c.email, s.form_id, s.lead_id FROM form_submissions s"
        " JOIN contacts c ON c.account_id = s.account_id AND c.id = s.contact_id"
        " WHERE s.account_id = %s AND s.form_id = ANY(%s)",
        (expected.account, expected.forms),
    ).fetchall()
    per_key = Counter((email, form_id) for email, form_id, _ in rows)
    doubled = [key for key, n in per_key.items() if n > 1]
    assert not doubled, f"{len(doubled)} (person, form) pairs have several rows: {doubled[:3]}"
    found = {(email, form_id): lead_id for email, form_id, lead_id in rows}
    assert len(found) == len(expected.submissions), (
        f"{len(found)} submission rows, expected {len(expected.submissions)}"
    )
    wrong = [key for key, lead_id in expected.submissions.items() if found.get(key) != lead_id]
    assert not wrong, f"{len(wrong)} submissions missing or not the newest: {wrong[:3]}"


def _check_outbox(
    conn: psycopg.Connection[Any],
    expected: Expected,
    contacts: dict[str, tuple[uuid.UUID, str]],
    ledger: dict[str, tuple[uuid.UUID, datetime]],
) -> list[tuple[str, uuid.UUID, str, int, bool]]:
    """One row per committed change; the counters agree with the rows.

    A person's first committed lead creates the contact (one ``created`` row). The second
    form of a two-form person is a change only when it was committed in a later transaction
    than the first and is the newer lead (an older lead changes nothing). A replayed lead
    must add no row: the ledger lets it through once.
    """
    rows: list[tuple[str, uuid.UUID, str, int, bool]] = conn.execute(
        "SELECT event_id::text, contact_id, event_type,"
        "       (payload -> 'data' -> 'submission' ->> 'form_id')::bigint,"
        "       published_at IS NOT NULL"
        " FROM outbox WHERE contact_id = ANY(%s) ORDER BY id",
        ([contact_id for contact_id, _ in contacts.values()],),
    ).fetchall()
    unpublished = sum(1 for *_, published in rows if not published)
    assert unpublished == 0, f"{unpublished} outbox rows never marked published"
    types: dict[uuid.UUID, list[str]] = defaultdict(list)
    for _, contact_id, event_type, _, _ in rows:
        types[contact_id].append(event_type)
    wrong = []
    for email, (contact_id, _) in contacts.items():
        want = [CREATED]
        if email in expected.two_forms:
            older, newer = expected.two_forms[email]
            if ledger[newer][1] > ledger[older][1]:  # committed later, and it is the newer lead
                want.append(UPDATED)
        if types[contact_id] != want:
            wrong.append((email, types[contact_id], want))
    assert not wrong, f"{len(wrong)} contacts with wrong outbox rows, e.g. {wrong[:3]}"

    counted: Counter[tuple[int, str]] = Counter((form, kind) for _, _, kind, form, _ in rows)
    counters = conn.execute(
        "SELECT form_id, imported, updated, errors, skipped FROM form_counters"
        " WHERE account_id = %s AND form_id = ANY(%s)",
        (expected.account, expected.forms),
    ).fetchall()
    want_counters = sorted(
        (f, counted[(f, CREATED)], counted[(f, UPDATED)], 0, 0) for f in expected.forms
    )
    assert sorted(counters) == want_counters, "form counters disagree with the outbox"
    assert sum(counted[(f, CREATED)] for f in expected.forms) == len(contacts)
    return rows


def _check_errors(conn: psycopg.Connection[Any], expected: Expected) -> None:
    # The accounts' logs and the operator's (errors of no account).
    for table in ("error_log", "pipeline_errors"):
        internal = conn.execute(
            f"SELECT count(*) FROM {table} WHERE code = 'internal_error'"
        ).fetchone()
        assert internal == (0,), f"{internal} internal_error lines in {table}"
        ours = conn.execute(
            f"SELECT code, count(*) FROM {table} WHERE form_id = ANY(%s) OR lead_id = ANY(%s)"
            " GROUP BY code",
            (expected.forms, list(expected.lead_ids)),
        ).fetchall()
        assert ours == [], f"{table} has lines for the data set: {ours}"


def _published_event_ids(
    settings: Settings, account: int, contact_ids: set[uuid.UUID]
) -> Counter[str]:
    """How many times each event id of these contacts (of ``account``) is on the
    contact-changes topic; each carries its account, in its key and its attribute."""
    wanted = {str(c) for c in contact_ids}
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.contact_changes)
    seen: Counter[str] = Counter()
    for key, value in records:
        event = json.loads(value)
        if event.get("subject") in wanted:
            assert (key, event["leadsyncaccount"]) == (
                f"{account}:{event['subject']}".encode(),
                account,
            ), event["id"]
            seen[event["id"]] += 1
    return seen
