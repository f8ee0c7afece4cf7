"""Dynamic audiences: an account's saved, named contact filters (migration 0013).

An audience stores its definition only, a :class:`sinks.contacts_query.ContactFilter`; its
members are the contacts matching it at the moment they are read (counted, paged, exported),
so a lead imported a second ago is already in every audience it matches, and a contact
erased is in none. Names are unique per account, whatever their case.

The caller holds one account (``Database.account``): row-level security keeps every other
account's audiences, and their contacts, out of reach, and a new audience is that
account's.

Exception tree::

    PermanentError (leadsync.errors)
    └── AudienceNameTaken    the account has an audience of that name (any case)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, errors, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from leadsync.errors import PermanentError
from sinks.batch_rows import STANDARD_COLUMNS
from sinks.contacts_query import (
    ContactFilter,
    PageAfter,
    count_contacts,
    count_each,
    find_contacts,
    matching,
)

# Rows fetched per round trip by the export's server-side cursor.
_FETCH_ROWS = 1000
# The export's columns around the account's custom fields (which come between).
_LEADING = ("id", "email", *STANDARD_COLUMNS)
_TRAILING = (
    "linkedin_imported",
    "linkedin_import_date",
    "linkedin_forms_filled",
    "created_at",
    "updated_at",
)


class AudienceNameTaken(PermanentError):
    """The account has an audience of that name already (names ignore case)."""

    def __init__(self, name: str) -> None:
        super().__init__(f'an audience named "{name}" exists already')
        self.name = name


@dataclass(frozen=True)
class Audience:
    id: UUID
    name: str
    filter: ContactFilter
    created_at: datetime
    updated_at: datetime


_COLUMNS = "id, name, filter, created_at, updated_at"


async def create_audience(conn: AsyncConnection[Any], name: str, where: ContactFilter) -> Audience:
    """A new audience of the account in hand; :class:`AudienceNameTaken` if the name is."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO audiences (name, filter) VALUES (%s, %s)"
            f" ON CONFLICT (account_id, lower(name)) DO NOTHING RETURNING {_COLUMNS}",
            (name, Jsonb(where.definition())),
        )
        row = await cur.fetchone()
    if row is None:
        raise AudienceNameTaken(name)
    return _audience(row)


async def list_audiences(conn: AsyncConnection[Any]) -> list[Audience]:
    """The audiences in hand, by name."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM audiences ORDER BY lower(name), id")
        return [_audience(row) for row in await cur.fetchall()]


async def list_audiences_with_counts(conn: AsyncConnection[Any]) -> list[tuple[Audience, int]]:
    """The audiences in hand, by name, each with its number of members now (all counted in
    one statement: the console's list reads them every few seconds)."""
    audiences = await list_audiences(conn)
    counts = await count_each(conn, [audience.filter for audience in audiences])
    return list(zip(audiences, counts, strict=True))


async def get_audience(conn: AsyncConnection[Any], audience_id: UUID) -> Audience | None:
    """The audience, or None when the accounts in hand have none of that id."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM audiences WHERE id = %s", (audience_id,))
        row = await cur.fetchone()
    return _audience(row) if row else None


async def update_audience(
    conn: AsyncConnection[Any],
    audience_id: UUID,
    name: str | None = None,
    where: ContactFilter | None = None,
) -> Audience | None:
    """Rename the audience and/or replace its filter (what is None stays); None when there
    is no such audience, :class:`AudienceNameTaken` when the new name is another's."""
    try:
        # A savepoint: the caller's transaction stays usable after a refused name.
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "UPDATE audiences SET name = coalesce(%(name)s, name),"
                " filter = coalesce(%(filter)s, filter), updated_at = now()"
                f" WHERE id = %(id)s RETURNING {_COLUMNS}",
                {
                    "id": audience_id,
                    "name": name,
                    "filter": Jsonb(where.definition()) if where is not None else None,
                },
            )
            row = await cur.fetchone()
    except errors.UniqueViolation:
        raise AudienceNameTaken(name or "") from None
    return _audience(row) if row else None


async def delete_audience(conn: AsyncConnection[Any], audience_id: UUID) -> bool:
    """Delete the audience (its contacts stay); False when there was none of that id."""
    cur = await conn.execute("DELETE FROM audiences WHERE id = %s", (audience_id,))
    return cur.rowcount > 0


async def count_members(conn: AsyncConnection[Any], audience: Audience) -> int:
    """How many contacts are in the audience now."""
    return await count_contacts(conn, audience.filter)


async def member_page(
    conn: AsyncConnection[Any],
    audience: Audience,
    limit: int,
    after: PageAfter | None = None,
    with_sources: bool = False,
) -> list[dict[str, Any]]:
    """A page of the audience's members now, as :func:`sinks.contacts_query.find_contacts`
    gives it (keyset-ordered: no member skipped or repeated while others arrive)."""
    return await find_contacts(conn, audience.filter, limit, after, with_sources)


async def member_rows(
    conn: AsyncConnection[Any], audience: Audience
) -> AsyncIterator[Sequence[Any]]:
    """Every member now, as CSV cells: the header first (``id``, ``email``, the standard
    fields, the account's custom fields by key, the LinkedIn fields, ``created_at``,
    ``updated_at``), then one row per contact in page order. A multiple choice is its
    values joined by "; ", "LinkedIn - Forms filled" the forms' names, newest first.
    Read through a server-side cursor: the size of the audience does not matter."""
    custom = await _custom_field_keys(conn)
    yield (*_LEADING, *custom, *_TRAILING)
    where, params = matching(audience.filter)
    query = sql.SQL(
        "SELECT {leading}, c.custom_fields, c.linkedin_imported, c.linkedin_import_date,"
        " (SELECT string_agg(s.form_name, '; ' ORDER BY s.submitted_at DESC)"
        "  FROM form_submissions s WHERE s.account_id = c.account_id AND s.contact_id = c.id),"
        " c.created_at, c.updated_at"
        " FROM contacts c WHERE {where} ORDER BY c.created_at, c.id"
    ).format(
        leading=sql.SQL(", ").join(sql.Identifier("c", name) for name in _LEADING),
        where=where,
    )
    async with conn.cursor(name="audience_export") as cur:
        cur.itersize = _FETCH_ROWS
        await cur.execute(query, params)
        async for row in cur:
            leading, (fields, *trailing) = row[: len(_LEADING)], row[len(_LEADING) :]
            values = [_cell((fields or {}).get(key)) for key in custom]
            yield (*leading, *values, *(_cell(value) for value in trailing))


async def _custom_field_keys(conn: AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute(
        "SELECT key FROM contact_fields WHERE NOT standard AND deleted_at IS NULL ORDER BY key"
    )
    return [key for (key,) in await cur.fetchall()]


def _cell(value: Any) -> Any:
    """A value as a spreadsheet reads it (a datetime is left to the CSV writer)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(_cell(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _audience(row: dict[str, Any]) -> Audience:
    return Audience(
        id=row["id"],
        name=row["name"],
        filter=ContactFilter.model_validate(row["filter"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
