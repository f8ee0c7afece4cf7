"""Mapping problems as the console says them and as the API says them: the API's English
message stays what it was (field keys, source ids); the console's names the field by its
label and the source by its row on the page, in English or Italian, for every problem
:func:`mapping.checks.check_mappings` reports. And the time windows in which the mapping
page reads a form's newest leads from LinkedIn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from admin.console.i18n import catalog, translate
from admin.console.mapping_sources import Source, problem_text
from ingest.recent_leads import newest_first_windows
from mapping.checks import DescribedProblem, check_mappings
from schemas.linkedin import LeadForm
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec

FIELDS = {
    f.key: f
    for f in [
        ContactField("email", "Email", "email", standard=True),
        ContactField("company", "Company", "text", standard=True),
        ContactField("budget", "Budget", "number", standard=False),
        ContactField("gone", "Gone", "text", standard=False, deleted=True),
        ContactField("linkedin_imported", "LinkedIn - Imported", "boolean", True, system=True),
    ]
}
_FORM = {
    "id": 77,
    "content": {
        "questions": [
            {"questionId": 3, "name": "Email", "predefinedField": "EMAIL",
             "question": {"localized": {"it_IT": "Indirizzo email"}}},
            {"questionId": 1, "name": "First name", "predefinedField": "FIRST_NAME",
             "question": {"localized": {"it_IT": "Nome"}}},
            {"questionId": 5, "name": "Custom question 0",
             "question": {"localized": {"it_IT": "Colore preferito"}}},
        ],
        "legalInfo": {
            "consents": [{"id": 0, "consent": {"localized": {"it_IT": "Acconsento"}}}]
        },
    },
}  # fmt: skip
VERSION = FormVersionSpec.from_form(LeadForm.model_validate(_FORM), 3)
ROWS = [
    Source("predefined", "EMAIL", "predefined", "Indirizzo email"),
    Source("predefined", "FIRST_NAME", "predefined", "Nome", aliases=frozenset({"question:1"})),
    Source("question", "5", "question", "Colore preferito"),
    Source("consent", "0", "consent", "Acconsento"),
]
IDENTITY = FieldMapping("predefined", "EMAIL", "email")


def _said(mappings: list[FieldMapping], lang: str) -> list[str]:
    problems = check_mappings([IDENTITY, *mappings], FIELDS, VERSION)
    return [problem_text(p, ROWS, FIELDS, partial(translate, lang)) for p in problems]


@pytest.mark.parametrize(
    ("mappings", "api", "english", "italian"),
    [
        (
            [FieldMapping("predefined", "FIRST_NAME", "company"),
             FieldMapping("question", "5", "company")],
            "'company' is filled by several sources: predefined field 'FIRST_NAME',"
            " question '5'",
            "“Company” is filled by several sources: “Nome”, “Colore preferito”",
            "il campo “Azienda” è compilato da più elementi del modulo: “Nome”,"
            " “Colore preferito”",
        ),
        (
            [FieldMapping("question", "5", "company"), FieldMapping("question", "5", "budget")],
            "question '5' is mapped twice",
            "“Colore preferito” is mapped twice",
            "“Colore preferito” compare due volte nell'associazione",
        ),
        (
            [FieldMapping("question", "abc", "company")],
            "question 'abc' is not a valid source",
            "question abc is not a valid source",
            "domanda abc non è un elemento valido del modulo",
        ),
        (
            [FieldMapping("hidden", "utm_source", "company")],
            "hidden field 'utm_source' is not on form 77 version 3",
            "hidden field utm_source is not on form 77 version 3",
            "campo nascosto utm_source non c'è nella versione 3 del modulo 77",
        ),
        (
            [FieldMapping("question", "5", "gone")],
            "the contact field 'gone' was deleted",
            "the contact field “Gone” was deleted",
            "il campo del contatto “Gone” è stato eliminato",
        ),
        (
            [FieldMapping("question", "5", "nowhere")],
            "the contact field 'nowhere' does not exist",
            "the contact field “nowhere” does not exist",
            "il campo del contatto “nowhere” non esiste",
        ),
        (
            [FieldMapping("question", "5", "linkedin_imported")],
            "the contact field 'linkedin_imported' is written by leadsync itself",
            "the contact field “LinkedIn - Imported” is written by leadsync itself",
            "il campo del contatto “LinkedIn - Importato” è scritto da leadsync stesso",
        ),
        (
            [FieldMapping("consent", "0", "budget")],
            "consent '0' is a yes/no answer and cannot fill 'budget', a number field"
            " (use a boolean, text or single-choice field)",
            "“Acconsento” is a yes/no answer and cannot fill “Budget”, a number field"
            " (use a boolean, text or single-choice field)",
            "“Acconsento” è una risposta sì/no e non può compilare “Budget”, un campo di tipo"
            " numero (usa un campo sì/no, di testo o a scelta singola)",
        ),
    ],
)  # fmt: skip
def test_each_problem_keeps_the_apis_english_and_is_said_in_the_page_s_words(
    mappings: list[FieldMapping], api: str, english: str, italian: str
) -> None:
    problems = check_mappings([IDENTITY, *mappings], FIELDS, VERSION)
    assert [p.message for p in problems] == [api]
    assert all(isinstance(p, DescribedProblem) and p.template in catalog("it") for p in problems)
    assert _said(mappings, "en") == [english]
    assert _said(mappings, "it") == [italian]


def test_the_identity_problem_reads_as_it_always_did() -> None:
    (problem,) = check_mappings([], FIELDS, VERSION)
    message = "nothing is mapped to the identity field 'email': every lead of this form would fail"
    assert problem.message == message
    assert problem_text(problem, ROWS, FIELDS, partial(translate, "it")) == (
        "nessuna domanda è associata al campo identità 'email': ogni lead di questo modulo"
        " fallirebbe"
    )


def test_newest_leads_are_read_in_windows_from_now_back_to_the_retention() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    day = timedelta(days=1)
    assert list(newest_first_windows(now, now - 365 * day)) == [
        (now - day, now),
        (now - 30 * day, now - day),
        (now - 365 * day, now - 30 * day),
    ]
    assert list(newest_first_windows(now, now - 7 * day)) == [
        (now - day, now),
        (now - 7 * day, now - day),
    ]
    assert list(newest_first_windows(now, now - day / 2)) == [(now - day / 2, now)]
