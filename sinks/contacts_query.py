"""Contacts by their LinkedIn fields, for the console's filters and audiences.

Filters combine with AND. The submission filters (form id or name, ad account, campaign,
test lead) must all hold for one and the same submission: "test leads of form Test Form"
means a test-lead submission *of that form*, not a test lead of any form plus a submission
of Test Form. Pages are keyset-ordered by (created_at, id), so a page never skips or
repeats a contact while others are being imported.

The caller holds the account (``Database.account``): row-level security keeps every other
account's contacts and submissions out, and the joins pair a contact with its submissions
within its own account (several accounts in hand never mix theirs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from sinks.batch_rows import STANDARD_COLUMNS
from sinks.provenance import field_origins

CONTACT_COLUMNS = (
    "id",
    "email",
    *STANDARD_COLUMNS,
    "custom_fields",
    "linkedin_imported",
    "linkedin_import_date",
    "created_at",
    "updated_at",
)
SUBMISSION_COLUMNS = (
    "contact_id",
    "form_id",
    "form_name",
    "lead_id",
    "form_version",
    "owner_urn",
    "owner_name",
    "campaign_urn",
    "campaign_name",
    "test_lead",
    "submitted_at",
    "imported_at",
)


@dataclass(frozen=True)
class ContactFilter:
    contact_id: UUID | None = None
    imported: bool | None = None
    imported_from: datetime | None = None  # linkedin_import_date >= this
    imported_to: datetime | None = None  # linkedin_import_date < this
    form_id: int | None = None
    form_name: str | None = None  # exact, case-insensitive
    ad_account: str | None = None  # owner URN
    campaign: str | None = None  # campaign URN
    test_lead: bool | None = None


@dataclass(frozen=True)
class PageAfter:
    """The last contact of the previous page."""

    created_at: datetime
    id: UUID


async def find_contacts(
    conn: AsyncConnection[Any],
    where: ContactFilter,
    limit: int,
    after: PageAfter | None = None,
    with_sources: bool = False,
) -> list[dict[str, Any]]:
    """Up to ``limit`` contacts matching ``where``, each with its ``submissions``; with
    ``with_sources``, each with ``field_sources``: where each field's value came from
    (:func:`sinks.provenance.field_origins`)."""
    conditions, params = _conditions(where)
    columns = ("account_id", *CONTACT_COLUMNS, *(("field_sources",) if with_sources else ()))
    if after is not None:
        conditions.append(sql.SQL("(c.created_at, c.id) > (%(after_at)s, %(after_id)s)"))
        params |= {"after_at": after.created_at, "after_id": after.id}
    query = sql.SQL(
        "SELECT {columns} FROM contacts c WHERE {where} ORDER BY c.created_at, c.id LIMIT %(limit)s"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier("c", name) for name in columns),
        where=sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true"),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params | {"limit": limit})
        contacts = await cur.fetchall()
        if not contacts:
            return []
        await cur.execute(
            sql.SQL(
                "SELECT s.account_id, {columns} FROM form_submissions s"
                " JOIN unnest(%s::bigint[], %s::uuid[]) AS c (account_id, id)"
                "  ON s.account_id = c.account_id AND s.contact_id = c.id"
                " ORDER BY s.submitted_at DESC"
            ).format(
                columns=sql.SQL(", ").join(sql.Identifier("s", name) for name in SUBMISSION_COLUMNS)
            ),
            ([c["account_id"] for c in contacts], [c["id"] for c in contacts]),
        )
        submissions: dict[tuple[int, UUID], list[dict[str, Any]]] = {}
        for row in await cur.fetchall():
            key = (row.pop("account_id"), row.pop("contact_id"))
            submissions.setdefault(key, []).append(row)
    for contact in contacts:
        contact["submissions"] = submissions.get((contact.pop("account_id"), contact["id"]), [])
        if with_sources:
            contact["field_sources"] = field_origins(contact)
    return contacts


def _conditions(where: ContactFilter) -> tuple[list[sql.Composable], dict[str, Any]]:
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    contact = {
        "contact_id": "c.id = %(contact_id)s",
        "imported": "c.linkedin_imported = %(imported)s",
        "imported_from": "c.linkedin_import_date >= %(imported_from)s",
        "imported_to": "c.linkedin_import_date < %(imported_to)s",
    }
    submission = {
        "form_id": "s.form_id = %(form_id)s",
        "form_name": "lower(s.form_name) = lower(%(form_name)s)",
        "ad_account": "s.owner_urn = %(ad_account)s",
        "campaign": "s.campaign_urn = %(campaign)s",
        "test_lead": "s.test_lead = %(test_lead)s",
    }
    for name, condition in contact.items():
        if getattr(where, name) is not None:
            conditions.append(sql.SQL(condition))
            params[name] = getattr(where, name)
    on_submission = []
    for name, condition in submission.items():
        if getattr(where, name) is not None:
            on_submission.append(sql.SQL(condition))
            params[name] = getattr(where, name)
    if on_submission:
        conditions.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM form_submissions s"
                " WHERE s.account_id = c.account_id AND s.contact_id = c.id AND {})"
            ).format(sql.SQL(" AND ").join(on_submission))
        )
    return conditions, params
