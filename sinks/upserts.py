"""Writes one batch of mapped leads: contacts, form submissions, the ledger and counters.

A batch holds the leads of many accounts, written in one transaction with all of them in
hand (:func:`sinks.database.hold_accounts`): every row names its account, and every key the
statements match on starts with it. Two accounts' contacts never meet, even with one email.

Guarantee: every statement is an idempotent multi-row upsert and the caller runs them all
in one transaction, so a batch replayed after a crash (at-least-once delivery from Kafka)
changes nothing the first run already committed. An older lead never overwrites the values
of a newer one: contacts and submissions are guarded on ``submitted_at``. The exception is a
manual import with "sync already-imported contacts too": it re-applies each form's latest
submission with the form's current mapping whatever the contact's data, and clears what the
form wrote through a mapping that no longer points there (:mod:`sinks.provenance`). Every
field written records its source in ``contacts.field_sources``.

Two workers may import the same new person at once (two leads on two partitions): the lock
of the batch's contacts finds no row to lock, and the second insert waits for the first
transaction and then takes the update path. Such a batch raises
:class:`ContactCreatedConcurrently` and is retried, finding the contact this time: the person
is created, counted and announced once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from pydantic_core import to_json

from leadsync import stages
from leadsync.errors import RetriableError
from schemas.events import Cause, ContactEventType
from sinks.batch_rows import (
    STANDARD_COLUMNS,
    BatchOutcome,
    BatchWrite,
    ContactKey,
    ContactRow,
    LeadKey,
    SubmissionRow,
)
from sinks.outbox import OutboxEvent, change_event, contact_json, field_changes, write_events
from sinks.provenance import as_stored, reapply, superseded


def _records(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON array for ``jsonb_to_recordset`` (datetimes and UUIDs as text).

    pydantic-core's encoder: a batch's rows are tens of thousands of values, and the
    standard library's encoder with a ``default`` hook took several times longer.
    """
    return to_json(rows).decode()


_STANDARD = frozenset(STANDARD_COLUMNS)
_CONTACT_COLUMNS = ", ".join(STANDARD_COLUMNS)
_CONTACT_TYPES = ", ".join(f"{c} text" for c in STANDARD_COLUMNS)

# A row whose field_sources carries this key is the contact's whole new state, computed from
# the contact as locked (a manual import re-applying a form, sinks.provenance.reapply): it
# replaces the values, nulls included, whatever the submission's age (its submitted_at is
# never older than the contact's, so the guard lets it through). Every other row only adds
# values (an empty answer leaves its field as it is) and is guarded on submitted_at.
# The mark rides in the proposed row because ON CONFLICT sees nothing else of it (field keys
# are lower-case words: no field is called so). Such rows are made only for contacts locked
# in this transaction, so they always meet their row and the mark is never stored.
REPLACE_MARK = "$replace"
_REPLACING = f"excluded.field_sources ? '{REPLACE_MARK}'"


def _set(column: str, merged: str) -> str:
    return f"  {column} = CASE WHEN {_REPLACING} THEN excluded.{column} ELSE {merged} END"


_CONTACT_SET = ",\n".join(
    [_set(c, f"coalesce(excluded.{c}, c.{c})") for c in STANDARD_COLUMNS]
    + [
        _set("custom_fields", "c.custom_fields || excluded.custom_fields"),
        # Provenance: each field the lead wrote names its source; the others keep theirs.
        f"  field_sources = CASE WHEN {_REPLACING}"
        f" THEN excluded.field_sources - '{REPLACE_MARK}'"
        " ELSE c.field_sources || excluded.field_sources END",
    ]
)

# The contact as events and counters read it back: every column but field_sources, which
# only a contact re-applied needs, and then as locked (decoding every contact's provenance
# twice per batch, before and after, cost the worker more than writing it).
_CONTACT_ROW = ", ".join(
    f"c.{column}"
    for column in (
        "id", "account_id", "email", *STANDARD_COLUMNS, "custom_fields", "linkedin_imported",
        "linkedin_import_date", "linkedin_submitted_at", "sources", "created_at", "updated_at",
    )
)  # fmt: skip

