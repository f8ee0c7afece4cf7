"""A lead's answers, consents and hidden fields joined to its form version, as received.

These are what the submission row keeps whether mapped or not. Answers carry only a
``questionId``: they are joined to the questions of the lead's own form version, and a
multiple-choice answer's option ids become the option labels in the form's locale (else the
same language in another country, else any locale, else the id as text). An answer to a
question the version does not know is kept with an empty name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.linkedin import Consent, FormQuestion, Lead, Localized
from schemas.mappings import FormVersionSpec


@dataclass(frozen=True)
class ResolvedAnswer:
    """One answer joined to its question; what the submission row keeps, mapped or not."""

    question_id: int
    name: str
    predefined_field: str | None
    value: str | list[str] | None
    option_ids: tuple[int, ...] | None = None  # the raw ids of a multiple-choice answer
    question: str = ""  # the question as the member read it, in the form's locale

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "questionId": self.question_id,
            "name": self.name,
            "predefinedField": self.predefined_field,
            "question": self.question,
            "value": self.value,
        }
        if self.option_ids is not None:
            result["optionIds"] = list(self.option_ids)
        return result


def lead_locale(lead: Lead, version: FormVersionSpec) -> str | None:
    """The locale labels are read in: the lead's form's, else the version's."""
    return (lead.form.locale() if lead.form else None) or version.locale


def localized_text(text: Localized, locale: str | None) -> str:
    """``text`` in ``locale``, else in the same language, else in any locale ('' if none)."""
    if locale and text.localized.get(locale):
        return text.localized[locale]
    language = (locale or "").split("_")[0]
    same_language = [v for k, v in text.localized.items() if v and k.split("_")[0] == language]
    return (
        same_language[0] if same_language else next((v for v in text.localized.values() if v), "")
    )


def resolve_answers(
    lead: Lead, questions: dict[int, FormQuestion], locale: str | None = None
) -> list[ResolvedAnswer]:
    """Join the lead's answers to its form version's questions; option ids become labels."""
    resolved = []
    for answer in lead.form_response.answers:
        question = questions.get(answer.question_id)
        value: str | list[str] | None = answer.text()
        option_ids = None
        if value is None and answer.answer_details.multiple_choice_answer is not None:
            option_ids = tuple(answer.option_ids())
            options = {o.id: o for o in question.options()} if question else {}
            value = [
                (localized_text(options[i].text, locale) if i in options else "") or str(i)
                for i in option_ids
            ]
        resolved.append(
            ResolvedAnswer(
                question_id=answer.question_id,
                name=question.name if question else "",
                predefined_field=question.predefined_field if question else None,
                value=value,
                option_ids=option_ids,
                question=localized_text(question.question, locale) if question else "",
            )
        )
    return resolved


def resolve_consents(
    lead: Lead, consents: dict[int, Consent], locale: str | None = None
) -> list[dict[str, Any]]:
    """Every consent response with the consent's text (``None`` for an unknown consent)."""
    result = []
    for response in lead.form_response.consent_responses:
        consent = consents.get(response.consent_id)
        result.append(
            {
                "consentId": response.consent_id,
                "accepted": response.accepted,
                "checkRequired": consent.check_required if consent else None,
                "text": localized_text(consent.consent, locale) if consent else None,
            }
        )
    return result


def resolve_hidden_fields(lead: Lead, version: FormVersionSpec) -> dict[str, str | None]:
    """The lead's hidden fields when its form projection has them, else the version's.

    A lead whose ``form`` projection carries ``hiddenFields``, even empty, is believed: the
    values are those the member's form had. Without the projection the version's stand in.
    """
    if lead.form is not None and "hidden_fields" in lead.form.model_fields_set:
        return {h.name: h.value for h in lead.form.hidden_fields}
    return dict(version.hidden_fields)
