"""Mapping a lead: auto-mappings, answers joined to their version, map_lead, check_mappings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mapping.answers import localized_text, resolve_answers
from mapping.apply import (
    IDENTITY_FIELD,
    MappedLead,
    MappingError,
    MappingProblem,
    auto_mappings,
    check_mappings,
    map_lead,
    mapping_source,
    normalise_email,
)
from schemas.linkedin import FormQuestion, Lead, LeadForm, Localized
from schemas.mappings import ContactField, FieldMapping, FieldType, FormVersionSpec

EXAMPLE = json.loads((Path(__file__).parent.parent / "data" / "lead_example.json").read_text())
URN = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form},{version})"


def _options(*labels: dict[str, str]) -> dict[str, Any]:
    options = [{"id": i, "text": {"localized": label}} for i, label in enumerate(labels)]
    return {"multipleChoiceQuestionDetails": {"options": options}}


QUESTIONS: list[dict[str, Any]] = [
    {"questionId": 1, "name": "Email", "predefinedField": "EMAIL"},
    {"questionId": 2, "name": "Work email", "predefinedField": "WORK_EMAIL"},
    {"questionId": 3, "name": "First name", "predefinedField": "FIRST_NAME",
     "question": {"localized": {"it_IT": "Nome", "en_US": "First name"}}},
    {"questionId": 4, "name": "Phone", "predefinedField": "PHONE_NUMBER"},
    {"questionId": 5, "name": "Colour", "questionDetails": _options(
        {"it_IT": "Rosso", "en_US": "Red"}, {"it_IT": "Blu", "en_US": "Blue"},
        {"en_US": "Green"}, {"it_IT": ""})},
    {"questionId": 6, "name": "Budget"},
    {"questionId": 8, "name": "Planet", "predefinedField": "FAVOURITE_PLANET"},
]  # fmt: skip
CONSENTS = [
    {"id": 0, "checkRequired": True, "consent": {"localized": {"it_IT": "Accetto la privacy"}}},
    {"id": 1, "consent": {"localized": {"en_US": "Send me news"}}},
]
HIDDEN = [{"name": "utm_source", "value": "linkedin"}, {"name": "utm_campaign", "value": None}]


def _form(**changes: Any) -> dict[str, Any]:
    form = {
        "id": 77,
        "name": "Form",
        "creationLocale": {"country": "IT", "language": "it"},
        "hiddenFields": HIDDEN,
        "content": {"questions": QUESTIONS, "legalInfo": {"consents": CONSENTS}},
    }
    return {**form, **changes}


VERSION = FormVersionSpec.from_form(LeadForm.model_validate(_form()), 2)


def _lead(answers: dict[int, Any], consents: dict[int, bool] | None = None, **extra: Any) -> Lead:
    """A lead of form 77 version 2; an answer is a text or a list of option ids."""
    body = [
        {"questionId": qid, "answerDetails": {"multipleChoiceAnswer": {"options": value}}}
        if isinstance(value, list)
        else {"questionId": qid, "answerDetails": {"textQuestionAnswer": {"answer": value}}}
        for qid, value in answers.items()
    ]
    responses = [{"consentId": c, "accepted": a} for c, a in (consents or {}).items()]
    return Lead.model_validate(
        {
            "id": "lead-1",
            "versionedLeadGenFormUrn": URN.format(form=77, version=2),
            "submittedAt": 1689894599288,
            "formResponse": {"answers": body, "consentResponses": responses},
            **extra,
        }
    )


def _field(key: str, kind: FieldType, **kw: Any) -> ContactField:
    return ContactField(**{"key": key, "label": key, "type": kind, "standard": False, **kw})


FIELDS = {
    f.key: f
    for f in [
        _field("email", "email", standard=True),
        _field("work_email", "email", standard=True),
        _field("first_name", "text", standard=True),
        _field("phone", "phone", standard=True),
        _field("colour", "single_choice", choices=("Rosso", "Blu", "Verde")),
        _field("colour_text", "text"),
        _field("colours", "multiple_choice"),
        _field("budget", "number"),
        _field("privacy", "boolean"),
        _field("source", "text"),
        _field("planet", "text"),
        _field("signup_day", "date"),
        _field("old_field", "text", deleted=True),
        _field("linkedin_imported", "boolean", system=True),
        _field("linkedin_forms_filled", "relation", system=True),
        _field("forms", "relation"),
    ]
}
BASE = [
    FieldMapping("predefined", "EMAIL", "email"),
    FieldMapping("predefined", "FIRST_NAME", "first_name"),
]


def _map(lead: Lead, *extra: FieldMapping, base: list[FieldMapping] = BASE) -> MappedLead:
    return map_lead(lead, VERSION, [*base, *extra], FIELDS)


def _error(lead: Lead, *extra: FieldMapping, base: list[FieldMapping] = BASE) -> MappingError:
    with pytest.raises(MappingError) as error:
        _map(lead, *extra, base=base)
    return error.value


def _question(qid: int, predefined: str | None) -> FormQuestion:
    return FormQuestion.model_validate(
        {"questionId": qid, "name": str(qid), "predefinedField": predefined}
    )


# -- auto_mappings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predefined", "expected"),
    [
        ([], []),
        ([None], []),
        (["EMAIL"], [("EMAIL", "email")]),
        (["FAVOURITE_PLANET", "EMAIL"], [("EMAIL", "email")]),
        (["WORK_EMAIL"], [("WORK_EMAIL", "email")]),
        (["WORK_EMAIL", "EMAIL"], [("EMAIL", "email"), ("WORK_EMAIL", "work_email")]),
        (["PHONE_NUMBER", "LAST_NAME"], [("LAST_NAME", "last_name"), ("PHONE_NUMBER", "phone")]),
        (["EMAIL", "EMAIL"], [("EMAIL", "email")]),
        (["ZIP_CODE"], [("ZIP_CODE", "postal_code")]),
        (["email"], []),  # the enum is case-sensitive: an unknown value is left alone
    ],
)
def test_auto_mappings(predefined: list[str | None], expected: list[tuple[str, str]]) -> None:
    questions = [_question(i, p) for i, p in enumerate(predefined)]
    assert auto_mappings(questions) == [
        FieldMapping("predefined", name, key, automatic=True) for name, key in expected
    ]


def test_example_lead_is_mapped_with_its_own_form() -> None:
    lead = Lead.model_validate(EXAMPLE)
    assert lead.form
    version = FormVersionSpec.from_form(lead.form, 1)
    mapped = map_lead(lead, version, auto_mappings(list(version.questions.values())), FIELDS)
    assert mapped.email == "kevin@example.com"
    assert mapped.fields == {"first_name": "Kevin"}
    custom = [a for a in mapped.answers if a.question_id == 707234246]
    assert custom[0].value == ["Rosso"]
    assert mapped.consents == [
        {"consentId": 0, "accepted": True, "checkRequired": False,
         "text": "Acconsento a ricevere email"}
    ]  # fmt: skip
    assert mapped.hidden_fields == [{"name": "utm_source", "value": "linkedin"}]


def test_form_version_spec_from_a_form() -> None:
    assert sorted(VERSION.questions) == [1, 2, 3, 4, 5, 6, 8]
    assert sorted(VERSION.consents) == [0, 1]
    assert VERSION.hidden_fields == {"utm_source": "linkedin", "utm_campaign": None}
    assert (VERSION.form_id, VERSION.version_id, VERSION.locale) == (77, 2, "it_IT")
    bare = FormVersionSpec.from_form(LeadForm.model_validate({"id": 5}), 1)
    assert (bare.questions, bare.consents, bare.hidden_fields, bare.locale) == ({}, {}, {}, None)


# -- answers joined to the version --------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "options", "labels"),
    [
        ("it_IT", [0, 1], ["Rosso", "Blu"]),
        ("en_US", [0, 1], ["Red", "Blue"]),
        ("en_GB", [1], ["Blue"]),  # same language, another country
        ("it_CH", [0], ["Rosso"]),
        ("de_DE", [0], ["Rosso"]),  # no German: any locale
        (None, [2], ["Green"]),
        ("it_IT", [2], ["Green"]),  # no Italian label for this option
        ("it_IT", [3], ["3"]),  # only an empty label: the id
        ("it_IT", [9], ["9"]),  # an option the question does not have
        ("it_IT", [], []),
    ],
)
def test_option_ids_become_labels(
    locale: str | None, options: list[int], labels: list[str]
) -> None:
    (answer,) = resolve_answers(_lead({5: options}), VERSION.questions, locale)
    assert answer.value == labels
    assert answer.option_ids == tuple(options)
    assert answer.as_json()["optionIds"] == options


@pytest.mark.parametrize(
    ("extra", "label"),
    [
        ({}, "Rosso"),  # no form on the lead: the version's locale
        ({"form": _form(creationLocale={"country": "US", "language": "en"})}, "Red"),
        ({"form": _form(creationLocale=None)}, "Rosso"),
    ],
)
def test_the_leads_own_locale_wins_over_the_versions(extra: dict[str, Any], label: str) -> None:
    lead = _lead({1: "a@example.com", 5: [0]}, **extra)
    mapped = _map(lead, FieldMapping("question", "5", "colour_text"))
    assert mapped.fields["colour_text"] == label


def test_an_answer_to_an_unknown_question_is_kept_raw() -> None:
    answers = resolve_answers(_lead({99: [1, 2], 98: "text"}), VERSION.questions, "it_IT")
    assert [a.as_json() for a in answers] == [
        {"questionId": 99, "name": "", "predefinedField": None, "question": "",
         "value": ["1", "2"], "optionIds": [1, 2]},
        {"questionId": 98, "name": "", "predefinedField": None, "question": "", "value": "text"},
    ]  # fmt: skip


def test_every_answer_is_kept_mapped_or_not() -> None:
    lead = _lead({1: "A@Example.com", 3: " Kevin ", 6: "1.500,00", 8: "Mars"})
    mapped = _map(lead)
    assert [(a.question_id, a.name, a.predefined_field, a.value) for a in mapped.answers] == [
        (1, "Email", "EMAIL", "A@Example.com"),
        (3, "First name", "FIRST_NAME", " Kevin "),
        (6, "Budget", None, "1.500,00"),
        (8, "Planet", "FAVOURITE_PLANET", "Mars"),
    ]
    assert mapped.answers[1].question == "Nome"
    assert mapped.fields == {"first_name": "Kevin"}


@pytest.mark.parametrize(
    ("localized", "locale", "expected"),
    [
        ({"it_IT": "a", "en_US": "b"}, "en_US", "b"),
        ({"it_IT": "a", "en_US": "b"}, "en", "b"),
        ({"it_IT": "", "en_US": "b"}, "it_IT", "b"),
        ({}, "it_IT", ""),
        ({"fr_FR": "c"}, None, "c"),
    ],
)
def test_localized_text(localized: dict[str, str], locale: str | None, expected: str) -> None:
    assert localized_text(Localized(localized=localized), locale) == expected


# -- consents and hidden fields -----------------------------------------------------------


def test_consents_are_kept_with_their_text() -> None:
    mapped = _map(_lead({1: "a@example.com"}, {0: True, 1: False, 7: True}))
    assert mapped.consents == [
        {"consentId": 0, "accepted": True, "checkRequired": True, "text": "Accetto la privacy"},
        {"consentId": 1, "accepted": False, "checkRequired": False, "text": "Send me news"},
        {"consentId": 7, "accepted": True, "checkRequired": None, "text": None},
    ]


@pytest.mark.parametrize(
    ("consents", "expected"),
    [({0: True}, {"privacy": True}), ({0: False}, {"privacy": False}), ({}, {}), ({1: True}, {})],
)
def test_a_consent_maps_its_accepted_flag(
    consents: dict[int, bool], expected: dict[str, bool]
) -> None:
    mapped = _map(_lead({1: "a@example.com"}, consents), FieldMapping("consent", "0", "privacy"))
    assert {k: v for k, v in mapped.fields.items() if k != "first_name"} == expected


@pytest.mark.parametrize(
    ("extra", "expected_hidden", "expected_source"),
    [
        ({}, [("utm_source", "linkedin"), ("utm_campaign", None)], "linkedin"),
        ({"form": {"id": 77, "hiddenFields": [{"name": "utm_source", "value": "ad-42"}]}},
         [("utm_source", "ad-42")], "ad-42"),
        ({"form": {"id": 77, "hiddenFields": []}}, [], None),
        ({"form": {"id": 77, "name": "no projection of hidden fields"}},
         [("utm_source", "linkedin"), ("utm_campaign", None)], "linkedin"),
    ],
)  # fmt: skip
def test_hidden_fields_come_from_the_lead_else_the_version(
    extra: dict[str, Any],
    expected_hidden: list[tuple[str, str | None]],
    expected_source: str | None,
) -> None:
    lead = _lead({1: "a@example.com"}, **extra)
    mapped = _map(
        lead,
        FieldMapping("hidden", "utm_source", "source"),
        FieldMapping("hidden", "utm_campaign", "planet"),
    )
    assert [(h["name"], h["value"]) for h in mapped.hidden_fields] == expected_hidden
    assert mapped.fields.get("source") == expected_source
    assert "planet" not in mapped.fields  # a hidden field without a value fills nothing


# -- map_lead: values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "mapping", "expected"),
    [
        ({4: "+39 02-1234 5678"}, FieldMapping("predefined", "PHONE_NUMBER", "phone"),
         "+390212345678"),
        ({6: "1.500,50"}, FieldMapping("question", "6", "budget"), 1500.5),
        ({6: "1.500,50"}, FieldMapping("question", "0006", "budget"), 1500.5),
        ({6: "5 marzo 2024"}, FieldMapping("question", "6", "signup_day"), "2024-03-05"),
        ({5: [1]}, FieldMapping("question", "5", "colour"), "Blu"),
        ({5: [0, 1]}, FieldMapping("question", "5", "colour_text"), "Rosso, Blu"),
        ({5: [0, 1, 0]}, FieldMapping("question", "5", "colours"), ["Rosso", "Blu"]),
        ({8: "  Mars "}, FieldMapping("predefined", "FAVOURITE_PLANET", "planet"), "Mars"),
        ({2: "Boss@Work.example"}, FieldMapping("predefined", "WORK_EMAIL", "work_email"),
         "boss@work.example"),
    ],
)  # fmt: skip
def test_answers_are_coerced_for_their_field(
    answers: dict[int, Any], mapping: FieldMapping, expected: Any
) -> None:
    mapped = _map(_lead({1: "a@example.com", **answers}), mapping)
    assert mapped.fields[mapping.field_key] == expected


@pytest.mark.parametrize(
    "answers",
    [{}, {3: ""}, {3: "   "}, {5: []}, {99: "answer to another question"}],
)
def test_an_empty_or_absent_answer_leaves_the_field_out(answers: dict[int, Any]) -> None:
    mapped = _map(_lead({1: "a@example.com", **answers}), FieldMapping("question", "5", "colour"))
    assert mapped.fields == {}


def test_the_first_mapping_with_a_value_fills_a_field() -> None:
    both = [
        FieldMapping("question", "6", "planet"),
        FieldMapping("predefined", "FAVOURITE_PLANET", "planet"),
    ]
    assert _map(_lead({1: "a@example.com", 6: "x", 8: "Mars"}), *both).fields["planet"] == "x"
    assert _map(_lead({1: "a@example.com", 8: "Mars"}), *both).fields["planet"] == "Mars"


def test_each_field_names_the_mapping_that_filled_it() -> None:
    # For field provenance: the source as "kind:key", question ids as numbers.
    mappings = [
        FieldMapping("question", "0006", "planet"),
        FieldMapping("predefined", "FAVOURITE_PLANET", "planet"),
        FieldMapping("hidden", "utm_source", "source"),
        FieldMapping("question", "5", "colour"),  # no answer: no field, no source
    ]
    mapped = _map(_lead({1: "a@example.com", 3: "Kevin", 8: "Mars"}), *mappings)
    assert mapped.sources == {
        "first_name": "predefined:FIRST_NAME",
        "planet": "predefined:FAVOURITE_PLANET",
        "source": "hidden:utm_source",
    }
    assert mapped.sources.keys() == mapped.fields.keys()
    other = _map(_lead({1: "a@example.com", 6: "x"}), *mappings)
    assert other.sources["planet"] == "question:6"
    assert mapping_source(FieldMapping("consent", "07", "privacy")) == "consent:7"


def test_the_identity_is_excluded_from_the_fields() -> None:
    mapped = _map(_lead({1: "  Kevin@Example.COM ", 3: "Kevin"}))
    assert mapped.email == "kevin@example.com"
    assert mapped.fields == {"first_name": "Kevin"}
    json.dumps(mapped.fields)  # storable as jsonb


@pytest.mark.parametrize(
    ("answers", "mappings", "email"),
    [
        ({2: "w@example.com"}, [FieldMapping("predefined", "WORK_EMAIL", "email")],
         "w@example.com"),
        ({1: "", 2: "w@example.com"},
         [FieldMapping("predefined", "EMAIL", "email"),
          FieldMapping("predefined", "WORK_EMAIL", "email")], "w@example.com"),
        ({1: "p@example.com", 2: "w@example.com"},
         [FieldMapping("predefined", "EMAIL", "email"),
          FieldMapping("predefined", "WORK_EMAIL", "email")], "p@example.com"),
        ({6: "q@example.com"}, [FieldMapping("question", "6", "email")], "q@example.com"),
    ],
)  # fmt: skip
def test_identity_sources(
    answers: dict[int, Any], mappings: list[FieldMapping], email: str
) -> None:
    assert _map(_lead(answers), base=mappings).email == email


def test_identity_from_a_hidden_field() -> None:
    form = {"id": 77, "hiddenFields": [{"name": "contact", "value": "H@Example.com"}]}
    mapped = _map(_lead({}, form=form), base=[FieldMapping("hidden", "contact", "email")])
    assert mapped.email == "h@example.com"


# -- map_lead: errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "consents", "mappings", "code", "field"),
    [
        ({1: "a@example.com"}, {}, [FieldMapping("predefined", "FIRST_NAME", "first_name")],
         "identity_not_mapped", "email"),
        ({1: "a@example.com"}, {}, [], "identity_not_mapped", "email"),
        ({3: "Kevin"}, {}, BASE, "identity_missing", "email"),
        ({1: "   "}, {}, BASE, "identity_missing", "email"),
        ({1: "kevin"}, {}, BASE, "invalid_value", "email"),
        ({1: "a@example.com", 4: "call me"}, {},
         [*BASE, FieldMapping("predefined", "PHONE_NUMBER", "phone")], "invalid_value", "phone"),
        ({1: "a@example.com", 5: [0, 1]}, {},
         [*BASE, FieldMapping("question", "5", "colour")], "invalid_value", "colour"),
        ({1: "a@example.com"}, {0: True},
         [*BASE, FieldMapping("consent", "0", "budget")], "invalid_value", "budget"),
        ({5: [0]}, {}, [FieldMapping("question", "5", "email")], "invalid_value", "email"),
        ({}, {0: True}, [FieldMapping("consent", "0", "email")], "invalid_value", "email"),
        ({1: "a@example.com", 3: "x"}, {},
         [*BASE, FieldMapping("question", "3", "old_field")], "field_missing", "old_field"),
        ({1: "a@example.com"}, {},  # a mapped question left unanswered still fails
         [*BASE, FieldMapping("question", "6", "old_field")], "field_missing", "old_field"),
        ({1: "a@example.com"}, {},
         [*BASE, FieldMapping("question", "6", "no_such_field")], "field_missing",
         "no_such_field"),
        ({1: "a@example.com"}, {0: True},
         [*BASE, FieldMapping("consent", "0", "old_field")], "field_missing", "old_field"),
        ({1: "a@example.com"}, {},
         [*BASE, FieldMapping("hidden", "utm_source", "linkedin_imported")],
         "field_not_mappable", "linkedin_imported"),
        ({1: "a@example.com", 6: "x"}, {},
         [*BASE, FieldMapping("question", "6", "forms")], "field_not_mappable", "forms"),
    ],
)  # fmt: skip
def test_mapping_errors(
    answers: dict[int, Any],
    consents: dict[int, bool],
    mappings: list[FieldMapping],
    code: str,
    field: str,
) -> None:
    error = _error(_lead(answers, consents), base=mappings)
    assert (error.code, error.field) == (code, field)
    assert field in error.message


def test_a_mapping_whose_source_is_not_on_the_version_is_not_an_error() -> None:
    gone = [FieldMapping("question", "12345", "old_field"), FieldMapping("hidden", "gone", "forms")]
    assert _map(_lead({1: "a@example.com"}), *gone).fields == {}


@pytest.mark.parametrize(
    ("answers", "mappings", "code"),
    [
        # configuration before the lead's own values
        ({1: "", 3: "x"}, [FieldMapping("question", "3", "old_field")], "identity_not_mapped"),
        ({1: "", 3: "x"}, [*BASE, FieldMapping("question", "3", "old_field")], "field_missing"),
        ({1: "bad", 4: "bad"}, [*BASE, FieldMapping("predefined", "PHONE_NUMBER", "phone")],
         "invalid_value"),
        ({4: "bad"}, [*BASE, FieldMapping("predefined", "PHONE_NUMBER", "phone")],
         "identity_missing"),
    ],
)  # fmt: skip
def test_error_precedence(answers: dict[int, Any], mappings: list[FieldMapping], code: str) -> None:
    error = _error(_lead(answers), base=mappings)
    assert error.code == code
    if code == "invalid_value":
        assert error.field == IDENTITY_FIELD


def test_error_messages_do_not_quote_personal_values() -> None:
    error = _error(_lead({1: "kevin.private@nowhere"}))
    assert "kevin" not in error.message
    phone = _error(
        _lead({1: "a@example.com", 4: "Kevin's mobile"}),
        FieldMapping("predefined", "PHONE_NUMBER", "phone"),
    )
    assert "Kevin" not in phone.message
    assert "14 characters" in phone.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Kevin@Example.COM", "kevin@example.com"), ("  a.b@c.io\n", "a.b@c.io"),
     (["x@example.com"], "x@example.com")],
)  # fmt: skip
def test_normalise_email(raw: object, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "identity_missing"),
        ("", "identity_missing"),
        (" ", "identity_missing"),
        ("kevin@localhost", "invalid_value"),
        (True, "invalid_value"),
        (["a@example.com", "b@example.com"], "invalid_value"),
    ],
)
def test_normalise_email_refusals(raw: object, code: str) -> None:
    with pytest.raises(MappingError) as error:
        normalise_email(raw)
    assert (error.value.code, error.value.field) == (code, "email")


# -- check_mappings -----------------------------------------------------------------------


def _problems(
    mappings: list[FieldMapping], version: FormVersionSpec | None = VERSION
) -> list[tuple[str, str | None, str | None]]:
    return [(p.code, p.field, p.source) for p in check_mappings(mappings, FIELDS, version)]


@pytest.mark.parametrize("version", [VERSION, None])
def test_good_mappings_have_no_problems(version: FormVersionSpec | None) -> None:
    mappings = [
        *BASE,
        FieldMapping("predefined", "WORK_EMAIL", "work_email"),
        FieldMapping("question", "5", "colour"),
        FieldMapping("consent", "0", "privacy"),
        FieldMapping("consent", "1", "source"),
        FieldMapping("hidden", "utm_source", "planet"),
    ]
    assert check_mappings(mappings, FIELDS, version) == []


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        (FieldMapping("question", "5", "old_field"), ("field_missing", "old_field", "question:5")),
        (FieldMapping("question", "5", "nope"), ("field_missing", "nope", "question:5")),
        (FieldMapping("question", "5", "linkedin_imported"),
         ("field_not_mappable", "linkedin_imported", "question:5")),
        (FieldMapping("question", "5", "forms"), ("field_not_mappable", "forms", "question:5")),
        (FieldMapping("consent", "0", "budget"), ("incompatible_source", "budget", "consent:0")),
        (FieldMapping("question", "abc", "planet"),
         ("source_invalid", "planet", "question:abc")),
        (FieldMapping("consent", "-1", "privacy"), ("source_invalid", "privacy", "consent:-1")),
        (FieldMapping("hidden", "", "planet"), ("source_invalid", "planet", "hidden:")),
        (FieldMapping("question", "404", "planet"), ("source_missing", "planet", "question:404")),
        (FieldMapping("consent", "9", "privacy"), ("source_missing", "privacy", "consent:9")),
        (FieldMapping("hidden", "utm_medium", "planet"),
         ("source_missing", "planet", "hidden:utm_medium")),
        (FieldMapping("predefined", "LAST_NAME", "planet"),
         ("source_missing", "planet", "predefined:LAST_NAME")),
    ],
)  # fmt: skip
def test_each_problem(mapping: FieldMapping, problem: tuple[str, str, str]) -> None:
    assert _problems([*BASE, mapping]) == [problem]


def test_unknown_source_kind_is_invalid() -> None:
    odd = FieldMapping("answer", "5", "planet")  # type: ignore[arg-type]  # as a database could hold
    assert _problems([*BASE, odd]) == [("source_invalid", "planet", "answer:5")]


def test_identity_not_mapped_comes_first() -> None:
    mappings = [FieldMapping("question", "5", "old_field")]
    assert _problems(mappings) == [
        ("identity_not_mapped", "email", None),
        ("field_missing", "old_field", "question:5"),
    ]


def test_identity_from_a_consent_is_incompatible() -> None:
    assert _problems([FieldMapping("consent", "0", "email")]) == [
        ("incompatible_source", "email", "consent:0")
    ]


def test_two_sources_on_one_field() -> None:
    mappings = [*BASE, FieldMapping("predefined", "WORK_EMAIL", "email")]
    assert _problems(mappings) == [("duplicate_target", "email", None)]
    (problem,) = check_mappings(mappings, FIELDS, VERSION)
    assert "predefined field 'EMAIL'" in problem.message
    assert "predefined field 'WORK_EMAIL'" in problem.message


def test_sources_of_different_versions_may_share_a_field() -> None:
    mappings = [
        *BASE,
        FieldMapping("question", "5", "planet"),
        FieldMapping("question", "404", "planet"),
    ]
    assert _problems(mappings) == [("source_missing", "planet", "question:404")]
    assert _problems(mappings, None) == [("duplicate_target", "planet", None)]


def test_the_same_source_twice() -> None:
    mappings = [
        *BASE,
        FieldMapping("question", "5", "colour"),
        FieldMapping("question", "5", "planet"),
    ]
    assert _problems(mappings, None) == [("duplicate_source", "planet", "question:5")]


def test_without_a_version_sources_are_not_looked_up() -> None:
    assert _problems([*BASE, FieldMapping("question", "404", "planet")], None) == []


def test_problem_messages_name_field_and_reason() -> None:
    problems = check_mappings(
        [FieldMapping("question", "5", "old_field"), FieldMapping("consent", "0", "budget")],
        FIELDS,
    )
    assert [p.message for p in problems] == [
        "nothing is mapped to the identity field 'email': every lead of this form would fail",
        "the contact field 'old_field' was deleted",
        "consent '0' is a yes/no answer and cannot fill 'budget', a number field"
        " (use a boolean, text or single-choice field)",
    ]
    assert all(isinstance(p, MappingProblem) for p in problems)
