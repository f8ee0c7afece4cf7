"""Writes one batch of mapped leads: contacts, form submissions, the ledger and counters.

Guarantee: every statement is an idempotent multi-row upsert and the caller runs them all
in one transaction, so a batch replayed after a crash (at-least-once delivery from Kafka)
changes nothing the first run already committed. An older lead never overwrites the values
of a newer one: contacts and submissions are guarded on ``submitted_at``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

# Standard contact fields that are columns of "contacts"; any other field key is custom.
STANDARD_COLUMNS = (
    "work_email",
    "first_name",
    "last_name",
    "phone",
    "work_phone",
    "company",
    "company_size",
    "job_title",
    "job_function",
    "seniority",
    "industry",
    "gender",
    "country",
    "state",
    "city",
    "postal_code",
    "linkedin_profile_url",
)


@dataclass
class ContactRow:
    email: str
    submitted_at: datetime
    fields: dict[str, Any]


@dataclass
class SubmissionRow:
    email: str
    form_id: int
    lead_id: str
    form_name: str
    form_version: int
    owner_urn: str | None
    owner_name: str | None
    campaign_urn: str | None
    campaign_name: str | None
    creative_urn: str | None
    creative_name: str | None
    lead_type: str
    test_lead: bool
    submitted_at: datetime
    answers: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    hidden_fields: list[dict[str, Any]]
    raw_lead: dict[str, Any]
    origin: str
    sync_run_id: UUID | None


@dataclass
class ErrorRow:
    form_id: int | None
    lead_id: str | None
    stage: str
    code: str
    message: str
    field: str | None
    origin: str | None
    sync_run_id: UUID | None
    raw_ref: dict[str, Any] | None


@dataclass
class BatchWrite:
    contacts: list[ContactRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    skipped: Counter[int] = field(default_factory=Counter)


@dataclass
class BatchOutcome:
    created: dict[str, UUID] = field(default_factory=dict)
    updated: dict[str, UUID] = field(default_factory=dict)
    contact_ids: dict[str, UUID] = field(default_factory=dict)


def _records(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=str)


_CONTACT_COLUMNS = ", ".join(STANDARD_COLUMNS)
_CONTACT_TYPES = ", ".join(f"{c} text" for c in STANDARD_COLUMNS)
_CONTACT_SET = ",\n".join(f"  {c} = coalesce(excluded.{c}, c.{c})" for c in STANDARD_COLUMNS)

UPSERT_CONTACTS = f"""
INSERT INTO contacts AS c (email, {_CONTACT_COLUMNS}, custom_fields, linkedin_imported,
                           linkedin_import_date, linkedin_submitted_at, sources)
SELECT x.email, {", ".join("x." + c for c in STANDARD_COLUMNS)}, coalesce(x.custom_fields, '{{}}'),
       true, now(), x.submitted_at, ARRAY['linkedin']
FROM jsonb_to_recordset(%s::jsonb)
     AS x(email text, {_CONTACT_TYPES}, custom_fields jsonb, submitted_at timestamptz)
ON CONFLICT (email) DO UPDATE SET
{_CONTACT_SET},
  custom_fields = c.custom_fields || excluded.custom_fields,
  linkedin_imported = true,
  linkedin_import_date = now(),
  linkedin_submitted_at = excluded.linkedin_submitted_at,
  sources = ARRAY(SELECT DISTINCT unnest(c.sources || excluded.sources) ORDER BY 1),
  updated_at = now()
WHERE c.linkedin_submitted_at IS NULL OR excluded.linkedin_submitted_at >= c.linkedin_submitted_at
RETURNING c.id, c.email, (xmax = 0) AS created
"""

_SUBMISSION_COLUMNS = (
    "form_id bigint, lead_id text, form_name text, form_version int, owner_urn text,"
    " owner_name text, campaign_urn text, campaign_name text, creative_urn text,"
    " creative_name text, lead_type text, test_lead boolean, submitted_at timestamptz,"
    " answers jsonb, consents jsonb, hidden_fields jsonb, raw_lead jsonb"
)
_SUBMISSION_NAMES = [c.split()[0] for c in _SUBMISSION_COLUMNS.split(",")]

UPSERT_SUBMISSIONS = f"""
INSERT INTO form_submissions AS s (contact_id, {", ".join(_SUBMISSION_NAMES)})
SELECT x.contact_id, {", ".join("x." + c for c in _SUBMISSION_NAMES)}
FROM jsonb_to_recordset(%s::jsonb) AS x(contact_id uuid, {_SUBMISSION_COLUMNS})
ON CONFLICT (contact_id, form_id) DO UPDATE SET
{", ".join(f"{c} = excluded.{c}" for c in _SUBMISSION_NAMES if c != "form_id")},
  updated_at = now()
WHERE excluded.submitted_at >= s.submitted_at
"""

RECORD_LEDGER = """
INSERT INTO imported_leads (lead_id, form_id, contact_id, submitted_at, origin, sync_run_id)
SELECT x.lead_id, x.form_id, x.contact_id, x.submitted_at, x.origin, x.sync_run_id
FROM jsonb_to_recordset(%s::jsonb) AS x(lead_id text, form_id bigint, contact_id uuid,
                                       submitted_at timestamptz, origin text, sync_run_id uuid)