UPSERT_CONTACTS = f"""
INSERT INTO contacts AS c (account_id, email, {_CONTACT_COLUMNS}, custom_fields, field_sources,
                           linkedin_imported, linkedin_import_date, linkedin_submitted_at, sources)
SELECT x.account_id, x.email, {", ".join("x." + c for c in STANDARD_COLUMNS)},
       coalesce(x.custom_fields, '{{}}'), coalesce(x.field_sources, '{{}}'),
       true, now(), x.submitted_at, ARRAY['linkedin']
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, email text, {_CONTACT_TYPES},
                                        custom_fields jsonb, field_sources jsonb,
                                        submitted_at timestamptz)
ON CONFLICT (account_id, email) DO UPDATE SET
{_CONTACT_SET},
  linkedin_imported = true,
  linkedin_import_date = now(),
  linkedin_submitted_at = excluded.linkedin_submitted_at,
  sources = ARRAY(SELECT DISTINCT unnest(c.sources || excluded.sources) ORDER BY 1),
  updated_at = now()
WHERE c.linkedin_submitted_at IS NULL OR excluded.linkedin_submitted_at >= c.linkedin_submitted_at
RETURNING {_CONTACT_ROW}, c.xmax = 0 AS inserted
"""

# The batch's (account, email) pairs, each looked up by the unique key: the plan stays a
# probe per contact however many contacts the accounts hold. (A plain IN let the planner scan
# every contact of the accounts in hand.)
_LOCK_CONTACTS = f"""
SELECT {_CONTACT_ROW}, c.field_sources::text AS field_sources
FROM unnest(%s::bigint[], %s::text[]) AS k(account_id, email)
CROSS JOIN LATERAL (
    SELECT * FROM contacts
    WHERE contacts.account_id = k.account_id AND contacts.email = k.email FOR UPDATE
) AS c
ORDER BY c.account_id, c.email
"""

_SUBMISSION_COLUMNS = (
    "form_id bigint, lead_id text, form_name text, form_version int, owner_urn text,"
    " owner_name text, campaign_urn text, campaign_name text, creative_urn text,"
    " creative_name text, lead_type text, test_lead boolean, submitted_at timestamptz,"
    " answers jsonb, consents jsonb, hidden_fields jsonb"
)
_SUBMISSION_VALUES = [c.split()[0] for c in _SUBMISSION_COLUMNS.split(",")]
_SUBMISSION_NAMES = [*_SUBMISSION_VALUES, "raw_lead"]

# raw_lead is taken out of the record the lead came in: the lead of an envelope, or the
# document itself for a bare lead, as schemas.envelopes.parse_raw_record tells them apart.
# The records come as a second parameter, a text array sent in binary, joined to their rows
# by position: PostgreSQL then only checks each one's JSON syntax, where reading them as
# members of the rows' JSON cost it three times as long (bench/pipeline.py). raw_lead keeps
# the lead's text as it came.
UPSERT_SUBMISSIONS = f"""
INSERT INTO form_submissions AS s (account_id, contact_id, {", ".join(_SUBMISSION_NAMES)})
SELECT x.account_id, x.contact_id, {", ".join("x." + c for c in _SUBMISSION_VALUES)},
       coalesce(d.document::json -> 'lead', d.document::json)
FROM jsonb_to_recordset(%s::jsonb)
     AS x(account_id bigint, contact_id uuid, {_SUBMISSION_COLUMNS}, n bigint)
JOIN unnest(%b::text[]) WITH ORDINALITY AS d(document, n) ON d.n = x.n
ON CONFLICT (account_id, contact_id, form_id) DO UPDATE SET
{", ".join(f"{c} = excluded.{c}" for c in _SUBMISSION_NAMES if c != "form_id")},
  updated_at = now()
WHERE excluded.submitted_at >= s.submitted_at
"""


