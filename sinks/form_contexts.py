"""What importing a lead needs to know about its form version, per account: the form's
settings, the version's questions, consents and hidden fields, the field mappings and the
contact fields they point to. Read in one query per kind for a whole batch, whatever the
number of accounts in it (the accounts must be in hand)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from schemas.linkedin import Consent, FormQuestion
from schemas.mappings import ContactField, FieldMapping, FieldType, FormVersionSpec


@dataclass
class FormContext:
    """What importing a lead of one form version needs."""

    name: str
    import_enabled: bool
    version: FormVersionSpec
    mappings: list[FieldMapping] = field(default_factory=list)
    # False when only the version's number is known, not its questions.
    known_version: bool = False
    # The form's mapping set as it stands (forms.mapping_version): field provenance.
    mapping_version: int = 1

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
            "SELECT f.account_id, f.id, v.version_id, f.name, f.import_enabled,"
            "       f.mapping_version, f.locale,"
            "       v.questions::text, v.consents::text, v.hidden_fields::text"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::int[])"
            "      AS k(account_id, form_id, version_id)"
            " JOIN forms f ON f.account_id = k.account_id AND f.id = k.form_id"
            " JOIN form_versions v ON v.account_id = k.account_id AND v.form_id = k.form_id"
            "  AND v.version_id = k.version_id",
            ([a for a, _, _ in wanted], [f for _, f, _ in wanted], [v for _, _, v in wanted]),
        )
        for row in await cur.fetchall():
            account_id, form_id, version_id, name, enabled, mapping_version, locale, *content = row
            version = _version_spec(form_id, version_id, locale, *content)
            contexts[(account_id, form_id, version_id)] = FormContext(
                name=name,
                import_enabled=enabled,
                version=version,
                known_version=bool(version.questions),
                mapping_version=mapping_version,
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


async def load_registries(
    conn: AsyncConnection[Any], account_ids: Iterable[int]
) -> dict[int, dict[str, ContactField]]:
    """The whole field registry of each account (deleted fields included), by account then
    key; an account without fields is absent. The accounts must be in hand."""
    fields: dict[int, dict[str, ContactField]] = {}
    cur = await conn.execute(
        f"SELECT account_id, {_FIELD_COLUMNS} FROM contact_fields"
        " WHERE account_id = ANY(%s::bigint[])",
        (sorted(set(account_ids)),),
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
