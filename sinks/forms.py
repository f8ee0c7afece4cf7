"""Forms, their versions and field mappings as the import pipeline needs them.

A form first seen on a lead (before discovery) is registered from the lead's ``form``
projection, and its predefined questions are mapped automatically, like discovery does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from schemas.linkedin import Consent, FormQuestion, Lead, LeadForm
from schemas.mappings import ContactField, FieldMapping, FieldType, FormVersionSpec

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


# A form version of an account: (account id, form id, version id).
VersionKey = tuple[int, int, int]


async def account_in_hand(conn: AsyncConnection[Any]) -> int:
    """The one account the transaction holds (raises when it holds none or several)."""
    cur = await conn.execute("SELECT leadsync_account()")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


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


async def load_contexts(
    conn: AsyncConnection[Any], keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], FormContext]:
    """:func:`load_account_contexts` for the one account in hand, by (form, version)."""
    wanted = set(keys)
    if not wanted:
        return {}
    account_id = await account_in_hand(conn)
    found = await load_account_contexts(conn, [(account_id, *key) for key in wanted])
    return {(form_id, version_id): c for (_, form_id, version_id), c in found.items()}


async def load_account_contexts(
    conn: AsyncConnection[Any], keys: Iterable[VersionKey]
) -> dict[VersionKey, FormContext]:
    """Form settings, version content and mappings for each known (account, form id,
    version id). The accounts must be in hand."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    contexts: dict[VersionKey, FormContext] = {}
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT f.account_id, f.id, v.version_id, f.name, f.import_enabled, f.locale,"
            "       v.questions::text, v.consents::text, v.hidden_fields::text"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::int[])"
            "      AS k(account_id, form_id, version_id)"
            " JOIN forms f ON f.account_id = k.account_id AND f.id = k.form_id"
            " JOIN form_versions v ON v.account_id = k.account_id AND v.form_id = k.form_id"
            "  AND v.version_id = k.version_id",
            ([a for a, _, _ in wanted], [f for _, f, _ in wanted], [v for _, _, v in wanted]),
        )
        for row in await cur.fetchall():
            account_id, form_id, version_id, name, enabled, locale, *content = row
            version = _version_spec(form_id, version_id, locale, *content)
            contexts[(account_id, form_id, version_id)] = FormContext(
                name=name,
                import_enabled=enabled,
                version=version,
                known_version=bool(version.questions),
            )
        forms = sorted({(a, f) for a, f, _ in wanted})
        await cur.execute(
            "SELECT account_id, form_id, source_kind, source_key, field_key, automatic"
            " FROM field_mappings"
            " WHERE (account_id, form_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
            ([a for a, _ in forms], [f for _, f in forms]),
        )
        mappings: dict[tuple[int, int], list[FieldMapping]] = {}
        for account_id, form_id, kind, key, field_key, automatic in await cur.fetchall():
            mappings.setdefault((account_id, form_id), []).append(
                FieldMapping(kind, key, field_key, automatic)
            )
    for (account_id, form_id, _), context in contexts.items():
        context.mappings = mappings.get((account_id, form_id), [])
    return contexts


# Form versions parsed, by their content as stored. Accounts connected to one ad account
# hold the same versions, and batch after batch brings the same few: parsing each once (not
# once per account and batch) keeps a batch of leads of many accounts as cheap as one of a
# single account. The key is the whole content, so a changed version is parsed again.
_SpecKey = tuple[int, int, str | None, str, str, str]
_PARSED: dict[_SpecKey, FormVersionSpec] = {}
_PARSED_MAX = 2048


def _version_spec(
    form_id: int, version_id: int, locale: str | None, questions: str, consents: str, hidden: str
) -> FormVersionSpec:
    """The spec of a version from its stored JSON texts (questions, consents, hidden fields)."""
    key = (form_id, version_id, locale, questions, consents, hidden)
    spec = _PARSED.get(key)
    if spec is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        spec = _PARSED[key] = FormVersionSpec(
            form_id=form_id,
            version_id=version_id,
            questions={
                q.question_id: q for q in map(FormQuestion.model_validate, json.loads(questions))
            },
            consents={c["id"]: Consent.model_validate(c) for c in json.loads(consents)},
            hidden_fields={h["name"]: h.get("value") for h in json.loads(hidden)},
            locale=locale,
        )
    return spec


async def load_contact_fields(conn: AsyncConnection[Any]) -> dict[str, ContactField]:
    """The field registry of the one account in hand, deleted fields included (a mapping to
    one must fail clearly)."""
    cur = await conn.execute(
        f"SELECT {_FIELD_COLUMNS} FROM contact_fields WHERE account_id = leadsync_account()"
    )
    return {row[0]: _contact_field(*row) for row in await cur.fetchall()}


async def load_accounts_contact_fields(
    conn: AsyncConnection[Any], keys: Iterable[tuple[int, str]]
) -> dict[int, dict[str, ContactField]]:
    """The fields named by (account, field key), by account then key; deleted fields
    included. A key the account lacks is absent, as it is from the whole registry: mapping
    needs only the fields its mappings name, and a batch of many accounts would otherwise
    read every account's registry."""
    wanted = sorted(set(keys))
    fields: dict[int, dict[str, ContactField]] = {}
    if not wanted:
        return fields
    cur = await conn.execute(
        f"SELECT account_id, {_FIELD_COLUMNS} FROM contact_fields"
        " WHERE (account_id, key) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))",
        ([a for a, _ in wanted], [k for _, k in wanted]),
    )
    for account_id, *row in await cur.fetchall():
        fields.setdefault(account_id, {})[row[0]] = _contact_field(*row)
    return fields


_FIELD_COLUMNS = "key, label, type, standard, choices, deleted_at IS NOT NULL, system"


def _contact_field(
    key: str,
    label: str,
    kind: FieldType,
    standard: bool,
    choices: list[str] | None,
    deleted: bool,
    system: bool,
) -> ContactField:
    return ContactField(
        key=key,
        label=label,
        type=kind,
        standard=standard,
        choices=tuple(choices) if choices is not None else None,
        deleted=deleted,
        system=system,
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
