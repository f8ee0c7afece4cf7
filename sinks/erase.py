"""Erasing what a deleted LinkedIn lead brought (a ``DELETED`` notification).

The lead's submission row (with its raw answers) is deleted, the ledger keeps a tombstone so
the lead is never imported again (even when the erase arrives before the lead), and the
contact is erased too when LinkedIn was its only source and no other submission remains;
otherwise the contact stays and only its "Forms filled" relation changes. Idempotent: an
erase replayed after a crash finds nothing more to delete and writes no second event.
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
    """Apply the erase requests; returns how many submissions were erased."""
    if not requests:
        return 0
    lead_ids = sorted({r.erase_lead_id for r in requests})
    tombstones = [
        {"lead_id": r.erase_lead_id, "form_id": r.form_id, "origin": r.origin.value}
        for r in requests
    ]
    await conn.execute(
        "INSERT INTO imported_leads (lead_id, form_id, origin, erased_at)"
        " SELECT DISTINCT ON (x.lead_id) x.lead_id, x.form_id, x.origin, now()"
        " FROM jsonb_to_recordset(%s::jsonb) AS x(lead_id text, form_id bigint, origin text)"
        " ON CONFLICT (account_id, lead_id) DO UPDATE"
        "  SET erased_at = coalesce(imported_leads.erased_at, now())",
        (json.dumps(tombstones),),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "DELETE FROM form_submissions WHERE lead_id = ANY(%s)"
            " RETURNING contact_id, lead_id, form_id, form_name, form_version, owner_urn,"
            "           campaign_urn, creative_urn, lead_type, test_lead, submitted_at",
            (lead_ids,),
        )
        erased = await cur.fetchall()
        if not erased:
            return 0
        contact_ids = sorted({row["contact_id"] for row in erased})
        await cur.execute(
            "SELECT * FROM contacts WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (contact_ids,)
        )
        contacts = {row["id"]: row for row in await cur.fetchall()}
        await cur.execute(
            "SELECT contact_id, array_agg(form_id ORDER BY form_id) AS forms"
            " FROM form_submissions WHERE contact_id = ANY(%s) GROUP BY contact_id",
            (contact_ids,),
        )
        remaining_forms = {row["contact_id"]: row["forms"] for row in await cur.fetchall()}
    by_contact: dict[Any, list[dict[str, Any]]] = {}
    for row in erased:
        by_contact.setdefault(row["contact_id"], []).append(row)
    events: list[OutboxEvent] = []
    to_delete = []
    for contact_id, rows in by_contact.items():
        if contact_id not in contacts:
            continue
        contact = contact_json(contacts[contact_id])
        remaining = remaining_forms.get(contact_id, [])
        last = rows[-1]
        ref = SubmissionRef(**{k: v for k, v in last.items() if k != "contact_id"})
        if not remaining and contact["sources"] == ["linkedin"]:
            to_delete.append(contact_id)
            events.append(change_event(ContactEventType.ERASED, contact, [], Cause.DELETED, ref))
        else:
            before = sorted([*remaining, *(r["form_id"] for r in rows)])
            change = {"field": "linkedin_forms_filled", "before": before, "after": remaining}
            events.append(
                change_event(ContactEventType.UPDATED, contact, [change], Cause.DELETED, ref)
            )
    if to_delete:
        await conn.execute("DELETE FROM contacts WHERE id = ANY(%s)", (to_delete,))
    await write_events(conn, events)
    return len(erased)
