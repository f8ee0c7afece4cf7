"""Field mappings: which LinkedIn answer fills which contact field, and what mapping knows.

A mapping's source is a ``predefinedField`` name, a ``questionId``, a consent id or a hidden
field name; never a label, since labels are localized and editable on LinkedIn. Mappings
belong to a form, not to a form version: a question dropped by a later version simply has no
answer on that version's leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from schemas.linkedin import Consent, FormQuestion, LeadForm

SourceKind = Literal["predefined", "question", "consent", "hidden"]

FieldType = Literal[
    "text",
    "email",
    "phone",
    "number",
    "boolean",
    "date",
    "datetime",
    "single_choice",
    "multiple_choice",
    "relation",
]

# What a contact field can hold once coerced; ``None`` means "no value" and is never stored.
JsonValue: TypeAlias = str | int | float | bool | list[str] | None


@dataclass(frozen=True)
class FieldMapping:
    """LinkedIn ``predefinedField`` / ``questionId`` / consent id / hidden field -> field key.

    Keys never use labels: labels are localized and editable on LinkedIn.
    """

    source_kind: SourceKind
    source_key: str
    field_key: str
    automatic: bool = False


@dataclass(frozen=True)
class ContactField:
    """One row of the ``contact_fields`` registry.

    ``choices`` lists the allowed values of a choice field (``None``: any value); ``system``
    fields are written only by leadsync itself and cannot be mapping targets.
    """

    key: str
    label: str
    type: FieldType
    standard: bool
    choices: tuple[str, ...] | None = None
    deleted: bool = False
    system: bool = False


@dataclass(frozen=True)
class FormVersionSpec:
    """What mapping needs to know of one form version.

    ``locale`` (e.g. ``it_IT``) picks the option labels; leads carry the form's locale too,
    which wins when present.
    """

    form_id: int
    version_id: int
    questions: dict[int, FormQuestion]  # by questionId
    consents: dict[int, Consent]  # by consent id (from legalInfo)
    hidden_fields: dict[str, str | None]  # name -> value, as defined on the form version
    locale: str | None = field(default=None)

    @classmethod
    def from_form(cls, form: LeadForm, version_id: int) -> FormVersionSpec:
        """The spec of a ``leadForms`` element or of a lead's ``form`` projection."""
        content = form.content
        legal = content.legal_info if content else None
        return cls(
            form_id=form.id,
            version_id=version_id,
            questions={q.question_id: q for q in content.typed_questions()} if content else {},
            consents={c.id: c for c in legal.consents} if legal else {},
            hidden_fields={h.name: h.value for h in form.hidden_fields},
            locale=form.locale(),
        )
