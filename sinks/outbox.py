"""The transactional outbox: contact changes recorded with the change, published afterwards.

Guarantee: an outbox row is written in the same transaction as the contact change it
describes, so every committed change has exactly one row and no row exists for a change that
was rolled back. The relay (:mod:`streams.relay`) publishes each row at least once; the
event id is fixed when the row is written, so a re-published event is recognisable.

A row keeps the W3C ``traceparent`` of the lead that caused the change (migration 0015):
the relay publishes the event with it as a record header, so the contact change ends the
lead's trace (leadsync.tracing). Rows of changes no lead caused, or written before, have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection
from pydantic_core import to_json

from schemas.events import CONTACT_EVENT_SOURCE, Cause, ContactEventType, SubmissionRef

# Contact columns that are bookkeeping, not values a consumer compares.
_NOT_COMPARED = {"id", "account_id", "created_at", "updated_at", "linkedin_submitted_at", "sources"}
# Contact columns left out of events: field provenance is the admin API's (GET a contact).
_NOT_PUBLISHED = frozenset({"field_sources"})

# An arbitrary constant: only one relay publishes at a time, so events of one contact keep
# their order on the topic.
RELAY_LOCK_ID = 0x6F7574626F78


def contact_json(row: dict[str, Any]) -> dict[str, Any]:
    """A contact row as JSON-friendly values, as events carry it."""
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in row.items()
        if k not in _NOT_PUBLISHED
    }


def field_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field whose value differs, as :class:`FieldChange` members; custom fields compared
    one by one. Both contacts as :func:`contact_json` gives them."""
    old = before or {}
    changes = []
    for key in sorted(after):
        if key in _NOT_COMPARED or key == "custom_fields":
            continue
        if (was := old.get(key)) != (now := after[key]):
            changes.append({"field": key, "before": was, "after": now})
    old_custom = old.get("custom_fields") or {}
    new_custom = after.get("custom_fields") or {}
    for key in sorted(old_custom.keys() | new_custom.keys()):
        if (was := old_custom.get(key)) != (now := new_custom.get(key)):
            changes.append({"field": f"custom.{key}", "before": was, "after": now})
    return changes


@dataclass(frozen=True)
class OutboxEvent:
    """A contact change ready for the outbox: a :class:`ContactChange` as JSON text."""

    event_id: UUID
    account_id: int
    contact_id: UUID
    event_type: ContactEventType
    payload: str
    # The lead's trace, published as the record's ``traceparent`` header.
    traceparent: str | None = None


def change_event(
    event_type: ContactEventType,
    contact: dict[str, Any],
    changes: list[dict[str, Any]],
    cause: Cause,
    submission: SubmissionRef | None = None,
    restart_workflows: bool = False,
    sync_run_id: UUID | None = None,
    reason: str | None = None,
    traceparent: str | None = None,
) -> OutboxEvent:
    """The event of one change. ``contact`` as :func:`contact_json` gives it.

    Serialised straight from these values, in the member order and formats of
    :class:`ContactChange` (a unit test holds the two to each other): building the models
    just to serialise them cost an import batch more than all its other JSON.
    """
    contact_id: UUID = contact["id"]
    account_id: int = contact["account_id"]
    event_id = uuid4()
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": CONTACT_EVENT_SOURCE,
        "type": event_type,
        "subject": str(contact_id),
        "time": datetime.now(UTC),
        "leadsyncaccount": account_id,
        "datacontenttype": "application/json",
        "data": {
            "contact_id": contact_id,
            "contact": contact,
            "changes": changes,
            "cause": cause,
            "submission": submission,
            "restart_workflows": restart_workflows,
            "sync_run_id": sync_run_id,
            "reason": reason,
        },
    }
    return OutboxEvent(
        event_id, account_id, contact_id, event_type, to_json(event).decode(), traceparent
    )


# The channel the relay listens on for committed outbox rows.
OUTBOX_CHANNEL = "leadsync_outbox"


async def write_events(conn: AsyncConnection[Any], events: Sequence[OutboxEvent]) -> None:
    if not events:
        return
    # Columns as arrays sent in binary: PostgreSQL parses each event's JSON text once, into
    # its jsonb column, and nothing else (a JSON document of rows was parsed twice).
    await conn.execute(
        "INSERT INTO outbox (event_id, account_id, contact_id, event_type, payload, traceparent)"
        " SELECT x.event_id, x.account_id, x.contact_id, x.event_type, x.payload::jsonb,"
        "  x.traceparent"
        " FROM unnest(%b::uuid[], %b::int8[], %b::uuid[], %b::text[], %b::text[], %b::text[])"
        "  WITH ORDINALITY"
        "  AS x(event_id, account_id, contact_id, event_type, payload, traceparent, n)"
        # Ids follow the order of the changes, and the relay publishes in id order.
        " ORDER BY x.n",
        (
            [e.event_id for e in events],
            [e.account_id for e in events],
            [e.contact_id for e in events],
            [e.event_type.value for e in events],
            [e.payload for e in events],
            [e.traceparent for e in events],
        ),
    )
    # Wakes the relay when the transaction commits (PostgreSQL delivers a NOTIFY then, and
    # only once per transaction), instead of the relay finding the rows at its next poll.
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


async def try_become_relay(conn: AsyncConnection[Any]) -> bool:
    """Take the relay's session lock on this connection; False while another relay has it."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK_ID,))
    row = await cur.fetchone()
    return bool(row and row[0])


@dataclass(frozen=True, slots=True)
class Unpublished:
    """An outbox row to publish: its id, its record key ("<account>:<contact id>": one
    contact's events, one partition), the CloudEvent as JSON text, its lead's trace."""

    id: int
    key: str
    event: str
    traceparent: str | None


async def unpublished(conn: AsyncConnection[Any], limit: int) -> list[Unpublished]:
    """The oldest unpublished rows of the accounts in hand.

    The event is published as PostgreSQL renders it: decoding and re-encoding it would
    change nothing but the cost.
    """
    cur = await conn.execute(
        "SELECT id, account_id || ':' || contact_id, payload::text, traceparent FROM outbox"
        " WHERE published_at IS NULL ORDER BY id LIMIT %s",
        (limit,),
    )
    return [Unpublished(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


async def mark_published(conn: AsyncConnection[Any], ids: list[int]) -> None:
    """Ids are unique across accounts (one sequence). ``published_at IS NULL`` lets the
    partial index of unpublished rows find them: the primary key starts with the account,
    and without it every mark read the whole outbox, checking each row's account against
    every account in hand."""
    await conn.execute(
        "UPDATE outbox SET published_at = now() WHERE id = ANY(%s) AND published_at IS NULL",
        (ids,),
    )
