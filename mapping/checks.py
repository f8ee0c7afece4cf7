"""What is wrong with a form's mappings, for the admin API (before any lead fails).

:func:`check_mappings` reports every problem at once, each with a stable code (listed in
:mod:`mapping.errors`), an English message and the field and source concerned.
Mappings belong to a form, not a version: given a version, sources it lacks are reported as
``source_missing`` and left out of the ``duplicate_target`` check, so that question A of
version 1 and question B of version 2 may both fill ``company``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mapping.coerce import BOOLEAN_TARGETS
from mapping.errors import (
    DUPLICATE_SOURCE,
    DUPLICATE_TARGET,
    FIELD_MISSING,
    FIELD_NOT_MAPPABLE,
    IDENTITY_NOT_MAPPED,
    INCOMPATIBLE_SOURCE,
    SOURCE_INVALID,
    SOURCE_MISSING,
    MappingProblem,
)
from schemas.mappings import ContactField, FieldMapping, FieldType, FormVersionSpec

IDENTITY_FIELD = "email"
IDENTITY_TYPE: FieldType = "email"
_ID_KINDS = frozenset({"question", "consent"})
_KINDS = frozenset({"predefined", "question", "consent", "hidden"})


def check_mappings(
    mappings: Sequence[FieldMapping],
    fields: Mapping[str, ContactField],
    version: FormVersionSpec | None = None,
) -> list[MappingProblem]:
    """Every problem of these mappings, identity first, then in mapping order."""
    problems: list[MappingProblem] = []
    if not any(m.field_key == IDENTITY_FIELD for m in mappings):
        problems.append(
            MappingProblem(
                IDENTITY_NOT_MAPPED,
                f"nothing is mapped to the identity field '{IDENTITY_FIELD}':"
                " every lead of this form would fail",
                IDENTITY_FIELD,
            )
        )
    seen: set[tuple[str, str]] = set()
    by_target: dict[str, list[FieldMapping]] = {}
    for mapping in mappings:
        if (mapping.source_kind, mapping.source_key) in seen:
            problems.append(
                _problem(DUPLICATE_SOURCE, f"{_describe(mapping)} is mapped twice", mapping)
            )
        seen.add((mapping.source_kind, mapping.source_key))
        source = source_problem(mapping, version)
        problems += [source] if source else []
        target = target_problem(mapping, fields)
        problems += [target] if target else []
        if source is None:
            by_target.setdefault(mapping.field_key, []).append(mapping)
    for key, group in by_target.items():
        if len({source_name(m) for m in group}) > 1:
            sources = ", ".join(_describe(m) for m in group)
            problems.append(
                MappingProblem(
                    DUPLICATE_TARGET, f"'{key}' is filled by several sources: {sources}", key
                )
            )
    return problems


def source_problem(mapping: FieldMapping, version: FormVersionSpec | None) -> MappingProblem | None:
    """``source_invalid``, or ``source_missing`` given a version; ``None`` if the source is fine."""
    kind, key = mapping.source_kind, mapping.source_key
    if kind not in _KINDS or not key or (kind in _ID_KINDS and not _is_id(key)):
        return _problem(SOURCE_INVALID, f"{_describe(mapping)} is not a valid source", mapping)
    if version is None or source_in_version(mapping, version):
        return None
    where = f"form {version.form_id} version {version.version_id}"
    return _problem(SOURCE_MISSING, f"{_describe(mapping)} is not on {where}", mapping)


def target_problem(
    mapping: FieldMapping, fields: Mapping[str, ContactField]
) -> MappingProblem | None:
    """What keeps ``mapping``'s field from being filled by its source, if anything."""
    key = mapping.field_key
    if key == IDENTITY_FIELD:
        field_type = IDENTITY_TYPE  # the identity is the contact's key, always an email
    else:
        field = fields.get(key)
        if field is None or field.deleted:
            state = "was deleted" if field else "does not exist"
            return _problem(FIELD_MISSING, f"the contact field '{key}' {state}", mapping)
        if field.system or field.type == "relation":
            why = "is written by leadsync itself" if field.system else "is a relation field"
            return _problem(FIELD_NOT_MAPPABLE, f"the contact field '{key}' {why}", mapping)
        field_type = field.type
    if mapping.source_kind == "consent" and field_type not in BOOLEAN_TARGETS:
        return _problem(
            INCOMPATIBLE_SOURCE,
            f"{_describe(mapping)} is a yes/no answer and cannot fill '{key}', a {field_type}"
            " field (use a boolean, text or single-choice field)",
            mapping,
        )
    return None


def source_in_version(mapping: FieldMapping, version: FormVersionSpec) -> bool:
    kind, key = mapping.source_kind, mapping.source_key
    if kind == "predefined":
        return any(q.predefined_field == key for q in version.questions.values())
    if kind == "hidden":
        return key in version.hidden_fields
    if not _is_id(key):
        return False
    return int(key) in (version.questions if kind == "question" else version.consents)


def source_name(mapping: FieldMapping) -> str:
    """``kind:key`` (``question:707234246``), how problems name a source."""
    return f"{mapping.source_kind}:{mapping.source_key}"


def _is_id(key: str) -> bool:
    return key.isascii() and key.isdigit()


def _describe(mapping: FieldMapping) -> str:
    names = {
        "predefined": "predefined field",
        "question": "question",
        "consent": "consent",
        "hidden": "hidden field",
    }
    return f"{names.get(mapping.source_kind, mapping.source_kind)} {mapping.source_key!r}"


def _problem(code: str, message: str, mapping: FieldMapping) -> MappingProblem:
    return MappingProblem(code, message, mapping.field_key, source_name(mapping))
