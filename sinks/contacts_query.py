"""Contacts by their LinkedIn fields: the one filter of the contacts list, the dynamic
audiences and the console (:class:`ContactFilter`), and the queries on it.

Filters combine with AND. The submission filters (form id or name, ad account, campaign,
test lead, consent) must all hold for one and the same submission: "test leads of form Test
Form" means a test-lead submission *of that form*, not a test lead of any form plus a
submission of Test Form. Pages are keyset-ordered by (created_at, id), so a page never skips
or repeats a contact while others are being imported.

The caller holds the account (``Database.account``): row-level security keeps every other
account's contacts and submissions out, and the joins pair a contact with its submissions
within its own account (several accounts in hand never mix theirs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mapping.answers import localized_text
from schemas.linkedin import Consent
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
AD_ACCOUNT_URN = "urn:li:sponsoredAccount:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"


class ContactFilter(BaseModel):
    """Which contacts: by the LinkedIn fields, every given condition at once (an empty
    filter is every contact). Stored as an audience's definition, so its JSON is a contract:
    a field is added, never renamed.

    A blank string counts as not given (an empty box of the console's filter form); a
    datetime without an offset is UTC; an ad account or campaign may be given by its
    numeric id and is kept as its URN; a NUL character is refused (PostgreSQL's text cannot
    hold one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    imported: bool | None = Field(None, description="LinkedIn - Imported.")
    imported_from: datetime | None = Field(
        None, description="LinkedIn - Import date on or after this (UTC when no offset)."
    )
    imported_to: datetime | None = Field(
        None, description="LinkedIn - Import date before this (UTC when no offset)."
    )
    form_id: int | None = Field(None, ge=1, description="Filled this form (LinkedIn id).")
    form_name: str | None = Field(
        None, max_length=500, description="Filled a form of this name (case-insensitive)."
    )
    ad_account: str | None = Field(
        None, max_length=200, description="Ad account (the lead's owner): URN or numeric id."
    )
    campaign: str | None = Field(None, max_length=200, description="Campaign: URN or numeric id.")
    test_lead: bool | None = Field(None, description="The submission was a test lead.")
    consent_given: bool | None = Field(
        None,
        description="true: a consent was checked on the submission (that of `consent_id`,"
        " if given); false: none was (that one was not).",
    )
    consent_id: int | None = Field(
        None,
        ge=0,
        description="The consent `consent_given` is about (its id on the form): needs"
        " `consent_given` and a form (`form_id` or `form_name`).",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_not_given(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = without_nul(value).strip()
            return value or None
        return value

    @field_validator("imported_from", "imported_to")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)

    @field_validator("ad_account")
    @classmethod
    def _ad_account_urn(cls, value: str | None) -> str | None:
        return _urn(value, AD_ACCOUNT_URN, "an ad account")

    @field_validator("campaign")
    @classmethod
    def _campaign_urn(cls, value: str | None) -> str | None:
        return _urn(value, CAMPAIGN_URN, "a campaign")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.imported_from and self.imported_to and self.imported_from >= self.imported_to:
            raise ValueError("imported_from must be before imported_to")
        if self.consent_id is not None:
            if self.consent_given is None:
                raise ValueError(
                    "consent_id says which consent consent_given is about: give consent_given"
                    " (true or false) too"
                )
            if self.form_id is None and self.form_name is None:
                raise ValueError(
                    "consent_id is a consent of one form: give form_id or form_name too"
                )
        return self

    def definition(self) -> dict[str, Any]:
        """The conditions given, as JSON (how an audience keeps its filter)."""
        return self.model_dump(mode="json", exclude_none=True)

    def query_params(self) -> dict[str, str]:
        """The conditions given as URL query parameters (``/api/contacts?...``)."""
        return {
            name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in self.definition().items()
        }


def without_nul(value: str) -> str:
    """``value``, refused (ValueError, a pydantic validator's refusal) when it holds a NUL
    character: PostgreSQL's text cannot store one, and no name or filter needs it."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\x00)")
    return value


def _urn(value: str | None, prefix: str, what: str) -> str | None:
    if value is None or value.startswith("urn:li:"):
        return value
    if value.isascii() and value.isdigit() and len(value) <= 19:  # LinkedIn ids are 64-bit
        return f"{prefix}{value}"
    raise ValueError(f"{what} is its URN ({prefix}123) or its numeric id")


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
    if after is not None:
        conditions.append(sql.SQL("(c.created_at, c.id) > (%(after_at)s, %(after_id)s)"))
        params |= {"after_at": after.created_at, "after_id": after.id}
    return await _contacts(conn, conditions, params | {"limit": limit}, with_sources)


async def find_contact(
    conn: AsyncConnection[Any], contact_id: UUID, with_sources: bool = True
) -> dict[str, Any] | None:
    """One contact (as :func:`find_contacts` gives it), or None when the accounts in hand
    have no such contact."""
    found = await _contacts(
        conn,
        [sql.SQL("c.id = %(contact_id)s")],
        {"contact_id": contact_id, "limit": 1},
        with_sources,
    )
    return found[0] if found else None


async def count_contacts(conn: AsyncConnection[Any], where: ContactFilter) -> int:
    """How many contacts match ``where`` now."""
    return (await count_each(conn, [where]))[0]


async def count_each(conn: AsyncConnection[Any], filters: Sequence[ContactFilter]) -> list[int]:
    """How many contacts match each of ``filters`` now, in one statement (one round trip
    however many; each count is planned on its own, with the indexes its filter can use)."""
    if not filters:
        return []
    counts: list[sql.Composable] = []
    params: dict[str, Any] = {}
    for index, where in enumerate(filters):
        condition, own = matching(where, f"_{index}")
        counts.append(
            sql.SQL("SELECT {}, count(*) FROM contacts c WHERE {}").format(index, condition)
        )
        params |= own
    # UNION ALL rather than one column per count: a select list holds at most 1664 columns.
    cur = await conn.execute(sql.SQL(" UNION ALL ").join(counts) + sql.SQL(" ORDER BY 1"), params)
    return [int(count) for _index, count in await cur.fetchall()]


def matching(where: ContactFilter, key: str = "") -> tuple[sql.Composable, dict[str, Any]]:
    """The SQL condition on ``contacts c`` for ``where``, and its parameters (for the
    other queries of contacts, such as :mod:`sinks.audiences`' export). ``key`` ends every
    parameter's name, so that several filters' conditions can share one statement."""
    conditions, params = _conditions(where, key)
    return _all(conditions), params


async def _contacts(
    conn: AsyncConnection[Any],
    conditions: list[sql.Composable],
    params: dict[str, Any],
    with_sources: bool,
) -> list[dict[str, Any]]:
    columns = ("account_id", *CONTACT_COLUMNS, *(("field_sources",) if with_sources else ()))
    query = sql.SQL(
        "SELECT {columns} FROM contacts c WHERE {where} ORDER BY c.created_at, c.id LIMIT %(limit)s"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier("c", name) for name in columns),
        where=_all(conditions),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
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


# Each condition with "{}" where its parameter goes (named after the filter's field).
_CONTACT_CONDITIONS = {
    "imported": "c.linkedin_imported = {}",
    "imported_from": "c.linkedin_import_date >= {}",
    "imported_to": "c.linkedin_import_date < {}",
}
_SUBMISSION_CONDITIONS = {
    "form_id": "s.form_id = {}",
    "form_name": "lower(s.form_name) = lower({})",
    "ad_account": "s.owner_urn = {}",
    "campaign": "s.campaign_urn = {}",
    "test_lead": "s.test_lead = {}",
}


def _conditions(where: ContactFilter, key: str = "") -> tuple[list[sql.Composable], dict[str, Any]]:
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}

    def condition(template: str, name: str, value: Any) -> sql.Composable:
        params[name + key] = value
        return sql.SQL(template).format(sql.Placeholder(name + key))

    for name, template in _CONTACT_CONDITIONS.items():
        if getattr(where, name) is not None:
            conditions.append(condition(template, name, getattr(where, name)))
    on_submission: list[sql.Composable] = []
    for name, template in _SUBMISSION_CONDITIONS.items():
        if getattr(where, name) is not None:
            on_submission.append(condition(template, name, getattr(where, name)))
    if where.consent_given is not None:
        # form_submissions.consents holds the lead's consent responses as received
        # (mapping.answers.resolve_consents): [{"consentId": 0, "accepted": true, ...}].
        accepted: dict[str, Any] = {"accepted": True}
        if where.consent_id is not None:
            accepted["consentId"] = where.consent_id
        template = "s.consents @> {}" if where.consent_given else "NOT s.consents @> {}"
        on_submission.append(condition(template, "consent", Jsonb([accepted])))
    if on_submission:
        conditions.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM form_submissions s"
                " WHERE s.account_id = c.account_id AND s.contact_id = c.id AND {})"
            ).format(sql.SQL(" AND ").join(on_submission))
        )
    return conditions, params


def _all(conditions: list[sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")


_FORMS = """
SELECT f.id, f.name, f.owner_urn, f.owner_name, f.locale,
       coalesce((SELECT jsonb_agg(v.consents ORDER BY v.version_id DESC) FROM form_versions v
                 WHERE v.account_id = f.account_id AND v.form_id = f.id), '[]') AS versions
FROM forms f
ORDER BY lower(f.name), f.id
"""
# campaign_name rides in the index (0013), so this reads the index, not the submissions.
_CAMPAIGNS = """
SELECT s.campaign_urn AS urn, max(s.campaign_name) AS name
FROM form_submissions s
WHERE s.campaign_urn IS NOT NULL
GROUP BY s.campaign_urn
ORDER BY lower(max(s.campaign_name)), s.campaign_urn
"""


async def filter_choices(conn: AsyncConnection[Any]) -> dict[str, list[dict[str, Any]]]:
    """What the filters can be set to in the accounts in hand: ``forms`` (id, name, owner,
    and ``consents``: each consent id of any version with its text, the newest version's),
    ``ad_accounts`` (the forms' owners: urn, name) and ``campaigns`` (those of the
    submissions: urn, name)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_FORMS)
        forms = await cur.fetchall()
        await cur.execute(_CAMPAIGNS)
        campaigns = await cur.fetchall()
    owners: dict[str, str | None] = {}
    for form in forms:
        versions = form.pop("versions")
        locale = form.pop("locale")
        form["consents"] = _consents(versions, locale)
        if form["owner_urn"]:
            owners[form["owner_urn"]] = owners.get(form["owner_urn"]) or form["owner_name"]
    ad_accounts = [{"urn": urn, "name": name} for urn, name in owners.items()]
    ad_accounts.sort(key=lambda a: ((a["name"] or "").lower(), a["urn"]))
    return {"forms": forms, "ad_accounts": ad_accounts, "campaigns": campaigns}


async def recently_imported_forms(conn: AsyncConnection[Any], limit: int) -> list[int]:
    """The ids of the ``limit`` forms in hand whose leads were imported most recently
    (the console's quick filters), newest first."""
    cur = await conn.execute(
        "SELECT form_id FROM form_counters WHERE last_imported_at IS NOT NULL"
        " ORDER BY last_imported_at DESC, form_id LIMIT %s",
        (limit,),
    )
    return [int(form_id) for (form_id,) in await cur.fetchall()]


def _consents(versions: list[list[dict[str, Any]]], locale: str | None) -> list[dict[str, Any]]:
    """A form's consents over its versions (newest first), each id once, by id."""
    found: dict[int, dict[str, Any]] = {}
    for consents in versions:
        for raw in consents:
            consent = Consent.model_validate(raw)
            found.setdefault(
                consent.id,
                {
                    "id": consent.id,
                    "text": localized_text(consent.consent, locale),
                    "required": consent.check_required,
                },
            )
    return [found[key] for key in sorted(found)]
