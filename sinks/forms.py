"""Forms, their versions and field mappings as the import pipeline needs them.

A form first seen on a lead (before discovery) is registered from the lead's ``form``
projection, and its predefined questions are mapped automatically, like discovery does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from schemas.linkedin import FormQuestion, Lead, LeadForm
from schemas.mappings import FieldMapping
from sinks.form_contexts import FormContext, VersionKey, account_in_hand

AutoMapper = Callable[[list[FormQuestion]], list[FieldMapping]]


async def register_from_leads(
    conn: AsyncConnection[Any],
    leads: Iterable[Lead],
    auto_map: AutoMapper,
    known: Mapping[tuple[int, int], FormContext] | None = None,
) -> None:
    """:func:`register_forms` for the one account in hand; ``known`` by (form, version)."""
    account_id = await account_in_hand(conn)
    await register_forms(
        conn,
        [(account_id, lead) for lead in leads],
        auto_map,
        {(account_id, *key): context for key, context in (known or {}).items()},
    )


async def register_forms(
    conn: AsyncConnection[Any],
    leads: Iterable[tuple[int, Lead]],
    auto_map: AutoMapper,
    known: Mapping[VersionKey, FormContext] | None = None,
) -> None:
    """Record, for each (account, lead), the form and version the lead names in that
    account; ``auto_map`` maps a new version. The accounts must be in hand.

    ``known``: contexts read in this transaction (:func:`load_account_contexts`). A form or
    version they show the database holding as the leads would leave it is not written again,
    so a batch of known forms costs no statement here.
    """
    forms: dict[tuple[int, int], tuple[str, str | None, str | None]] = {}
    versions: dict[VersionKey, Lead] = {}
    for account_id, lead in leads:
        form_id, version_id = lead.form_version()
        name = lead.form.name if lead.form else ""
        locale = lead.form.locale() if lead.form else None
        forms[(account_id, form_id)] = (name, lead.owner_urn(), locale)
        if _questions(lead):
            versions[(account_id, form_id, version_id)] = lead
        else:
            versions.setdefault((account_id, form_id, version_id), lead)
    if known:
        held = {(account, form): context for (account, form, _), context in known.items()}
        forms = {
            key: values
            for key, values in forms.items()
            if not _form_unchanged(values, held.get(key))
        }
        versions = {
            key: lead
            for key, lead in versions.items()
            if key not in known or (not known[key].known_version and _questions(lead))
        }
    version_rows = []
    mapping_rows = []
    for (account_id, form_id, version_id), lead in sorted(versions.items()):
        version_rows.append((account_id, form_id, version_id, *version_content(lead.form)))
        mapping_rows += [
            (account_id, form_id, m.source_kind, m.source_key, m.field_key)
            for m in auto_map(_questions(lead))
        ]
    async with conn.cursor() as cur:
        if forms:
            await cur.executemany(
                "INSERT INTO forms (account_id, id, name, owner_urn, locale)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (account_id, id) DO UPDATE SET"
                "  name = coalesce(nullif(excluded.name, ''), forms.name),"
                "  owner_urn = coalesce(forms.owner_urn, excluded.owner_urn),"
                "  locale = coalesce(forms.locale, excluded.locale)"
                " WHERE (excluded.name <> '' AND excluded.name IS DISTINCT FROM forms.name)"
                "    OR (forms.locale IS NULL AND excluded.locale IS NOT NULL)",
                [(*key, *values) for key, values in sorted(forms.items())],
            )
            await cur.executemany(
                "INSERT INTO form_counters (account_id, form_id) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                sorted(forms),
            )
        if version_rows:
            # The forms rows first, in key order: writing the mappings rewrites them
            # (migration 0014), and the admin's mapping saves lock them first too.
            await cur.execute(
                "SELECT 1 FROM forms WHERE (account_id, id) IN"
                " (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))"
                " ORDER BY account_id, id FOR UPDATE",
                ([a for a, _, _, *_ in version_rows], [f for _, f, *_ in version_rows]),
            )
            # A version first seen without its questions gets them from a later, fuller lead.
            await cur.executemany(
                "INSERT INTO form_versions"
                " (account_id, form_id, version_id, questions, consents, hidden_fields)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (account_id, form_id, version_id) DO UPDATE SET"
                "  questions = excluded.questions, consents = excluded.consents,"
                "  hidden_fields = excluded.hidden_fields"
                " WHERE form_versions.questions = '[]'::jsonb"
                "   AND excluded.questions <> '[]'::jsonb",
                version_rows,
            )
        if mapping_rows:
            await cur.executemany(
                "INSERT INTO field_mappings"
                " (account_id, form_id, source_kind, source_key, field_key, automatic)"
                " VALUES (%s, %s, %s, %s, %s, true) ON CONFLICT DO NOTHING",
                sorted(set(mapping_rows)),
            )


def version_content(form: LeadForm | None) -> tuple[Jsonb, Jsonb, Jsonb]:
    """A form version's questions, consents and hidden fields as ``form_versions`` keeps them."""
    content = form.content if form else None
    questions = content.typed_questions() if content else []
    consents = content.legal_info.consents if content and content.legal_info else []
    hidden = form.hidden_fields if form else []
    return (
        Jsonb([q.model_dump(mode="json", by_alias=True) for q in questions]),
        Jsonb([c.model_dump(mode="json", by_alias=True) for c in consents]),
        Jsonb([h.model_dump(mode="json", by_alias=True) for h in hidden]),
    )