ON CONFLICT (lead_id) DO UPDATE SET contact_id = excluded.contact_id, imported_at = now(),
  origin = excluded.origin, sync_run_id = excluded.sync_run_id
"""

RECORD_ERRORS = """
INSERT INTO error_log (form_id, lead_id, stage, code, message, field, origin, sync_run_id, raw_ref)
SELECT x.form_id, x.lead_id, x.stage, x.code, x.message, x.field, x.origin, x.sync_run_id, x.raw_ref
FROM jsonb_to_recordset(%s::jsonb) AS x(form_id bigint, lead_id text, stage text, code text,
     message text, field text, origin text, sync_run_id uuid, raw_ref jsonb)
"""

BUMP_COUNTERS = """
INSERT INTO form_counters AS f (form_id, imported, updated, errors, skipped)
SELECT x.form_id, x.imported, x.updated, x.errors, x.skipped
FROM jsonb_to_recordset(%s::jsonb)
     AS x(form_id bigint, imported bigint, updated bigint, errors bigint, skipped bigint)
WHERE EXISTS (SELECT 1 FROM forms WHERE forms.id = x.form_id)
ON CONFLICT (form_id) DO UPDATE SET imported = f.imported + excluded.imported,
  updated = f.updated + excluded.updated, errors = f.errors + excluded.errors,
  skipped = f.skipped + excluded.skipped
"""


async def already_imported(conn: AsyncConnection[Any], lead_ids: list[str]) -> set[str]:
    cur = await conn.execute(
        "SELECT lead_id FROM imported_leads WHERE lead_id = ANY(%s) AND erased_at IS NULL",
        (lead_ids,),
    )
    return {row[0] for row in await cur.fetchall()}


async def write_batch(conn: AsyncConnection[Any], batch: BatchWrite) -> BatchOutcome:
    """Apply the batch; the caller owns the transaction. Contacts must be unique by email."""
    outcome = BatchOutcome()
    if batch.contacts:
        rows = []
        for contact in batch.contacts:
            row: dict[str, Any] = {"email": contact.email, "submitted_at": contact.submitted_at}
            custom = {k: v for k, v in contact.fields.items() if k not in STANDARD_COLUMNS}
            row.update({k: v for k, v in contact.fields.items() if k in STANDARD_COLUMNS})
            row["custom_fields"] = custom
            rows.append(row)
        cur = await conn.execute(UPSERT_CONTACTS, (_records(rows),))
        for contact_id, email, created in await cur.fetchall():
            (outcome.created if created else outcome.updated)[email] = contact_id
        cur = await conn.execute(
            "SELECT email, id FROM contacts WHERE email = ANY(%s)",
            ([c.email for c in batch.contacts],),
        )
        outcome.contact_ids = {email: cid for email, cid in await cur.fetchall()}

    if batch.submissions:
        submissions = []
        ledger = []
        for sub in batch.submissions:
            contact_id = outcome.contact_ids[sub.email]
            values = {name: getattr(sub, name) for name in _SUBMISSION_NAMES}
            submissions.append({"contact_id": contact_id, **values})
            ledger.append(
                {
                    "lead_id": sub.lead_id,
                    "form_id": sub.form_id,
                    "contact_id": contact_id,
                    "submitted_at": sub.submitted_at,
                    "origin": sub.origin,
                    "sync_run_id": sub.sync_run_id,
                }
            )
        await conn.execute(UPSERT_SUBMISSIONS, (_records(_latest_per_form(submissions)),))
        await conn.execute(RECORD_LEDGER, (_records(ledger),))

    if batch.errors:
        await conn.execute(RECORD_ERRORS, (_records([e.__dict__ for e in batch.errors]),))

    await conn.execute(BUMP_COUNTERS, (_records(_counter_rows(batch, outcome)),))
    return outcome


def _latest_per_form(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (contact, form): a statement may not update the same row twice."""
    latest: dict[tuple[Any, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["contact_id"], row["form_id"])
        if key not in latest or row["submitted_at"] >= latest[key]["submitted_at"]:
            latest[key] = row
    return list(latest.values())


def _counter_rows(batch: BatchWrite, outcome: BatchOutcome) -> list[dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}

    def bump(form_id: int | None, column: str, by: int = 1) -> None:
        if form_id is None:
            return
        row = counts.setdefault(
            form_id, {"form_id": form_id, "imported": 0, "updated": 0, "errors": 0, "skipped": 0}
        )
        row[column] += by

    # A contact is credited to the form of its newest submission in the batch.
    newest: dict[str, SubmissionRow] = {}
    for sub in batch.submissions:
        if sub.email not in newest or sub.submitted_at >= newest[sub.email].submitted_at:
            newest[sub.email] = sub
    for email, sub in newest.items():
        if email in outcome.created:
            bump(sub.form_id, "imported")
        elif email in outcome.updated:
            bump(sub.form_id, "updated")
    for error in batch.errors:
        bump(error.form_id, "errors")
    for form_id, n in batch.skipped.items():
        bump(form_id, "skipped", n)
    return list(counts.values())
