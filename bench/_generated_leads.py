"""The leads bench/pipeline.py pre-loads: generated from the example lead, on several forms
with more predefined questions, mostly distinct people plus some people on two forms, spread
over accounts 1..N (a person stays in one account); and the contact rows its psycopg
baseline upserts for them."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).parent.parent / "tests" / "data" / "lead_example.json"

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
COMPANIES = ["Initech", "Globex", "Umbrella", "Hooli", "Acme", "Stark", "Wayne", "Tyrell"]
TITLES = ["Engineer", "CTO", "Analyst", "Product Manager", "Designer", "Buyer"]


@dataclass
class Workload:
    records: list[tuple[bytes, bytes]]  # (key, value) for the raw topic
    contact_rows: list[tuple[Any, ...]]  # what the psycopg baseline upserts, one per lead
    forms: list[int]
    people: int
    accounts: int  # the leads name accounts 1..accounts


def _question(qid: int, name: str, predefined: str | None, text: str) -> dict[str, Any]:
    question: dict[str, Any] = {
        "questionId": qid,
        "name": name,
        "question": {"localized": {"en_US": text}},
        "questionDetails": {"textQuestionDetails": {"maxResponseLength": 200}},
        "responseRequired": True,
    }
    if predefined:
        question["predefinedField"] = predefined
    return question


def _form(form_id: int) -> dict[str, Any]:
    """The example form, with a few more predefined questions, under its own id."""
    form: dict[str, Any] = json.loads(EXAMPLE.read_text())["form"]
    form["id"] = form_id
    form["name"] = f"Bench form {form_id}"
    form["content"]["questions"] += [
        _question(form_id * 10 + 1, "Last name", "LAST_NAME", "Last name"),
        _question(form_id * 10 + 2, "Company", "COMPANY_NAME", "Company"),
        _question(form_id * 10 + 3, "Job title", "JOB_TITLE", "Job title"),
    ]
    return form


def generate(leads: int, forms: int, accounts: int = 1, seed: int = 7) -> Workload:
    """``leads`` leads over ``forms`` forms: ~90% distinct people, the rest on a 2nd form;
    person p's leads are of account 1 + p % accounts."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    template = json.loads(EXAMPLE.read_text())
    form_ids = [900_000_001 + i for i in range(forms)]
    form_docs = {f: _form(f) for f in form_ids}
    people = leads - leads // 10
    records: list[tuple[bytes, bytes]] = []
    rows: list[tuple[Any, ...]] = []
    start_ms = 1_780_000_000_000
    for n in range(leads):
        person = n if n < people else rng.randrange(people)
        form_id = form_ids[person % forms] if n < people else form_ids[(person + 1) % forms]
        email = f"person{person}@bench{person % 97}.example.com"
        account_id = 1 + person % accounts
        first, last = FIRST_NAMES[person % 8], LAST_NAMES[person // 8 % 8]
        company, title = COMPANIES[person % 7], TITLES[person % 6]
        lead_id = f"bench-{n:08d}"
        submitted = start_ms + n * 1000
        answers = [
            (307234246, email),
            (form_id * 10 + 1, last),
            (form_id * 10 + 2, company),
            (form_id * 10 + 3, title),
            (107234246, first),
        ]
        lead = {
            **{k: v for k, v in template.items() if k != "form"},
            "id": lead_id,
            "versionedLeadGenFormUrn": (
                f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},1)"
            ),
            "submittedAt": submitted,
            "testLead": False,
            "formResponse": {
                "consentResponses": [{"consentId": 0, "accepted": bool(n % 3)}],
                "answers": [
                    {"questionId": q, "answerDetails": {"textQuestionAnswer": {"answer": a}}}
                    for q, a in answers
                ]
                + [
                    {
                        "questionId": 707234246,
                        "answerDetails": {"multipleChoiceAnswer": {"options": [n % 2]}},
                    }
                ],
            },
            "form": form_docs[form_id],
        }
        envelope = {"lead": lead, "origin": "push", "account_id": account_id, "options": {}}
        records.append((f"{account_id}:{lead_id}".encode(), json.dumps(envelope).encode()))
        rows.append((account_id, email, first, last, company, title, submitted))
    return Workload(records, rows, form_ids, people, accounts)
