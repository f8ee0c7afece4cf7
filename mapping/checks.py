"""What is wrong with a form's mappings, for the admin API (before any lead fails).

:func:`check_mappings` reports every problem at once, each with a stable code (listed in
:mod:`mapping.errors`), an English message and the field and source concerned.
Mappings belong to a form, not a version: given a version, sources it lacks are reported as
``source_missing`` and left out of the ``duplicate_target`` check, so that question A of
version 1 and question B of version 2 may both fill ``company``.

Each problem is a :class:`DescribedProblem`: its message is a template (English, a
translation catalog's key) with named parameters, so that the API shows the English text and
a console says the same in its reader's language, naming fields and questions as its page
does. The placeholders, and what their parameters hold:

- ``{field}``: a contact field's key (the API quotes it: ``'first_name'``);
- ``{source}``: a source as ``kind:key`` (the API: ``question '707234246'``);
- ``{sources}``: several sources, in mapping order (the API joins them with commas);
- ``{type}``: a contact field's type (``number``); ``{form}``, ``{version}``: ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
SOURCE_KIND_NAMES = {
    "predefined": "predefined field",
    "question": "question",
    "consent": "consent",
    "hidden": "hidden field",
}

# The identity's message names no parameter: it reads the same everywhere.
IDENTITY_TEMPLATE = (
    f"nothing is mapped to the identity field '{IDENTITY_FIELD}':"
    " every lead of this form would fail"
)
DUPLICATE_SOURCE_TEMPLATE = "{source} is mapped twice"
DUPLICATE_TARGET_TEMPLATE = "{field} is filled by several sources: {sources}"
SOURCE_INVALID_TEMPLATE = "{source} is not a valid source"
SOURCE_MISSING_TEMPLATE = "{source} is not on form {form} version {version}"
FIELD_DELETED_TEMPLATE = "the contact field {field} was deleted"
FIELD_UNKNOWN_TEMPLATE = "the contact field {field} does not exist"
FIELD_SYSTEM_TEMPLATE = "the contact field {field} is written by leadsync itself"
FIELD_RELATION_TEMPLATE = "the contact field {field} is a relation field"
INCOMPATIBLE_TEMPLATE = (
    "{source} is a yes/no answer and cannot fill {field}, a {type} field"
    " (use a boolean, text or single-choice field)"
)

ProblemParam = str | tuple[str, ...]


@dataclass(frozen=True)
class DescribedProblem(MappingProblem):
    """A :class:`MappingProblem` whose ``message`` is ``template`` filled in English from
    ``params`` (name, value pairs; see the module docstring for what each placeholder holds)."""

    template: str = ""
    params: tuple[tuple[str, ProblemParam], ...] = ()

    @property
    def arguments(self) -> dict[str, ProblemParam]:
        return dict(self.params)


def described(
    code: str,
    template: str,
    field: str | None = None,
    source: str | None = None,
    params: Mapping[str, ProblemParam] | None = None,
) -> DescribedProblem:
    """The problem with its English message made from ``template`` and ``params``."""
    params = dict(params or {})
    english = {name: _english(name, value) for name, value in params.items()}
    message = template.format(**english) if english else template
    return DescribedProblem(code, message, field, source, template, tuple(params.items()))


def check_mappings(
    mappings: Sequence[FieldMapping],
    fields: Mapping[str, ContactField],
    version: FormVersionSpec | None = None,
) -> list[MappingProblem]:
    """Every problem of these mappings, identity first, then in mapping order."""
    problems: list[MappingProblem] = []
    if not any(m.field_key == IDENTITY_FIELD for m in mappings):
        problems.append(described(IDENTITY_NOT_MAPPED, IDENTITY_TEMPLATE, IDENTITY_FIELD))
    seen: set[tuple[str, str]] = set()
    by_target: dict[str, list[FieldMapping]] = {}
    for mapping in mappings:
        if (mapping.source_kind, mapping.source_key) in seen:
            problems.append(_problem(DUPLICATE_SOURCE, DUPLICATE_SOURCE_TEMPLATE, mapping))
        seen.add((mapping.source_kind, mapping.source_key))
        source = source_problem(mapping, version)
        problems += [source] if source else []
        target = target_problem(mapping, fields)
        problems += [target] if target else []
        if source is None:
            by_target.setdefault(mapping.field_key, []).append(mapping)
    for key, group in by_target.items():
        if len({source_name(m) for m in group}) > 1:
            problems.append(
                described(
                    DUPLICATE_TARGET, DUPLICATE_TARGET_TEMPLATE, key,
                    params={"field": key, "sources": tuple(source_name(m) for m in group)},
                )
            )  # fmt: skip
    return problems


def source_problem(mapping: FieldMapping, version: FormVersionSpec | None) -> MappingProblem | None:
    """``source_invalid``, or ``source_missing`` given a version; ``None`` if the source is fine."""
    kind, key = mapping.source_kind, mapping.source_key
    if kind not in _KINDS or not key or (kind in _ID_KINDS and not _is_id(key)):
        return _problem(SOURCE_INVALID, SOURCE_INVALID_TEMPLATE, mapping)
    if version is None or source_in_version(mapping, version):
        return None
    where = {"form": str(version.form_id), "version": str(version.version_id)}
    return _problem(SOURCE_MISSING, SOURCE_MISSING_TEMPLATE, mapping, where)


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
            template = FIELD_DELETED_TEMPLATE if field else FIELD_UNKNOWN_TEMPLATE
            return _problem(FIELD_MISSING, template, mapping)
        if field.system or field.type == "relation":
            template = FIELD_SYSTEM_TEMPLATE if field.system else FIELD_RELATION_TEMPLATE
            return _problem(FIELD_NOT_MAPPABLE, template, mapping)
        field_type = field.type
    if mapping.source_kind == "consent" and field_type not in BOOLEAN_TARGETS:
        return _problem(INCOMPATIBLE_SOURCE, INCOMPATIBLE_TEMPLATE, mapping, {"type": field_type})
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


def _describe(name: str) -> str:
    """A ``kind:key`` source as the API's messages name it: ``question '707234246'``."""
    kind, _, key = name.partition(":")
    return f"{SOURCE_KIND_NAMES.get(kind, kind)} {key!r}"


def _english(name: str, value: ProblemParam) -> str:
    if name == "field":
        return f"'{value}'"
    if name == "source":
        return _describe(str(value))
    if name == "sources":
        return ", ".join(_describe(v) for v in value)
    return str(value)


def _problem(
    code: str,
    template: str,
    mapping: FieldMapping,
    params: Mapping[str, ProblemParam] | None = None,
) -> MappingProblem:
    """A problem of one mapping: its source and field fill the template's placeholders."""
    name = source_name(mapping)
    named = {"source": name, "field": mapping.field_key, **(params or {})}
    return described(code, template, mapping.field_key, name, named)
