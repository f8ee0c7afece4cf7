"""Field mapping: a LinkedIn lead plus its form version's questions -> contact values.

Pure functions, no I/O: everything they need (questions, mappings) is handed in, so they are
tested directly. Mappings are keyed on ``predefinedField`` or ``questionId``, never on labels
(labels are localized and editable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.linkedin import FormQuestion, Lead
from schemas.mappings import FieldMapping

IDENTITY_FIELD = "email"

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


@dataclass(frozen=True)
class ResolvedAnswer:
    """One answer joined to its question; what the submission row keeps, mapped or not."""

    question_id: int
    name: str
    predefined_field: str | None
    value: str | list[str] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "questionId": self.question_id,
            "name": self.name,
            "predefinedField": self.predefined_field,
            "value": self.value,
        }


@dataclass(frozen=True)
class MappedLead:
    email: str
    fields: dict[str, Any] = field(default_factory=dict)
    answers: list[ResolvedAnswer] = field(default_factory=list)


class MappingError(Exception):
    """A lead that cannot become a contact as configured; never retriable.

    ``code`` is stable (it is counted and shown in the error log), ``field`` names the
    contact field concerned when there is one.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


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


def resolve_answers(lead: Lead, questions: dict[int, FormQuestion]) -> list[ResolvedAnswer]:
    """Join the lead's answers to its form version's questions; option ids become labels."""
    resolved = []
    for answer in lead.form_response.answers:
        question = questions.get(answer.question_id)
        value: str | list[str] | None = answer.text()
        if value is None and answer.answer_details.multiple_choice_answer is not None:
            labels = {o.id: o.text.text() for o in question.options()} if question else {}
            value = [labels.get(i, str(i)) for i in answer.option_ids()]
        resolved.append(
            ResolvedAnswer(
                question_id=answer.question_id,
                name=question.name if question else "",
                predefined_field=question.predefined_field if question else None,
                value=value,
            )
        )
    return resolved


def map_lead(
    lead: Lead, questions: dict[int, FormQuestion], mappings: list[FieldMapping]
) -> MappedLead:
    """Contact values for one lead, or :class:`MappingError` when it cannot be imported."""
    answers = resolve_answers(lead, questions)
    by_predefined = {a.predefined_field: a for a in answers if a.predefined_field}
    by_question = {str(a.question_id): a for a in answers}
    values: dict[str, Any] = {}
    for mapping in mappings:
        if mapping.source_kind == "predefined":
            answer = by_predefined.get(mapping.source_key)
        elif mapping.source_kind == "question":
            answer = by_question.get(mapping.source_key)
        else:  # consents and hidden fields are mapped by the import pipeline's later stages
            continue
        if answer is None or answer.value in (None, "", []):
            continue
        value = answer.value
        values[mapping.field_key] = ", ".join(value) if isinstance(value, list) else value.strip()

    if not any(m.field_key == IDENTITY_FIELD for m in mappings):
        raise MappingError(
            "identity_not_mapped",
            "no question of this form is mapped to the identity field 'email'",
            IDENTITY_FIELD,
        )
    email = normalise_email(values.pop(IDENTITY_FIELD, None))
    return MappedLead(email=email, fields=values, answers=answers)


def normalise_email(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MappingError("identity_missing", "the lead has no email address", IDENTITY_FIELD)
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise MappingError("invalid_value", "the email address is not valid", IDENTITY_FIELD)
    return email