def _questions(lead: Lead) -> list[FormQuestion]:
    return lead.form.content.typed_questions() if lead.form and lead.form.content else []


def _form_unchanged(values: tuple[str, str | None, str | None], held: FormContext | None) -> bool:
    """Whether the forms upsert would leave the row ``held`` describes as it is."""
    name, _owner, locale = values
    return (
        held is not None
        and name in ("", held.name)
        and (locale is None or held.version.locale is not None)
    )


async def form_exists(conn: AsyncConnection[Any], form_id: int) -> bool:
    """Whether the one account in hand holds the form."""
    cur = await conn.execute(
        "SELECT 1 FROM forms WHERE account_id = leadsync_account() AND id = %s", (form_id,)
    )
    return await cur.fetchone() is not None


async def set_import(conn: AsyncConnection[Any], form_id: int, enabled: bool) -> dict[str, Any]:
    """Switch a form's Import on or off (registering the form by id if it is new).

    The first time Import goes on, the form's watermark starts there: the scheduled pull
    covers what comes after, older leads come in through a manual import.
    """
    async with conn.transaction():
        await conn.execute("INSERT INTO forms (id) VALUES (%s) ON CONFLICT DO NOTHING", (form_id,))
        await conn.execute(
            "INSERT INTO form_counters (form_id) VALUES (%s) ON CONFLICT DO NOTHING", (form_id,)
        )
        row = await (
            await conn.execute(
                "UPDATE forms SET import_enabled = %(on)s, updated_at = now(),"
                "  import_enabled_at = CASE WHEN %(on)s AND NOT import_enabled THEN now()"
                "                           ELSE import_enabled_at END,"
                "  watermark = CASE WHEN %(on)s THEN coalesce(watermark, now()) ELSE watermark END"
                " WHERE id = %(id)s RETURNING id, name, import_enabled, watermark",
                {"on": enabled, "id": form_id},
            )
        ).fetchone()
    assert row is not None
    return dict(zip(("id", "name", "import_enabled", "watermark"), row, strict=True))


@dataclass(frozen=True)
class FormToPull:
    """What the puller reads of a form to plan a run's window and reach LinkedIn."""

    form_id: int
    import_enabled: bool
    watermark: datetime | None
    import_enabled_at: datetime | None
    created_on_linkedin: datetime | None
    owner_urn: str | None
    lead_type: str | None
    connection_id: int | None


async def form_to_pull(conn: AsyncConnection[Any], form_id: int) -> FormToPull | None:
    cur = await conn.execute(
        "SELECT id, import_enabled, watermark, import_enabled_at, created_on_linkedin,"
        " owner_urn, lead_type, connection_id FROM forms WHERE id = %s",
        (form_id,),
    )
    row = await cur.fetchone()
    return FormToPull(*row) if row else None


async def advance_watermark(
    conn: AsyncConnection[Any], form_id: int, watermark: datetime | None
) -> None:
    """A run succeeded: the next scheduled pull starts from ``watermark``."""
    await conn.execute(
        "UPDATE forms SET watermark = %s, last_synced_at = now() WHERE id = %s",
        (watermark, form_id),
    )