class ContactCreatedConcurrently(RetriableError):
    """Another transaction created contacts of the batch after the batch locked its contacts
    and before it inserted them: its upsert updated them, though it read them as new (and
    would have counted and announced them as created a second time). The batch is rolled
    back and retried: the retry locks them as they now are."""

    def __init__(self, keys: list[ContactKey]) -> None:
        accounts = sorted({account for account, _ in keys})
        # Accounts and a count, no emails: the line goes to the logs.
        super().__init__(f"{len(keys)} new contacts of accounts {accounts} created meanwhile")
        self.keys = keys


RECORD_LEDGER = """
INSERT INTO imported_leads (account_id, lead_id, form_id, contact_id, submitted_at, origin,
                            sync_run_id)
SELECT x.account_id, x.lead_id, x.form_id, x.contact_id, x.submitted_at, x.origin, x.sync_run_id
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, lead_id text, form_id bigint,
     contact_id uuid, submitted_at timestamptz, origin text, sync_run_id uuid)
ON CONFLICT (account_id, lead_id) DO UPDATE SET contact_id = excluded.contact_id,
  imported_at = now(), origin = excluded.origin, sync_run_id = excluded.sync_run_id
"""

RECORD_SKIPPED = """
INSERT INTO skipped_leads (account_id, lead_id, form_id, origin, submitted_at, reason)
SELECT x.account_id, x.lead_id, x.form_id, x.origin, x.submitted_at, x.reason
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, lead_id text, form_id bigint,
                                       origin text, submitted_at timestamptz, reason text)
ON CONFLICT (account_id, lead_id) DO NOTHING
RETURNING account_id, form_id
"""

# A lead imported now is no longer skipped (Import was switched on, a manual import came).
UNSKIP = """
DELETE FROM skipped_leads
WHERE (account_id, lead_id) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))
"""

BUMP_COUNTERS = """
INSERT INTO form_counters AS f (account_id, form_id, imported, updated, errors, skipped,
                                 last_imported_at)
SELECT x.account_id, x.form_id, x.imported, x.updated, x.errors, x.skipped,
       CASE WHEN x.imported + x.updated > 0 THEN now() END
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, form_id bigint, imported bigint,
                                       updated bigint, errors bigint, skipped bigint)
WHERE EXISTS (SELECT 1 FROM forms WHERE forms.account_id = x.account_id AND forms.id = x.form_id)
ON CONFLICT (account_id, form_id) DO UPDATE SET imported = f.imported + excluded.imported,
  updated = f.updated + excluded.updated, errors = f.errors + excluded.errors,
  skipped = f.skipped + excluded.skipped,
  last_imported_at = coalesce(excluded.last_imported_at, f.last_imported_at)
"""


