"""Publishing test records the way leadsync's own producers do: an envelope or an erase
request names its account (the settings' one, unless the test names another), and its key
is "<account>:<lead>"."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.operator import account_id_of, ensure_account
from leadsync.kafka.producing import publish_all
from leadsync.settings import Settings

DATA = Path(__file__).parent.parent / "data"
_ACCOUNT_IDS: dict[tuple[str, str | None], int] = {}


def settings_account(settings: Settings) -> int:
    """The id of the settings' account (``harness.operator.account_id_of``), looked up once."""
    key = (settings.database_conninfo(), settings.account)
    if key not in _ACCOUNT_IDS:
        # account_id_of runs its own event loop; an async test is already inside one.
        with ThreadPoolExecutor(1) as pool:
            _ACCOUNT_IDS[key] = pool.submit(account_id_of, settings).result()
    return _ACCOUNT_IDS[key]


def example_lead(**changes: Any) -> dict[str, Any]:
    """The lead of shared/linkedin-lead-sync.md (with its form's questions), altered."""
    lead: dict[str, Any] = json.loads((DATA / "lead_example.json").read_text())
    lead.update(changes)
    return lead


def make_account(settings: Settings, name: str) -> int:
    """Another account (``harness.operator.ensure_account``), e.g. one sharing an ad account
    with the settings' one; its id."""
    with ThreadPoolExecutor(1) as pool:  # as above: the caller may be inside an event loop
        return pool.submit(ensure_account, settings, name).result()


def publish_raw(
    settings: Settings, *values: dict[str, Any] | bytes, key: bytes | None = None
) -> None:
    """Publish records on the raw topic. An envelope or erase request without an
    ``account_id`` member is the settings' account's; one with ``"account_id": None``, and a
    bare lead, name no account (as an operator publishing by hand would)."""
    records = []
    for value in values:
        if isinstance(value, bytes):
            records.append((b"garbage", value))
            continue
        if ("lead" in value or "erase_lead_id" in value) and "account_id" not in value:
            value = {**value, "account_id": settings_account(settings)}
        lead_key = (
            value["erase_lead_id"] if "erase_lead_id" in value else value.get("lead", value)["id"]
        )
        account = value.get("account_id")
        record_key = f"{account}:{lead_key}" if account is not None else str(lead_key)
        records.append((key or record_key.encode(), json.dumps(value).encode()))
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


def envelope(
    lead: dict[str, Any], origin: str = "push", *, account_id: int | None = None, **options: bool
) -> dict[str, Any]:
    """A raw lead envelope; of ``account_id``, else of the account ``publish_raw`` gives."""
    value: dict[str, Any] = {"lead": lead, "origin": origin, "options": options}
    if account_id is not None:
        value["account_id"] = account_id
    return value


def erase_request(lead_id: str, form_id: int, *, account_id: int | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "erase_lead_id": lead_id, "form_id": form_id, "occurred_at": "2026-11-27T12:00:00Z"
    }  # fmt: skip
    if account_id is not None:
        value["account_id"] = account_id
    return value
