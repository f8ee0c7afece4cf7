"""The transactional outbox: contact changes recorded with the change, published afterwards.

Guarantee: an outbox row is written in the same transaction as the contact change it
describes, so every committed change has exactly one row and no row exists for a change that
was rolled back. The relay (:mod:`streams.relay`) publishes each row at least once; the
event id is fixed when the row is written, so a re-published event is recognisable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection

from schemas.events import (
    Cause,
    ContactChange,
    ContactChangeData,
    ContactEventType,
    FieldChange,
    SubmissionRef,
)

# Contact columns that are bookkeeping, not values a consumer compares.
_NOT_COMPARED = {"id", "created_at", "updated_at", "linkedin_submitted_at", "sources"}

# An arbitrary constant: only one relay publishes at a time, so events of one contact keep
# their order on the topic.
RELAY_LOCK_ID = 0x6F7574626F78


def contact_json(row: dict[str, Any]) -> dict[str, Any]:
    """A contact row as JSON-friendly values."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def field_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[FieldChange]:
    """Each field whose value differs; custom fields compared one by one."""
    old = contact_json(before or {})
    new = contact_json(after)
    changes = []
    for key in sorted(new):
        if key in _NOT_COMPARED or key == "custom_fields":
            continue
        if old.get(key) != new.get(key):
            changes.append(FieldChange(field=key, before=old.get(key), after=new.get(key)))
    old_custom = old.get("custom_fields") or {}
    new_custom = new.get("custom_fields") or {}
    for key in sorted(set(old_custom) | set(new_custom)):
        if old_custom.get(key) != new_custom.get(key):
            changes.append(
                FieldChange(field=f"custom.{key}", before=old_custom.get(key),
                            after=new_custom.get(key))
            )  # fmt: skip
    return changes


def change_event(
    event_type: ContactEventType,
    contact: dict[str, Any],
    changes: list[FieldChange],
    cause: Cause,
    submission: SubmissionRef | None = None,
    restart_workflows: bool = False,
    sync_run_id: UUID | None = None,
) -> ContactChange:
    contact_id: UUID = contact["id"]
    return ContactChange(
        id=uuid4(),
        type=event_type,
        subject=str(contact_id),
        time=datetime.now(UTC),
        data=ContactChangeData(
            contact_id=contact_id,
            contact=contact_json(contact),
            changes=changes,
            cause=cause,
            submission=submission,
            restart_workflows=restart_workflows,
            sync_run_id=sync_run_id,
        ),
    )


async def write_events(conn: AsyncConnection[Any], events: Sequence[ContactChange]) -> None:
    if not events:
        return
    # Each event is serialised by pydantic in one pass and put into the rows as it is.
    rows = [
        f'{{"event_id": "{e.id}", "contact_id": "{e.data.contact_id}",'
        f' "event_type": {json.dumps(e.type.value)}, "seq": {i},'
        f' "payload": {e.model_dump_json()}}}'
        for i, e in enumerate(events)
    ]
    await conn.execute(
        "INSERT INTO outbox (event_id, contact_id, event_type, payload)"
        " SELECT x.event_id, x.contact_id, x.event_type, x.payload"
        " FROM jsonb_to_recordset(%s::jsonb)"
        "  AS x(event_id uuid, contact_id uuid, event_type text, payload jsonb, seq int)"
        # Ids follow the order of the changes, and the relay publishes in id order.
        " ORDER BY x.seq",
        (f"[{', '.join(rows)}]",),
    )


async def try_become_relay(conn: AsyncConnection[Any]) -> bool:
    """Take the relay's session lock on this connection; False while another relay has it."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK_ID,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def unpublished(conn: AsyncConnection[Any], limit: int) -> list[tuple[int, str, str]]:
    """The oldest unpublished rows: (id, contact id, CloudEvent as JSON text).

    The event is published as PostgreSQL renders it: decoding and re-encoding it would
    change nothing but the cost.
    """
    cur = await conn.execute(
        "SELECT id, contact_id::text, payload::text FROM outbox WHERE published_at IS NULL"
        " ORDER BY id LIMIT %s",
        (limit,),
    )
    return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def mark_published(conn: AsyncConnection[Any], ids: list[int]) -> None:
    await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (ids,))
