"""Adding custom contact fields to an account's registry (``contact_fields``), so that a
form's questions can be mapped to fields the account did not have yet.

A custom field is never standard (its values live in ``contacts.custom_fields`` under its
key) nor system (mappings may fill it). Keys follow the registry's rule (lower-case letter,
then letters, digits and ``_``, at most 63 characters): :func:`field_key_for` derives one
from the name a person typed.

The caller holds exactly one account (``Database.account``); the new row takes that account.
Creating is meant to run in the transaction that saves the mappings using the field, so a
refused mapping set leaves no field behind.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, get_args

from psycopg import AsyncConnection

from schemas.mappings import ContactField, FieldType

# The types a person may give a new field: "relation" is leadsync's own (Forms filled).
CUSTOM_FIELD_TYPES: tuple[FieldType, ...] = tuple(
    kind for kind in get_args(FieldType) if kind != "relation"
)
_KEY_LENGTH = 63


def field_key_for(name: str) -> str | None:
    """The registry key for a field called ``name`` ("Colore preferito" ->
    ``colore_preferito``), or ``None`` when the name has no letter or digit to build one."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not key:
        return None
    if not key[0].isalpha():
        key = f"field_{key}"
    return key[:_KEY_LENGTH].rstrip("_")


async def create_contact_field(
    conn: AsyncConnection[Any], key: str, label: str, field_type: FieldType
) -> ContactField | None:
    """Add a custom field; ``None`` when the account already has a field with that key
    (deleted ones included: a key is never reused for other data)."""
    cur = await conn.execute(
        "INSERT INTO contact_fields (key, label, type) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING key",
        (key, label, field_type),
    )
    if await cur.fetchone() is None:
        return None
    return ContactField(key=key, label=label, type=field_type, standard=False)
