from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.linkedin import FormQuestion, Lead
from schemas.mappings import FieldMapping
from streams.mapping import (
    MappingError,
    auto_mappings,
    map_lead,
    normalise_email,
    resolve_answers,
)

EXAMPLE = json.loads((Path(__file__).parent.parent / "data" / "lead_example.json").read_text())


def _lead(**changes: Any) -> Lead:
    return Lead.model_validate({**EXAMPLE, **changes})


def _questions(lead: Lead) -> dict[int, FormQuestion]:
    assert lead.form
    assert lead.form.content
    return {q.question_id: q for q in lead.form.content.typed_questions()}


def _question(qid: int, predefined: str | None) -> FormQuestion:
    return FormQuestion.model_validate(
        {"questionId": qid, "name": str(qid), "predefinedField": predefined}
    )


def test_predefined_questions_are_mapped_automatically() -> None:
    lead = _lead()
    mappings = auto_mappings(list(_questions(lead).values()))
    assert mappings == [
        FieldMapping("predefined", "EMAIL", "email", automatic=True),
        FieldMapping("predefined", "FIRST_NAME", "first_name", automatic=True),
    ]


def test_unknown_predefined_field_is_left_unmapped() -> None:
    mappings = auto_mappings([_question(1, "EMAIL"), _question(2, "FAVOURITE_PLANET")])
    assert [m.source_key for m in mappings] == ["EMAIL"]


def test_work_email_is_the_identity_when_the_form_has_no_email() -> None:
    only_work = auto_mappings([_question(1, "WORK_EMAIL")])
    assert only_work == [FieldMapping("predefined", "WORK_EMAIL", "email", automatic=True)]
    both = auto_mappings([_question(1, "WORK_EMAIL"), _question(2, "EMAIL")])
    assert FieldMapping("predefined", "WORK_EMAIL", "work_email", automatic=True) in both


def test_example_lead_maps_to_contact_values() -> None:
    lead = _lead()
    questions = _questions(lead)
    mapped = map_lead(lead, questions, auto_mappings(list(questions.values())))
    assert mapped.email == "kevin@example.com"
    assert mapped.fields == {"first_name": "Kevin"}
    # The custom question is not mapped but kept, resolved to its label.
    custom = [a for a in mapped.answers if a.question_id == 707234246]
    assert custom[0].value == ["Rosso"]
    assert custom[0].name == "Custom question 0"


def test_multiple_choice_option_without_label_keeps_its_id() -> None:
    lead = _lead()
    questions = _questions(lead)
    del questions[707234246]
    answers = {a.question_id: a for a in resolve_answers(lead, questions)}
    assert answers[707234246].value == ["0"]
    assert answers[707234246].name == ""


def test_custom_question_mapped_by_id() -> None:
    lead = _lead()
    questions = _questions(lead)
    mappings = [
        *auto_mappings(list(questions.values())),
        FieldMapping("question", "707234246", "favourite_colour"),
    ]
    mapped = map_lead(lead, questions, mappings)
    assert mapped.fields["favourite_colour"] == "Rosso"


def test_identity_not_mapped_is_a_configuration_error() -> None:
    lead = _lead()
    questions = _questions(lead)
    with pytest.raises(MappingError) as error:
        map_lead(lead, questions, [FieldMapping("predefined", "FIRST_NAME", "first_name")])
    assert error.value.code == "identity_not_mapped"
    assert error.value.field == "email"


def test_empty_identity_answer_is_an_error() -> None:
    lead = _lead(
        formResponse={
            "answers": [
                {"questionId": 307234246, "answerDetails": {"textQuestionAnswer": {"answer": "  "}}}
            ]
        }
    )
    questions = _questions(lead)
    with pytest.raises(MappingError) as error:
        map_lead(lead, questions, auto_mappings(list(questions.values())))
    assert error.value.code == "identity_missing"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Kevin@Example.COM", "kevin@example.com"), ("  a.b@c.io\n", "a.b@c.io")],
)
def test_email_is_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["kevin", "kevin@", "@example.com", "a b@c.com", "kevin@localhost"])
def test_invalid_email_is_rejected(raw: str) -> None:
    with pytest.raises(MappingError) as error:
        normalise_email(raw)
    assert error.value.code == "invalid_value"


def test_form_version_is_read_from_the_urn_ignoring_whitespace() -> None:
    lead = _lead(versionedLeadGenFormUrn="urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7, 3)")
    assert lead.form_version() == (7, 3)
    with pytest.raises(ValueError, match="versioned lead gen form"):
        _lead(versionedLeadGenFormUrn="urn:li:leadGenForm:7").form_version()
