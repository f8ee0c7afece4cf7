"""Recording what discovery found on LinkedIn: ad accounts, the owners each connection may
read (with the organizations' names), forms and their latest versions; and the owners whose
leads LinkedIn is asked to push.

Everything discovery writes is the account's in hand (``Database.account``): two accounts
connected to one ad account each hold the ad account and its forms, with their own settings.
New forms start with Import off and Periodic sync on (24 h), their predefined questions
mapped automatically; a form already known keeps its settings and mappings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from schemas.linkedin import LeadForm
from sinks.forms import AutoMapper, version_content


async def save_ad_account(
    conn: AsyncConnection[Any],
    connection_id: int,
    urn: str,
    name: str | None,
    role: str | None,
    organization_urn: str | None,
    test: bool,
    status: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO ad_accounts (urn, connection_id, name, role, organization_urn, test, status)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (account_id, connection_id, urn) DO UPDATE SET"
        "  name = excluded.name, role = excluded.role,"
        "  organization_urn = excluded.organization_urn, test = excluded.test,"
        "  status = excluded.status, updated_at = now()",
        (urn, connection_id, name, role, organization_urn, test, status),
    )


async def record_reach(
    conn: AsyncConnection[Any],
    connection_id: int,
    listed_ad_accounts: Collection[str],
    readable_owners: Collection[str],
    owner_names: Mapping[str, str] | None = None,
) -> None:
    """What one connection reaches, as its discovery just found it (one account in hand):
    its ad accounts LinkedIn no longer lists are forgotten, and the owners whose forms it
    read become the connection's owners (:mod:`sinks.routing` routes by them), the others
    are removed. An owner read before keeps its ``found_at`` (when it was first found).
    ``owner_names`` are the names LinkedIn gave this time (organizations'); an owner without
    one keeps the name recorded before, if any."""
    owners = sorted(readable_owners)
    names = owner_names or {}
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM ad_accounts WHERE connection_id = %s AND urn <> ALL(%s::text[])",
            (connection_id, sorted(listed_ad_accounts)),
        )
        await conn.execute(
            "DELETE FROM connection_owners"
            " WHERE connection_id = %s AND owner_urn <> ALL(%s::text[])",
            (connection_id, owners),
        )
        await conn.execute(
            "INSERT INTO connection_owners (connection_id, owner_urn, owner_name)"
            " SELECT %s, o.owner, o.name FROM unnest(%s::text[], %s::text[]) AS o (owner, name)"
            " ON CONFLICT (account_id, connection_id, owner_urn) DO UPDATE"
            "  SET owner_name = excluded.owner_name"
            "  WHERE excluded.owner_name IS DISTINCT FROM connection_owners.owner_name"
            "   AND excluded.owner_name IS NOT NULL",
            (connection_id, owners, [names.get(owner) for owner in owners]),
        )


async def save_form(
    conn: AsyncConnection[Any],
    form: LeadForm,
    owner_urn: str,
    connection_id: int,
    lead_type: str | None,
    auto_map: AutoMapper,
) -> bool:
    """Record a discovered form and its current version; True when the form is new."""
    extra = form.model_extra or {}
    created = extra.get("created")
    created_at = (
        datetime.fromtimestamp(created / 1000, UTC) if isinstance(created, int | float) else None
    )
    questions = form.content.typed_questions() if form.content else []
    async with conn.transaction():
        row = await (
            await conn.execute(
                "INSERT INTO forms (id, name, owner_urn, state, locale, created_on_linkedin,"
                " connection_id, lead_type) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name,"
                "  owner_urn = excluded.owner_urn, state = excluded.state,"
                "  locale = excluded.locale, created_on_linkedin = excluded.created_on_linkedin,"
                "  connection_id = excluded.connection_id,"
                "  lead_type = coalesce(excluded.lead_type, forms.lead_type), updated_at = now()"
                " RETURNING (xmax = 0)",
                (
                    form.id,
                    form.name,
                    owner_urn,
                    extra.get("state"),
                    form.locale(),
                    created_at,
                    connection_id,
                    lead_type,
                ),
            )
        ).fetchone()
        await conn.execute(
            "INSERT INTO form_counters (form_id) VALUES (%s) ON CONFLICT DO NOTHING", (form.id,)
        )
        if form.version_id is not None:
            await conn.execute(
                "INSERT INTO form_versions (form_id, version_id, questions, consents,"
                " hidden_fields) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (account_id, form_id, version_id)"
                " DO UPDATE SET questions = excluded.questions,"
                "  consents = excluded.consents, hidden_fields = excluded.hidden_fields",
                (form.id, form.version_id, *version_content(form)),
            )
        for mapping in auto_map(questions):
            await conn.execute(
                "INSERT INTO field_mappings (form_id, source_kind, source_key, field_key,"
                " automatic) VALUES (%s, %s, %s, %s, true) ON CONFLICT DO NOTHING",
                (form.id, mapping.source_kind, mapping.source_key, mapping.field_key),
            )
    return bool(row and row[0])


@dataclass(frozen=True)
class OwnerToSubscribe:
    """An owner of an enabled form, and an account's connection that reaches it."""

    account_id: int
    owner_urn: str
    connection_id: int


# Disabled accounts and unusable connections subscribe nothing.
_OWNERS_TO_SUBSCRIBE = """
SELECT DISTINCT f.account_id, f.owner_urn, f.connection_id FROM forms f
JOIN accounts a ON a.id = f.account_id AND a.status = 'active'
JOIN linkedin_connections c
  ON c.account_id = f.account_id AND c.id = f.connection_id AND c.status = 'active'
WHERE f.import_enabled AND f.owner_urn IS NOT NULL
  AND (%(form)s::bigint IS NULL OR f.id = %(form)s)
ORDER BY f.owner_urn, f.account_id, f.connection_id
"""


async def subscription_owners(
    conn: AsyncConnection[Any], form_id: int | None = None
) -> list[OwnerToSubscribe]:
    """Every owner of an enabled form of the accounts in hand, with each connection that
    reaches it (an owner two accounts connected comes once per account); only the form's
    owner if ``form_id`` is given."""
    cur = await conn.execute(_OWNERS_TO_SUBSCRIBE, {"form": form_id})
    return [OwnerToSubscribe(*row) for row in await cur.fetchall()]
