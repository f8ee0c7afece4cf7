"""Field mapping: a LinkedIn lead plus its form version -> a contact's identity and values.

Pure functions, no I/O: the form version, the mappings and the contact field registry are
handed in, so they are tested directly. Mappings are keyed on ``predefinedField``,
``questionId``, consent id or hidden field name, never on labels.

:func:`map_lead` raises :class:`MappingError` (codes in :mod:`mapping.errors`), the
first problem found in this order: the identity not mapped; a mapping whose source is on the
lead's form version but whose field is unknown or deleted (``field_missing``) or a system or
relation field (``field_not_mappable``); the identity empty or invalid; a value invalid for
its field, in mapping order. A source the version lacks is not an error (mappings belong to
the form; versions differ). When two mappings fill one field the first with a value wins.
An empty answer leaves its field out. Every answer, consent and hidden field is kept as
received on :class:`MappedLead`, mapped or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mapping.answers import (
    ResolvedAnswer,
    lead_locale,
    resolve_answers,
    resolve_consents,
    resolve_hidden_fields,
)
from mapping.checks import IDENTITY_FIELD, check_mappings, target_problem
from mapping.coerce import coerce
from mapping.contact_points import parse_email
from mapping.errors import (
    FIELD_MISSING,
    FIELD_NOT_MAPPABLE,
    IDENTITY_MISSING,
    IDENTITY_NOT_MAPPED,
    INVALID_VALUE,
    MappingError,
    MappingProblem,
    ValueRejected,
)
from schemas.linkedin import FormQuestion, Lead
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec, JsonValue

__all__ = [
    "IDENTITY_FIELD",
    "PREDEFINED_FIELDS",
    "MappedLead",
    "MappingError",
    "MappingProblem",
    "ResolvedAnswer",
    "auto_mappings",
    "check_mappings",
    "map_lead",
    "mapping_source",
    "normalise_email",
    "resolve_answers",
]

# LinkedIn's predefined fields and the standard contact field each fills by default.
# predefinedField is an open enum: values not listed here are kept raw on the submission.
PREDEFINED_FIELDS: dict[str, str] = {
    "EMAIL": "email",
    "WORK_EMAIL": "work_email",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE_NUMBER": "work_phone",
    "COMPANY_NAME": "company",
    "COMPANY_SIZE": "company_size",
    "JOB_TITLE": "job_title",
    "JOB_FUNCTION": "job_function",
    "SENIORITY": "seniority",
    "INDUSTRY": "industry",
    "GENDER": "gender",
    "COUNTRY": "country",
    "STATE": "state",
    "CITY": "city",
    "ZIP_CODE": "postal_code",
    "POSTAL_CODE": "postal_code",
    "LINKEDIN_PROFILE_LINK": "linkedin_profile_url",
}

SourceValue = str | list[str] | bool | None


@dataclass(frozen=True)
class MappedLead:
    email: str  # normalised identity
    fields: dict[str, JsonValue] = field(default_factory=dict)  # coerced; identity excluded
    # For each field in ``fields``, the mapping that filled it: "kind:key" (see mapping_source).
    sources: dict[str, str] = field(default_factory=dict)
    answers: list[ResolvedAnswer] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    hidden_fields: list[dict[str, Any]] = field(default_factory=list)


def auto_mappings(questions: list[FormQuestion]) -> list[FieldMapping]:
    """The mappings created automatically when a form version is first seen.

    A form that asks only for a work email uses it as the identity, since a lead without an
    identity could never be imported.
    """
    predefined = {q.predefined_field for q in questions if q.predefined_field}
    result = []
    for name in sorted(predefined):
        target = PREDEFINED_FIELDS.get(name)
        if target is None:
            continue
        if name == "WORK_EMAIL" and "EMAIL" not in predefined:
            target = IDENTITY_FIELD
        result.append(FieldMapping("predefined", name, target, automatic=True))
    return result


def map_lead(
    lead: Lead,
    version: FormVersionSpec,
    mappings: Sequence[FieldMapping],
    fields: Mapping[str, ContactField],
) -> MappedLead:
    """The contact values of one lead, or :class:`MappingError` when it cannot be imported."""
    locale = lead_locale(lead, version)
    answers = resolve_answers(lead, version.questions, locale)
    hidden = resolve_hidden_fields(lead, version)
    sources = _Sources(lead, version, answers, hidden)
    if not any(m.field_key == IDENTITY_FIELD for m in mappings):
        raise MappingError(
            IDENTITY_NOT_MAPPED,
            f"nothing on this form is mapped to the identity field '{IDENTITY_FIELD}'",
            IDENTITY_FIELD,
        )
    for mapping in mappings:
        problem = target_problem(mapping, fields) if sources.present(mapping) else None
        # incompatible_source is left to coerce, which names the value's problem.
        if problem is not None and problem.code in (FIELD_MISSING, FIELD_NOT_MAPPABLE):
            raise MappingError(problem.code, problem.message, problem.field)
    identity = next(
        (v for m in mappings if m.field_key == IDENTITY_FIELD if (v := sources.value(m))), None
    )
    email = normalise_email(identity)
    values: dict[str, JsonValue] = {}
    filled_by: dict[str, str] = {}
    for mapping in mappings:
        key = mapping.field_key
        raw = sources.value(mapping)
        if key == IDENTITY_FIELD or key in values or raw is None:
            continue
        coerced = coerce(raw, fields[key])
        if coerced is not None:
            values[key] = coerced
            filled_by[key] = mapping_source(mapping)
    return MappedLead(
        email=email,
        fields=values,
        sources=filled_by,
        answers=answers,
        consents=resolve_consents(lead, version.consents, locale),
        hidden_fields=[{"name": k, "value": v} for k, v in hidden.items()],
    )


@lru_cache(maxsize=4096)
def mapping_source(mapping: FieldMapping) -> str:
    """The mapping's source as field provenance records it: "kind:key", e.g.
    "predefined:COMPANY_NAME" or "question:707234246" (question and consent ids as numbers).
    Cached: a batch maps every lead of a form with the same few mappings."""
    return f"{mapping.source_kind}:{_source_key(mapping)}"


def normalise_email(value: object) -> str:
    """The identity as stored: trimmed and lowercased; ``identity_missing`` if empty."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool | list):
        raise MappingError(
            INVALID_VALUE, "the email address is not valid: it is not a single text", IDENTITY_FIELD
        )
    if not isinstance(value, str) or not value.strip():
        raise MappingError(IDENTITY_MISSING, "the lead has no email address", IDENTITY_FIELD)
    try:
        return parse_email(value)
    except ValueRejected as rejected:
        raise MappingError(
            INVALID_VALUE, f"the email address is not valid: {rejected.reason}", IDENTITY_FIELD
        ) from None


