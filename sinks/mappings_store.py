"""A form's field mappings and the versions they apply to, read and replaced as a set.

Replacing is one statement pair in the caller's transaction: the form row is locked first
(:func:`lock_form`), so two consoles saving at once apply one after the other, never mixed.
A mapping saved unchanged keeps its ``automatic`` flag (it was created on discovery).
The set has a version (``forms.mapping_version``: 1 as discovered, one more each time a saved
set differs from the one before), which field provenance records with each value written.

The caller holds exactly one account (``Database.account``): row-level security shows that
account's form and mappings only, and new mapping rows take that account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from schemas.mappings import FieldMapping, FormVersionSpec
from sinks.form_contexts import load_contexts


async def lock_form(conn: AsyncConnection[Any], form_id: int) -> bool:
    """Lock the form's row for this transaction; ``False`` if there is no such form."""
    cur = await conn.execute("SELECT 1 FROM forms WHERE id = %s FOR UPDATE", (form_id,))
    return await cur.fetchone() is not None


async def load_mappings(conn: AsyncConnection[Any], form_id: int) -> list[FieldMapping]:
    cur = await conn.execute(
        "SELECT source_kind, source_key, field_key, automatic FROM field_mappings"
        " WHERE form_id = %s ORDER BY source_kind, source_key",
        (form_id,),
    )
    return [FieldMapping(kind, key, field, auto) for kind, key, field, auto in await cur.fetchall()]


async def load_versions(conn: AsyncConnection[Any], form_id: int) -> list[FormVersionSpec]:
    """Every known version of the form with its questions, oldest first."""
    cur = await conn.execute(
        "SELECT version_id FROM form_versions WHERE form_id = %s ORDER BY version_id", (form_id,)
    )
    keys = [(form_id, version_id) for (version_id,) in await cur.fetchall()]
    contexts = await load_contexts(conn, keys)
    return [contexts[key].version for key in keys if key in contexts]


async def replace_mappings(
    conn: AsyncConnection[Any], form_id: int, mappings: Sequence[FieldMapping]
) -> list[FieldMapping]:
    """Make ``mappings`` the form's whole mapping set; returns it as stored. The form's
    mapping version goes up when the set differs from the one it replaces."""
    previous = await load_mappings(conn, form_id)
    automatic = {(m.source_kind, m.source_key, m.field_key) for m in previous if m.automatic}
    stored = [
        FieldMapping(
            m.source_kind,
            m.source_key,
            m.field_key,
            (m.source_kind, m.source_key, m.field_key) in automatic,
        )
        for m in mappings
    ]
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM field_mappings WHERE form_id = %s", (form_id,))
        if stored:
            await cur.executemany(
                "INSERT INTO field_mappings"
                " (form_id, source_kind, source_key, field_key, automatic)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(form_id, m.source_kind, m.source_key, m.field_key, m.automatic) for m in stored],
            )
        if _pairs(stored) != _pairs(previous):
            await cur.execute(
                "UPDATE forms SET mapping_version = mapping_version + 1 WHERE id = %s", (form_id,)
            )
    return stored


def _pairs(mappings: Sequence[FieldMapping]) -> set[tuple[str, str, str]]:
    return {(m.source_kind, m.source_key, m.field_key) for m in mappings}


async def mapping_version(conn: AsyncConnection[Any], form_id: int) -> int | None:
    """The version of the form's mapping set (of the one account in hand)."""
    cur = await conn.execute("SELECT mapping_version FROM forms WHERE id = %s", (form_id,))
    row = await cur.fetchone()
    return int(row[0]) if row else None