async def account_statuses(
    conn: AsyncConnection[Any], account_ids: Iterable[int]
) -> dict[int, str]:
    """The status ("active", "disabled") of each of these accounts that exists. The
    accounts table is global: no account needs to be in hand."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    cur = await conn.execute("SELECT id, status FROM accounts WHERE id = ANY(%s)", (wanted,))
    return {account_id: status for account_id, status in await cur.fetchall()}


async def ledger_state(conn: AsyncConnection[Any], leads: Iterable[LeadKey]) -> dict[LeadKey, bool]:
    """For each (account, lead id) in the ledger: whether it was erased (LinkedIn deleted
    the lead). The accounts must be in hand."""
    keys = sorted(set(leads))
    if not keys:
        return {}
    # One probe of the primary key per lead (see _LOCK_CONTACTS).
    cur = await conn.execute(
        "SELECT i.account_id, i.lead_id, i.erased_at IS NOT NULL"
        " FROM unnest(%s::bigint[], %s::text[]) AS k(account_id, lead_id)"
        " CROSS JOIN LATERAL (SELECT * FROM imported_leads"
        "  WHERE imported_leads.account_id = k.account_id"
        "    AND imported_leads.lead_id = k.lead_id) AS i",
        ([a for a, _ in keys], [lead for _, lead in keys]),
    )
    return {(account, lead): erased for account, lead, erased in await cur.fetchall()}


async def write_batch(conn: AsyncConnection[Any], batch: BatchWrite) -> BatchOutcome:
    """Apply the batch; the caller owns the transaction and holds the batch's accounts.
    Contacts must be unique by (account, email).

    Every contact created or changed gets its outbox event in the same transaction.
    """
    outcome = BatchOutcome()
    before: dict[ContactKey, dict[str, Any]] = {}
    after: dict[ContactKey, dict[str, Any]] = {}
    resynced_keys: set[ContactKey] = set()
    if batch.contacts:
        keys = sorted((c.account_id, c.email) for c in batch.contacts)
        # Locked in (account, email) order, so concurrent batches cannot deadlock on the
        # same contacts.
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_LOCK_CONTACTS, ([a for a, _ in keys], [e for _, e in keys]))
            before = {(row["account_id"], row["email"]): row for row in await cur.fetchall()}
            latest = await _latest_submissions(conn, batch.contacts, before)
            with stages.cpu("sql_build"):
                at = datetime.now(UTC).isoformat()
                contacts, resynced_keys = _contact_rows(batch.contacts, before, latest, at)
                # Inserted in key order too: two batches inserting the same new contacts
                # wait on each other in one order instead of deadlocking.
                contacts.sort(key=lambda row: (row["account_id"], row["email"]))
                document = _records(contacts)
            await cur.execute(UPSERT_CONTACTS, (document,))
            raced: list[ContactKey] = []
            for row in await cur.fetchall():
                key = (row["account_id"], row["email"])
                # The lock found no row, yet the insert met one: another transaction created
                # it meanwhile (its row's xmax is this transaction's, which updated it).
                if not row.pop("inserted") and key not in before:
                    raced.append(key)
                after[key] = row
            if raced:
                raise ContactCreatedConcurrently(raced)
        for key, row in after.items():
            (outcome.updated if key in before else outcome.created)[key] = row["id"]
        outcome.contact_ids = {k: r["id"] for k, r in before.items()} | {
            k: r["id"] for k, r in after.items()
        }

    # Pipeline mode: the statements below go out without waiting for each other's results,
    # and the events are built while PostgreSQL works through the submissions (the largest
    # statement); waiting on each in turn left the worker idle a third of the time.
    async with conn.pipeline():
        if batch.submissions:
            await _write_submissions(conn, batch.submissions, outcome.contact_ids)
        skipped = None
        if batch.skipped:
            rows = _records([s.__dict__ for s in batch.skipped])
            skipped = await conn.execute(RECORD_SKIPPED, (rows,))
        # Each contact's newest submission in the batch: what its event and counter credit.
        newest = _newest_submission(batch.submissions)
        resynced = _resynced(batch.submissions, resynced_keys)
        with stages.cpu("events"):
            events = _change_events(newest, before, after, resynced)
        await write_events(conn, events)
        skipped_forms: Counter[tuple[int, int]] = Counter()
        if skipped is not None:
            skipped_forms.update((row[0], row[1]) for row in await skipped.fetchall())
            outcome.skipped = sum(skipped_forms.values())
        with stages.cpu("sql_build"):
            counters = _counter_rows(newest, outcome, skipped_forms)
            bumps = _records(counters) if counters else None
        if bumps is not None:
            await conn.execute(BUMP_COUNTERS, (bumps,))
    return outcome


async def _write_submissions(
    conn: AsyncConnection[Any],
    submissions: list[SubmissionRow],
    contact_ids: dict[ContactKey, UUID],
) -> None:
    with stages.cpu("sql_build"):
        documents = _submission_documents(submissions, contact_ids)
    await conn.execute(UPSERT_SUBMISSIONS, (documents[0], documents[1]))
    await conn.execute(RECORD_LEDGER, (documents[2],))
    await conn.execute(
        UNSKIP, ([s.account_id for s in submissions], [s.lead_id for s in submissions])
    )


def _submission_documents(
    submissions: list[SubmissionRow], contact_ids: dict[ContactKey, UUID]
) -> tuple[str, list[Any], str]:
    """The submissions' rows, their answer documents and the ledger's rows, as the
    statements take them."""
    rows = []
    ledger = []
    for sub in submissions:
        contact_id = contact_ids[sub.contact_key]
        values = {name: getattr(sub, name) for name in _SUBMISSION_VALUES}
        rows.append(({"account_id": sub.account_id, "contact_id": contact_id, **values}, sub))
        ledger.append(
            {"account_id": sub.account_id, "lead_id": sub.lead_id, "form_id": sub.form_id,
             "contact_id": contact_id, "submitted_at": sub.submitted_at, "origin": sub.origin,
             "sync_run_id": sub.sync_run_id}
        )  # fmt: skip
    latest = _latest_per_form(rows)
    numbered = [{**row, "n": n} for n, (row, _) in enumerate(latest, start=1)]
    return _records(numbered), [sub.document for _, sub in latest], _records(ledger)


def _change_events(
    newest: dict[ContactKey, SubmissionRow],
    before: dict[ContactKey, dict[str, Any]],
    after: dict[ContactKey, dict[str, Any]],
    resynced: dict[ContactKey, SubmissionRow] | None = None,
) -> list[OutboxEvent]:
    """One event per contact created or changed, attributed to its newest submission; the
    contact row names its account, and so does the event. A contact that a manual import
    synced again (``resynced``: its newest lead applied again, option 1) has its event
    whatever changed, attributed to that import, saying so in ``reason``, and carrying the
    import's request to restart workflows."""
    events = []
    for key, row in after.items():
        created = key not in before
        again = (resynced or {}).get(key)
        sub = again or newest[key]
        previous = before.get(key)
        contact = contact_json(row)
        changes = field_changes(contact_json(previous) if previous else None, contact)
        events.append(
            change_event(
                ContactEventType.CREATED if created else ContactEventType.UPDATED,
                contact, changes, Cause(sub.origin), sub.ref(),
                restart_workflows=sub.restart_workflows and not created,
                sync_run_id=sub.sync_run_id,
                reason=resync_reason(sub) if again else None,
                traceparent=sub.traceparent,
            )
        )  # fmt: skip
    return events


