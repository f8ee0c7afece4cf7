"""Mapping sets checked against every version of a form (admin.mapping_validation)."""

from __future__ import annotations

from admin.mapping_validation import mapping_problems
from schemas.linkedin import FormQuestion
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec

FIELDS = {
    "email": ContactField("email", "Email", "email", standard=True),
    "company": ContactField("company", "Company", "text", standard=True),
}
EMAIL = FieldMapping("predefined", "EMAIL", "email")


def _version(version_id: int, *question_ids: int) -> FormVersionSpec:
    questions = {
        qid: FormQuestion.model_validate(
            {"questionId": qid, "predefinedField": "EMAIL" if qid == 1 else None}
        )
        for qid in question_ids
    }
    return FormVersionSpec(
        form_id=9, version_id=version_id, questions=questions, consents={}, hidden_fields={}
    )


def test_a_question_of_an_older_version_only_is_not_missing() -> None:
    mappings = [EMAIL, FieldMapping("question", "2", "company")]
    assert mapping_problems(mappings, FIELDS, [_version(1, 1, 2), _version(2, 1)]) == []


def test_a_question_of_no_version_is_missing_once() -> None:
    mappings = [EMAIL, FieldMapping("question", "5", "company")]
    problems = mapping_problems(mappings, FIELDS, [_version(1, 1, 2), _version(2, 1)])
    assert [(p.code, p.source) for p in problems] == [("source_missing", "question:5")]
    assert "version 2" in problems[0].message  # reported against the latest version


def test_two_versions_may_fill_one_field_from_different_questions() -> None:
    mappings = [
        EMAIL,
        FieldMapping("question", "2", "company"),
        FieldMapping("question", "3", "company"),
    ]
    assert mapping_problems(mappings, FIELDS, [_version(1, 1, 2), _version(2, 1, 3)]) == []


def test_one_version_asking_both_is_a_duplicate_target_reported_once() -> None:
    mappings = [
        EMAIL,
        FieldMapping("question", "2", "company"),
        FieldMapping("question", "3", "company"),
    ]
    problems = mapping_problems(mappings, FIELDS, [_version(1, 1, 2, 3), _version(2, 1, 2, 3)])
    assert [p.code for p in problems] == ["duplicate_target"]


def test_without_a_known_version_sources_are_not_checked_against_one() -> None:
    mappings = [FieldMapping("question", "2", "nope")]
    problems = mapping_problems(mappings, FIELDS, [])
    assert [p.code for p in problems] == ["identity_not_mapped", "field_missing"]
