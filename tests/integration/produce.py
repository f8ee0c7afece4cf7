"""Publishing test records the way leadsync's own producers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leadsync.kafka.producing import publish_all
from leadsync.settings import Settings

DATA = Path(__file__).parent.parent / "data"


def example_lead(**changes: Any) -> dict[str, Any]:
    """The lead of shared/linkedin-lead-sync.md (with its form's questions), altered."""
    lead: dict[str, Any] = json.loads((DATA / "lead_example.json").read_text())
    lead.update(changes)
    return lead


def publish_raw(
    settings: Settings, *values: dict[str, Any] | bytes, key: bytes | None = None
) -> None:
    records = []
    for value in values:
        if isinstance(value, bytes):
            records.append((b"garbage", value))
            continue
        lead_key = (
            value["erase_lead_id"] if "erase_lead_id" in value else value.get("lead", value)["id"]
        )
        records.append((key or str(lead_key).encode(), json.dumps(value).encode()))
    publish_all(settings, settings.topics.leads_raw, records)


def lead_for(
    lead_id: str,
    email: str,
    *,
    form_id: int = 7234246,
    version: int = 1,
    submitted_at: int = 1_700_000_000_000,
    first_name: str = "Ada",
    test_lead: bool = False,
    form_name: str | None = None,
) -> dict[str, Any]:
    """A lead of the example form's questions, for the given form id, person and time."""
    lead = example_lead(
        id=lead_id,
        versionedLeadGenFormUrn=(
            f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version})"
        ),
        submittedAt=submitted_at,
        testLead=test_lead,
        formResponse={
            "consentResponses": [{"consentId": 0, "accepted": True}],
            "answers": [
                {"questionId": 307234246,
                 "answerDetails": {"textQuestionAnswer": {"answer": email}}},
                {"questionId": 707234246,
                 "answerDetails": {"multipleChoiceAnswer": {"options": [1]}}},
                {"questionId": 107234246,
                 "answerDetails": {"textQuestionAnswer": {"answer": first_name}}},
            ],
        },
    )  # fmt: skip
    lead["form"] = {**lead["form"], "id": form_id, "name": form_name or f"Form {form_id}"}
    return lead


def envelope(lead: dict[str, Any], origin: str = "push", **options: bool) -> dict[str, Any]:
    return {"lead": lead, "origin": origin, "options": options}


def erase_request(lead_id: str, form_id: int) -> dict[str, Any]:
    return {"erase_lead_id": lead_id, "form_id": form_id, "occurred_at": "2026-11-27T12:00:00Z"}