def resync_reason(sub: SubmissionRow) -> str:
    """Why a contact synced again by a manual import has its event."""
    run = f"manual import {sub.sync_run_id}" if sub.sync_run_id else "a manual import"
    asked = "sync existing contacts" + (", restart workflows" if sub.restart_workflows else "")
    return f"synced again by {run} ({asked}) with form {sub.form_id}'s current mapping"


def _resynced(
    submissions: list[SubmissionRow], keys: set[ContactKey]
) -> dict[ContactKey, SubmissionRow]:
    """Each contact's newest lead applied again (manual import option 1), for the contacts
    (``keys``) that such a lead synced again."""
    return _newest_submission([s for s in submissions if s.reimport and s.contact_key in keys])


# Per contact re-applied, the submitted-at of its stored submission of each form.
Latest = dict[ContactKey, dict[int, datetime]]


async def _latest_submissions(
    conn: AsyncConnection[Any],
    contacts: list[ContactRow],
    before: dict[ContactKey, dict[str, Any]],
) -> Latest:
    """For the contacts a lead of the batch re-applies (manual import option 1), when each of
    their forms was last submitted: only a form's latest submission is re-applied. No
    statement for a batch without such a lead."""
    wanted = sorted(
        {
            (c.account_id, before[c.account_id, c.email]["id"], lead.form_id)
            for c in contacts
            if c.reapplies and (c.account_id, c.email) in before
            for lead in c.leads
            if lead.reapply
        }
    )
    if not wanted:
        return {}
    emails = {
        (c.account_id, before[key]["id"]): c.email
        for c in contacts
        if (key := (c.account_id, c.email)) in before
    }
    cur = await conn.execute(
        "SELECT s.account_id, s.contact_id, s.form_id, s.submitted_at"
        " FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[]) AS k(account_id, contact_id, form_id)"
        " JOIN form_submissions s ON s.account_id = k.account_id"
        "  AND s.contact_id = k.contact_id AND s.form_id = k.form_id",
        ([a for a, _, _ in wanted], [c for _, c, _ in wanted], [f for _, _, f in wanted]),
    )
    latest: Latest = {}
    for account_id, contact_id, form_id, submitted_at in await cur.fetchall():
        latest.setdefault((account_id, emails[account_id, contact_id]), {})[form_id] = submitted_at
    return latest


