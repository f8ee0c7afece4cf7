"""Forms, their versions and field mappings as the import pipeline needs them.

A form first seen on a lead (before discovery) is registered from the lead's ``form``
projection, and its predefined questions are mapped automatically, like discovery does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from schemas.linkedin import Consent, FormQuestion, Lead, LeadForm
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec

AutoMapper = Callable[[list[FormQuestion]], list[FieldMapping]]


@dataclass
class FormContext:
    """What importing a lead of one form version needs."""

    name: str
    import_enabled: bool
    version: FormVersionSpec
    mappings: list[FieldMapping] = field(default_factory=list)
    # False when only the version's number is known, not its questions.
    known_version: bool = False

    @property
    def form_id(self) -> int:
        return self.version.form_id

    @property
    def version_id(self) -> int:
        return self.version.version_id


async def register_from_leads(
    conn: AsyncConnection[Any],
    leads: Iterable[Lead],
    auto_map: AutoMapper,
    known: Mapping[tuple[int, int], FormContext] | None = None,
) -> None:
    """Record forms and versions named by these leads; ``auto_map`` maps a new version.

    ``known``: contexts read in this transaction (:func:`load_contexts`). A form or version
    they show the database holding as the leads would leave it is not written again, so a
    batch of known forms costs no statement here.
    """
    forms: dict[int, tuple[str, str | None, str | None]] = {}
    versions: dict[tuple[int, int], Lead] = {}
    for lead in leads:
        form_id, version_id = lead.form_version()
        name = lead.form.name if lead.form else ""
        forms[form_id] = (name, lead.owner_urn(), lead.form.locale() if lead.form else None)
        if _questions(lead):
            versions[(form_id, version_id)] = lead
        else:
            versions.setdefault((form_id, version_id), lead)
    if known:
        held = {context.form_id: context for context in known.values()}
        forms = {
            form_id: values
            for form_id, values in forms.items()
            if not _form_unchanged(values, held.get(form_id))
        }
        versions = {
            key: lead
            for key, lead in versions.items()
            if key not in known or (not known[key].known_version and _questions(lead))
        }
    version_rows = []
    mapping_rows = []
    for (form_id, version_id), lead in sorted(versions.items()):
        version_rows.append((form_id, version_id, *version_content(lead.form)))
        mapping_rows += [
            (form_id, m.source_kind, m.source_key, m.field_key) for m in auto_map(_questions(lead))
        ]
    async with conn.cursor() as cur:
        if forms:
            await cur.executemany(
                "INSERT INTO forms (id, name, owner_urn, locale) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (account_id, id) DO UPDATE SET"
                "  name = coalesce(nullif(excluded.name, ''), forms.name),"
                "  owner_urn = coalesce(forms.owner_urn, excluded.owner_urn),"
                "  locale = coalesce(forms.locale, excluded.locale)"
                " WHERE (excluded.name <> '' AND excluded.name IS DISTINCT FROM forms.name)"
                "    OR (forms.locale IS NULL AND excluded.locale IS NOT NULL)",
                [(form_id, *values) for form_id, values in sorted(forms.items())],
            )
            await cur.executemany(
                "INSERT INTO form_counters (form_id) VALUES (%s) ON CONFLICT DO NOTHING",
                [(form_id,) for form_id in sorted(forms)],
            )
        if version_rows:
            # A version first seen without its questions gets them from a later, fuller lead.
            await cur.executemany(
                "INSERT INTO form_versions"
                " (form_id, version_id, questions, consents, hidden_fields)"
                " VALUES (%s, %s, %s, %s, %s)"
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
                " (form_id, source_kind, source_key, field_key, automatic)"
                " VALUES (%s, %s, %s, %s, true) ON CONFLICT DO NOTHING",
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


async def load_contexts(
    conn: AsyncConnection[Any], keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], FormContext]:
    """Form settings, version content and mappings for each known (form id, version id)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    contexts: dict[tuple[int, int], FormContext] = {}
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT f.id, v.version_id, f.name, f.import_enabled, f.locale, v.questions,"
            "       v.consents, v.hidden_fields"
            " FROM unnest(%s::bigint[], %s::int[]) AS k(form_id, version_id)"
            " JOIN forms f ON f.id = k.form_id"
            " JOIN form_versions v ON v.form_id = k.form_id AND v.version_id = k.version_id",
            ([f for f, _ in wanted], [v for _, v in wanted]),
        )
        for row in await cur.fetchall():
            form_id, version_id, name, enabled, locale, questions, consents, hidden = row
            parsed = [FormQuestion.model_validate(q) for q in questions]
            version = FormVersionSpec(
                form_id=form_id,
                version_id=version_id,
                questions={q.question_id: q for q in parsed},
                consents={c["id"]: Consent.model_validate(c) for c in consents},
                hidden_fields={h["name"]: h.get("value") for h in hidden},
                locale=locale,
            )
            contexts[(form_id, version_id)] = FormContext(
                name=name, import_enabled=enabled, version=version, known_version=bool(parsed)
            )
        await cur.execute(
            "SELECT form_id, source_kind, source_key, field_key, automatic"
            " FROM field_mappings WHERE form_id = ANY(%s)",
            (sorted({form_id for form_id, _ in wanted}),),
        )
        mappings: dict[int, list[FieldMapping]] = {}
        for form_id, kind, key, field_key, automatic in await cur.fetchall():
            mappings.setdefault(form_id, []).append(FieldMapping(kind, key, field_key, automatic))
    for context in contexts.values():
        context.mappings = mappings.get(context.form_id, [])
    return contexts


async def load_contact_fields(conn: AsyncConnection[Any]) -> dict[str, ContactField]:
    """The field registry, deleted fields included (a mapping to one must fail clearly)."""
    cur = await conn.execute(
        "SELECT key, label, type, standard, choices, deleted_at IS NOT NULL, system"
        " FROM contact_fields"
    )
    return {
        key: ContactField(
            key=key,
            label=label,
            type=kind,
            standard=standard,
            choices=tuple(choices) if choices is not None else None,
            deleted=deleted,
            system=system,
        )
        for key, label, kind, standard, choices, deleted, system in await cur.fetchall()
    }


async def form_exists(conn: AsyncConnection[Any], form_id: int) -> bool:
    cur = await conn.execute("SELECT 1 FROM forms WHERE id = %s", (form_id,))
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


_OWNERS_TO_SUBSCRIBE = """
SELECT DISTINCT f.owner_urn, f.connection_id FROM forms f
JOIN linkedin_connections c ON c.id = f.connection_id AND c.status = 'active'
WHERE f.import_enabled AND f.owner_urn IS NOT NULL AND f.id = coalesce(%(form)s, f.id)
ORDER BY 1
"""


async def owners_to_subscribe(
    conn: AsyncConnection[Any], form_id: int | None = None
) -> list[tuple[str, int]]:
    """(owner URN, connection id) of every enabled form, or of the one form if it is."""
    cur = await conn.execute(_OWNERS_TO_SUBSCRIBE, {"form": form_id})
    return [(owner_urn, connection_id) for owner_urn, connection_id in await cur.fetchall()]