class _Sources:
    """A lead's values by mapping source, and which sources its form version has."""

    def __init__(
        self,
        lead: Lead,
        version: FormVersionSpec,
        answers: list[ResolvedAnswer],
        hidden: dict[str, str | None],
    ) -> None:
        self._version = version
        self._by_question = {str(a.question_id): a.value for a in reversed(answers)}
        self._by_predefined = {
            a.predefined_field: a.value for a in reversed(answers) if a.predefined_field
        }
        self._consents = {
            str(r.consent_id): r.accepted for r in lead.form_response.consent_responses
        }
        self._hidden = hidden
        self._predefined_in_version = {
            q.predefined_field for q in version.questions.values() if q.predefined_field
        }

    def present(self, mapping: FieldMapping) -> bool:
        """Whether the mapping concerns this lead: its source is on the version or the lead."""
        kind, key = mapping.source_kind, _source_key(mapping)
        if kind == "predefined":
            return key in self._predefined_in_version or key in self._by_predefined
        if kind == "question":
            return key in self._by_question or _as_id(key) in self._version.questions
        if kind == "consent":
            return key in self._consents or _as_id(key) in self._version.consents
        return key in self._hidden or key in self._version.hidden_fields

    def value(self, mapping: FieldMapping) -> SourceValue:
        """The lead's value for this source; ``None`` when absent or empty."""
        kind, key = mapping.source_kind, _source_key(mapping)
        if kind == "consent":
            return self._consents.get(key)
        value: str | list[str] | None
        if kind == "predefined":
            value = self._by_predefined.get(key)
        elif kind == "question":
            value = self._by_question.get(key)
        else:
            value = self._hidden.get(key)
        if isinstance(value, list):
            return value if any(v.strip() for v in value) else None
        return value if value and value.strip() else None


def _source_key(mapping: FieldMapping) -> str:
    """Question and consent ids compare as numbers ("0707" is question 707)."""
    if mapping.source_kind in ("question", "consent"):
        number = _as_id(mapping.source_key)
        return str(number) if number is not None else mapping.source_key
    return mapping.source_key


def _as_id(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdigit() else None