def _contact_rows(
    contacts: list[ContactRow],
    before: dict[ContactKey, dict[str, Any]] | None = None,
    latest: Latest | None = None,
    at: str = "",
) -> tuple[list[dict[str, Any]], set[ContactKey]]:
    """The contacts' rows for UPSERT_CONTACTS, each field written naming its source (``at``:
    the time written), and the contacts a re-applied lead syncs again. Such a contact's row
    is its whole new state (REPLACE_MARK); a contact whose only leads are re-applied ones
    that its forms' newer submissions supersede has no row (the newer ones re-sync it, once)."""
    before = before or {}
    latest = latest or {}
    rows = []
    resynced: set[ContactKey] = set()
    for contact in contacts:
        key = (contact.account_id, contact.email)
        row: dict[str, Any] = {"account_id": contact.account_id, "email": contact.email}
        prior = before.get(key)
        if prior is not None and contact.reapplies:
            of_form = latest.get(key, {})
            live = [lead for lead in contact.leads if not superseded(lead, of_form)]
            if not live:
                continue
            if any(lead.reapply for lead in live):
                resynced.add(key)
            prior = {**prior, "field_sources": json.loads(prior.get("field_sources") or "{}")}
            standard, custom, sources, submitted = reapply(prior, live, of_form, at)
            row.update(standard)
            row["custom_fields"] = custom
            row["field_sources"] = {**sources, REPLACE_MARK: True}
            row["submitted_at"] = submitted or contact.submitted_at
            rows.append(row)
            continue
        row["submitted_at"] = contact.submitted_at
        # In submission order: the last lead to write a field names it.
        sources = {}
        for lead in contact.leads:
            for field_key, value in lead.fields.items():
                stored = value if type(value) is str else as_stored(field_key, value)
                sources[field_key] = lead.provenance(field_key, stored, at)
        custom = {}
        for field_key, value in contact.fields.items():
            if field_key in _STANDARD:
                written = sources.get(field_key)
                row[field_key] = written["value"] if written else as_stored(field_key, value)
            else:
                custom[field_key] = value
        row["custom_fields"] = custom
        row["field_sources"] = sources
        rows.append(row)
    return rows, resynced


def _newest_submission(submissions: list[SubmissionRow]) -> dict[ContactKey, SubmissionRow]:
    newest: dict[ContactKey, SubmissionRow] = {}
    for sub in submissions:
        key = sub.contact_key
        if key not in newest or sub.submitted_at >= newest[key].submitted_at:
            newest[key] = sub
    return newest


def _latest_per_form(
    rows: list[tuple[dict[str, Any], SubmissionRow]],
) -> list[tuple[dict[str, Any], SubmissionRow]]:
    """One row per (account, contact, form): a statement may not update the same row twice."""
    latest: dict[tuple[int, Any, int], tuple[dict[str, Any], SubmissionRow]] = {}
    for row, sub in rows:
        key = (row["account_id"], row["contact_id"], row["form_id"])
        if key not in latest or row["submitted_at"] >= latest[key][0]["submitted_at"]:
            latest[key] = (row, sub)
    return list(latest.values())


def _counter_rows(
    newest: dict[ContactKey, SubmissionRow],
    outcome: BatchOutcome,
    skipped: Counter[tuple[int, int]],
) -> list[dict[str, int]]:
    """The counters' increments per (account, form)."""
    counts: dict[tuple[int, int], dict[str, int]] = {}

    def bump(account_id: int, form_id: int, column: str, by: int = 1) -> None:
        row = counts.setdefault(
            (account_id, form_id),
            {"account_id": account_id, "form_id": form_id, "imported": 0, "updated": 0,
             "errors": 0, "skipped": 0},
        )  # fmt: skip
        row[column] += by

    # A contact is credited to the form of its newest submission in the batch.
    for key, sub in newest.items():
        if key in outcome.created:
            bump(sub.account_id, sub.form_id, "imported")
        elif key in outcome.updated:
            bump(sub.account_id, sub.form_id, "updated")
    for (account_id, form_id), n in skipped.items():
        bump(account_id, form_id, "skipped", n)
    return list(counts.values())
