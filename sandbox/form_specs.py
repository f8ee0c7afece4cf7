"""What each sandbox form asks, version by version.

One :class:`FormSpec` per form. A new version changes the questions (adds, removes, or
replaces one), keeps the ids of the questions it keeps, and every version names its own
question set, so an importer must join answers to the questions of the lead's own version.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.questions import choice, consent, free_text, predefined

Content = dict[str, Any]


@dataclass(frozen=True)
class FormSpec:
    name: str
    owner_index: int  # into [ad accounts..., organization]
    locale: str
    state: str
    lead_type: str
    version_ages_days: tuple[int, ...]  # age of each version at the catalog epoch
    hidden_fields: tuple[tuple[str, str], ...]
    build: Callable[[int, int], Content]  # (form id, version) -> content
    form_id: int | None = None  # fixed id, else drawn from the seed

    def content(self, form_id: int, version: int) -> Content:
        return self.build(form_id, version)


def _content(
    headline: str,
    questions: list[dict[str, Any]],
    consents: list[dict[str, Any]],
    *,
    description: str = "",
) -> Content:
    return {
        "headline": headline,
        "description": description,
        "questions": questions,
        "legalInfo": {
            "privacyPolicyUrl": "https://example.com/privacy",
            "legalDisclaimer": "",
            "consents": consents,
        },
    }


def _test_form(form_id: int, version: int) -> Content:
    # Version 1 is the reference page's example, question for question.
    loc = "it_IT"
    questions = [
        predefined(3, form_id, "EMAIL", loc),
        choice(7, form_id, "Custom question 0", "Colore preferito", ["Rosso", "Blu"], loc),
        predefined(1, form_id, "FIRST_NAME", loc),
    ]
    if version >= 2:
        questions += [
            predefined(2, form_id, "LAST_NAME", loc),
            predefined(4, form_id, "COMPANY_NAME", loc, required=False),
            predefined(5, form_id, "PHONE_NUMBER", loc, required=False),
        ]
    consents = [consent(0, "Acconsento a ricevere email", loc, required=False)]
    return _content("Scarica la guida", questions, consents)


def _webinar(form_id: int, version: int) -> Content:
    loc = "en_US"
    questions = [
        predefined(1, form_id, "FIRST_NAME", loc),
        predefined(2, form_id, "LAST_NAME", loc),
        predefined(3, form_id, "WORK_EMAIL", loc),
        predefined(4, form_id, "JOB_TITLE", loc, required=False),
        predefined(5, form_id, "COMPANY_NAME", loc),
        choice(6, form_id, "Company size", "Company size", ["1-10", "11-200", "201+"], loc),
        free_text(7, form_id, "Topics", "What would you like to learn?", loc),
    ]
    consents = [
        consent(0, "I agree to the processing of my data", loc, required=True),
        consent(1, "Send me product news", loc, required=False),
    ]
    return _content("Register for the webinar", questions, consents, description="Live, 45 min")


def _demo_request(form_id: int, version: int) -> Content:
    loc = "fr_FR"
    questions = [
        predefined(1, form_id, "FIRST_NAME", loc),
        predefined(2, form_id, "LAST_NAME", loc),
        predefined(3, form_id, "EMAIL", loc),
    ]
    if version >= 2:
        questions.append(predefined(4, form_id, "COMPANY_NAME", loc))
    if version == 2:
        questions.append(choice(5, form_id, "Budget", "Budget", ["< 10k", "10k-50k", "> 50k"], loc))
    if version >= 3:
        questions += [
            predefined(6, form_id, "CITY", loc, required=False),
            predefined(7, form_id, "COUNTRY", loc, required=False),
        ]
    consents = [consent(0, "J'accepte d'être recontacté", loc, required=True)]
    return _content("Demandez une démo", questions, consents)


def _simple(locale: str, headline: str, consent_text: str) -> Callable[[int, int], Content]:
    def build(form_id: int, version: int) -> Content:
        questions = [
            predefined(1, form_id, "FIRST_NAME", locale),
            predefined(2, form_id, "LAST_NAME", locale),
            predefined(3, form_id, "EMAIL", locale),
            predefined(4, form_id, "PHONE_NUMBER", locale, required=False),
        ]
        if version >= 2:
            questions.append(predefined(5, form_id, "JOB_TITLE", locale, required=False))
        return _content(headline, questions, [consent(0, consent_text, locale, required=False)])

    return build


def _whitepaper(form_id: int, version: int) -> Content:
    loc = "de_DE"
    questions = [
        predefined(1, form_id, "EMAIL", loc),
        predefined(2, form_id, "FIRST_NAME", loc),
        predefined(3, form_id, "LAST_NAME", loc),
        choice(4, form_id, "Interest", "Interesse", ["Cloud", "Sicherheit", "Daten"], loc),
    ]
    return _content("Whitepaper herunterladen", questions, [])


def form_specs(rng: random.Random) -> list[FormSpec]:
    """Every form of the sandbox; ``rng`` only varies the hidden-field values."""
    campaign = f"spring-{rng.randint(10, 99)}"
    utm = (("utm_source", "linkedin"),)
    return [
        FormSpec("Test Form", 0, "it_IT", "PUBLISHED", "SPONSORED", (200, 40), utm,
                 _test_form, form_id=7234246),
        FormSpec("Webinar registration", 0, "en_US", "PUBLISHED", "SPONSORED", (90,),
                 (*utm, ("utm_campaign", campaign)), _webinar),
        FormSpec("Demande de démo", 1, "fr_FR", "PUBLISHED", "SPONSORED", (300, 150, 30), utm,
                 _demo_request),
        FormSpec("Ancien formulaire", 1, "fr_FR", "ARCHIVED", "SPONSORED", (500,), (),
                 _simple("fr_FR", "Contactez-nous", "J'accepte")),
        FormSpec("Whitepaper herunterladen", 2, "de_DE", "PUBLISHED", "SPONSORED", (120,), utm,
                 _whitepaper),
        FormSpec("Entwurf", 2, "de_DE", "DRAFT", "SPONSORED", (2,), (),
                 _simple("de_DE", "Kontakt", "Ich stimme zu")),
        FormSpec("Other team's form", 3, "en_US", "PUBLISHED", "SPONSORED", (60,), utm,
                 _simple("en_US", "Get in touch", "I agree")),
        FormSpec("Contact us", 4, "en_US", "PUBLISHED", "COMPANY", (250, 10), (),
                 _simple("en_US", "Talk to our team", "I agree to be contacted")),
        FormSpec("Iscrizione evento", 4, "it_IT", "PUBLISHED", "EVENT", (45,), utm,
                 _simple("it_IT", "Iscriviti all'evento", "Acconsento")),
    ]  # fmt: skip
