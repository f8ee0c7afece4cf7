"""The outbox's contact-change events, serialised without the models, are the models' JSON."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from schemas.events import Cause, ContactChange, ContactEventType, FieldChange, SubmissionRef
from sinks.outbox import change_event, contact_json, field_changes

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BEFORE = {
    "id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
    "account_id": 42,
    "email": "kevin@example.com",
    "first_name": "Kev",
    "company": None,
    "custom_fields": {"colour": "Red", "gone": 1},
    "sources": ["linkedin"],
    "field_sources": {"first_name": {"form_id": 7, "lead_id": "lead-0", "value": "Kev"}},
    "linkedin_import_date": NOW,
    "updated_at": NOW,
}
AFTER = {
    **BEFORE,
    "first_name": "Kevin",
    "company": "ACME",
    "custom_fields": {"colour": "Blue", "new": True},
    "sources": ["crm", "linkedin"],
    "field_sources": {"first_name": {"form_id": 7, "lead_id": "lead-1", "value": "Kevin"}},
    "updated_at": datetime(2026, 11, 27, 12, 5, tzinfo=UTC),
}
REF = SubmissionRef(
    lead_id="lead-1", form_id=7, form_name="Form", form_version=2, owner_urn="urn:li:o:1",
    lead_type="SPONSORED", test_lead=True, submitted_at=NOW,
)  # fmt: skip


def test_field_changes_name_each_changed_field_and_custom_field() -> None:
    changes = field_changes(contact_json(BEFORE), contact_json(AFTER))
    assert changes == [
        {"field": "company", "before": None, "after": "ACME"},
        {"field": "first_name", "before": "Kev", "after": "Kevin"},
        {"field": "custom.colour", "before": "Red", "after": "Blue"},
        {"field": "custom.gone", "before": 1, "after": None},
        {"field": "custom.new", "before": None, "after": True},
    ]  # bookkeeping columns (updated_at, sources, field_sources) are not changes


def test_a_created_contact_lists_every_field_with_a_value() -> None:
    assert field_changes(None, contact_json(AFTER)) == [
        {"field": "company", "before": None, "after": "ACME"},
        {"field": "email", "before": None, "after": "kevin@example.com"},
        {"field": "first_name", "before": None, "after": "Kevin"},
        {"field": "linkedin_import_date", "before": None, "after": "2026-11-27T12:00:00+00:00"},
        {"field": "custom.colour", "before": None, "after": "Blue"},
        {"field": "custom.new", "before": None, "after": True},
    ]  # null fields are no change; bookkeeping columns (id, updated_at, sources) none either


def test_event_json_is_exactly_what_the_contact_change_model_writes() -> None:
    contact = contact_json(AFTER)
    changes = field_changes(contact_json(BEFORE), contact)
    run = uuid.uuid4()
    reason = f"synced again by manual import {run} (sync existing contacts, restart workflows)"
    event = change_event(
        ContactEventType.UPDATED, contact, changes, Cause.MANUAL, REF,
        restart_workflows=True, sync_run_id=run, reason=reason,
    )  # fmt: skip

    parsed = ContactChange.model_validate_json(event.payload)  # valid against the contract
    expected = ContactChange.model_validate(
        {
            "id": event.event_id,
            "type": ContactEventType.UPDATED,
            "subject": str(AFTER["id"]),
            "time": parsed.time,
            "leadsyncaccount": 42,
            "data": {
                "contact_id": AFTER["id"],
                "contact": contact,
                "changes": [FieldChange(**c) for c in changes],
                "cause": Cause.MANUAL,
                "submission": REF,
                "restart_workflows": True,
                "sync_run_id": run,
                "reason": reason,
            },
        }
    )
    assert event.payload == expected.model_dump_json()  # same members, order and formats
    assert (event.contact_id, event.event_type) == (AFTER["id"], ContactEventType.UPDATED)
    assert (event.account_id, parsed.leadsyncaccount) == (42, 42)
    assert "account_id" not in {c["field"] for c in changes}  # the account is not a value
    assert json.loads(event.payload)["data"]["submission"]["submitted_at"] == "2026-11-27T12:00:00Z"
    # Field provenance is the admin API's, not the events'.
    assert "field_sources" not in json.loads(event.payload)["data"]["contact"]


def test_events_without_a_submission_and_each_event_its_own_id() -> None:
    contact = contact_json(AFTER)
    one = change_event(ContactEventType.ERASED, contact, [], Cause.DELETED)
    two = change_event(ContactEventType.ERASED, contact, [], Cause.DELETED)
    assert one.event_id != two.event_id
    data = ContactChange.model_validate_json(one.payload).data
    assert (data.submission, data.changes, data.cause, data.reason) == (
        None, [], Cause.DELETED, None,
    )  # fmt: skip
