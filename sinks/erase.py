"""Erasing what a deleted LinkedIn lead brought (a ``DELETED`` notification).

The lead's submission row (with its raw answers) is deleted, the ledger keeps a tombstone so
the lead is never imported again (even when the erase arrives before the lead), and the
contact is erased too when LinkedIn was its only source and no other submission remains;
otherwise the contact stays and only its "Forms filled" relation changes. A request erases
the copy of the account it names: another account that imported the same lead (connected to
the same ad account) gets its own request. Idempotent: an erase replayed after a crash finds
nothing more to delete and writes no second event.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from schemas.envelopes import EraseRequest
from schemas.events import Cause, ContactEventType, SubmissionRef
from sinks.outbox import OutboxEvent, change_event, contact_json, write_events


async def erase_leads(conn: AsyncConnection[Any], requests: list[EraseRequest]) -> int:
    """Apply the erase requests, each to its account's copy of the lead (the accounts in
    hand); returns how many submissions were erased."""
    if not requests:
        return 0
    if any(r.account_id is None for r in requests):
        raise ValueError("an erase request must name its account")
    keys = sorted({(r.account_id, r.erase_lead_id) for r in requests if r.account_id is not None})
    tombstones = [
        {"account_id": r.account_id, "lead_id": r.erase_lead_id, "form_id": r.form_id,
         "origin": r.origin.value}
        for r in requests
    ]  # fmt: skip
    await conn.execute(
        "INSERT INTO imported_leads (account_id, lead_id, form_id, origin, erased_at)"
        " SELECT DISTINCT ON (x.account_id, x.lead_id) x.account_id, x.lead_id, x.form_id,"
        "        x.origin, now()"
        " FROM jsonb_to_recordset(%s::jsonb)"
        "      AS x(account_id bigint, lead_id text, form_id bigint, origin text)"
        " ON CONFLICT (account_id, lead_id) DO UPDATE"
        "  SET erased_at = coalesce(imported_leads.erased_at, now())",
        (json.dumps(tombstones),),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "DELETE FROM form_submissions"
            " WHERE (account_id, lead_id) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))"
            " RETURNING account_id, contact_id, lead_id, form_id, form_name, form_version,"
            "           owner_urn, campaign_urn, creative_urn, lead_type, test_lead, submitted_at",
            ([a for a, _ in keys], [lead for _, lead in keys]),
        )
        erased = await cur.fetchall()
        if not erased:
            return 0
        # Contact ids are unique across accounts; the account still leads every key.
        contacts_of = sorted({(row["account_id"], row["contact_id"]) for row in erased})
        pairs = ([a for a, _ in contacts_of], [c for _, c in contacts_of])
        await cur.execute(
            "SELECT * FROM contacts"
            " WHERE (account_id, id) IN (SELECT * FROM unnest(%s::bigint[], %s::uuid[]))"
            " ORDER BY account_id, id FOR UPDATE",
            pairs,
        )
        contacts = {row["id"]: row for row in await cur.fetchall()}
        await cur.execute(
            "SELECT contact_id, array_agg(form_id ORDER BY form_id) AS forms"
            " FROM form_submissions"
            " WHERE (account_id, contact_id) IN (SELECT * FROM unnest(%s::bigint[], %s::uuid[]))"
            " GROUP BY contact_id",
            pairs,
        )
        remaining_forms = {row["contact_id"]: row["forms"] for row in await cur.fetchall()}
    by_contact: dict[Any, list[dict[str, Any]]] = {}
    for row in erased:
        by_contact.setdefault(row["contact_id"], []).append(row)
    events: list[OutboxEvent] = []
    to_delete: list[tuple[int, Any]] = []
    for contact_id, rows in by_contact.items():
        if contact_id not in contacts:
            continue
        contact = contact_json(contacts[contact_id])
        remaining = remaining_forms.get(contact_id, [])
        last = rows[-1]
        ref = SubmissionRef(
            **{k: v for k, v in last.items() if k not in ("account_id", "contact_id")}
        )
        if not remaining and contact["sources"] == ["linkedin"]:
            to_delete.append((contact["account_id"], contact_id))
            events.append(change_event(ContactEventType.ERASED, contact, [], Cause.DELETED, ref))
        else:
            before = sorted([*remaining, *(r["form_id"] for r in rows)])
            change = {"field": "linkedin_forms_filled", "before": before, "after": remaining}
            events.append(
                change_event(ContactEventType.UPDATED, contact, [change], Cause.DELETED, ref)
            )
    if to_delete:
        await conn.execute(
            "DELETE FROM contacts"
            " WHERE (account_id, id) IN (SELECT * FROM unnest(%s::bigint[], %s::uuid[]))",
            ([a for a, _ in to_delete], [c for _, c in to_delete]),
        )
    await write_events(conn, events)
    return len(erased)
