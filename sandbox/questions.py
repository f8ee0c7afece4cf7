"""Lead Gen Form questions and consents in LinkedIn's JSON shape, in four locales.

A question's ``name`` is in the creator's language (English here) and its ``question`` text
in the form's locale, as on LinkedIn, so that an importer keying mappings on labels breaks
against the sandbox just as it would against LinkedIn.
"""

from __future__ import annotations

from typing import Any

LOCALES: dict[str, tuple[str, str]] = {
    "it_IT": ("it", "IT"),
    "en_US": ("en", "US"),
    "fr_FR": ("fr", "FR"),
    "de_DE": ("de", "DE"),
}

# predefinedField -> (English name, max length, {locale: label})
PREDEFINED: dict[str, tuple[str, int, dict[str, str]]] = {
    "FIRST_NAME": (
        "First name",
        100,
        {"it_IT": "Nome", "en_US": "First name", "fr_FR": "Prénom", "de_DE": "Vorname"},
    ),
    "LAST_NAME": (
        "Last name",
        100,
        {"it_IT": "Cognome", "en_US": "Last name", "fr_FR": "Nom", "de_DE": "Nachname"},
    ),
    "EMAIL": (
        "Email address",
        300,
        {
            "it_IT": "Indirizzo email",
            "en_US": "Email address",
            "fr_FR": "Adresse e-mail",
            "de_DE": "E-Mail-Adresse",
        },
    ),
    "WORK_EMAIL": (
        "Work email",
        300,
        {
            "it_IT": "Email di lavoro",
            "en_US": "Work email",
            "fr_FR": "E-mail professionnel",
            "de_DE": "Geschäftliche E-Mail",
        },
    ),
    "PHONE_NUMBER": (
        "Phone number",
        30,
        {
            "it_IT": "Numero di telefono",
            "en_US": "Phone number",
            "fr_FR": "Numéro de téléphone",
            "de_DE": "Telefonnummer",
        },
    ),
    "COMPANY_NAME": (
        "Company name",
        200,
        {"it_IT": "Azienda", "en_US": "Company name", "fr_FR": "Entreprise", "de_DE": "Firma"},
    ),
    "JOB_TITLE": (
        "Job title",
        200,
        {
            "it_IT": "Qualifica",
            "en_US": "Job title",
            "fr_FR": "Intitulé du poste",
            "de_DE": "Berufsbezeichnung",
        },
    ),
    "CITY": ("City", 100, {"it_IT": "Città", "en_US": "City", "fr_FR": "Ville", "de_DE": "Stadt"}),
    "COUNTRY": (
        "Country",
        100,
        {"it_IT": "Paese", "en_US": "Country", "fr_FR": "Pays", "de_DE": "Land"},
    ),
}


def question_id(position: int, form_id: int) -> int:
    """Question ids as LinkedIn shows them: a small prefix glued to the form id."""
    return int(f"{position}0{form_id}")


def predefined(
    position: int, form_id: int, field: str, locale: str, *, required: bool = True
) -> dict[str, Any]:
    name, max_length, labels = PREDEFINED[field]
    return {
        "questionId": question_id(position, form_id),
        "name": name,
        "predefinedField": field,
        "question": {"localized": {locale: labels[locale]}},
        "questionDetails": {"textQuestionDetails": {"maxResponseLength": max_length}},
        "responseRequired": required,
    }


def free_text(
    position: int, form_id: int, name: str, label: str, locale: str, *, max_length: int = 300
) -> dict[str, Any]:
    return {
        "questionId": question_id(position, form_id),
        "name": name,
        "question": {"localized": {locale: label}},
        "questionDetails": {"textQuestionDetails": {"maxResponseLength": max_length}},
        "responseRequired": False,
    }


def choice(
    position: int,
    form_id: int,
    name: str,
    label: str,
    options: list[str],
    locale: str,
    *,
    required: bool = False,
) -> dict[str, Any]:
    return {
        "questionId": question_id(position, form_id),
        "name": name,
        "question": {"localized": {locale: label}},
        "questionDetails": {
            "multipleChoiceQuestionDetails": {
                "options": [
                    {"id": index, "text": {"localized": {locale: text}}}
                    for index, text in enumerate(options)
                ]
            }
        },
        "responseRequired": required,
    }


def consent(consent_id: int, text: str, locale: str, *, required: bool) -> dict[str, Any]:
    return {"id": consent_id, "checkRequired": required, "consent": {"localized": {locale: text}}}
