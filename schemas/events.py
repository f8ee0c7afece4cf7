"""What leadsync publishes for others: contact changes (CloudEvents 1.0) and error events.

These shapes are a public contract (JSON Schema files in ``schemas/json/``, generated from
these models): add optional fields freely, never remove or retype one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

CONTACT_EVENT_SOURCE = "/leadsync/contacts"


class ContactEventType(StrEnum):
    CREATED = "com.leadsync.contact.created"
    UPDATED = "com.leadsync.contact.updated"
    ERASED = "com.leadsync.contact.erased"


class Cause(StrEnum):
    PUSH = "push"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    DELETED = "deleted"


class FieldChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    before: Any = None
    after: Any = None


class SubmissionRef(BaseModel):
    """The form submission behind the change, with its attribution."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str
    form_id: int
    form_name: str = ""
    form_version: int | None = None
    owner_urn: str | None = None
    campaign_urn: str | None = None
    creative_urn: str | None = None
    lead_type: str | None = None
    test_lead: bool = False
    submitted_at: datetime | None = None


class ContactChangeData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID
    # The contact after the change (for "erased": as it was before it was erased).
    contact: dict[str, Any]
    changes: list[FieldChange] = Field(default_factory=list)
    cause: Cause
    submission: SubmissionRef | None = None
    # Manual import option 2: the re-synced contact enters its workflows again.
    restart_workflows: bool = False
    sync_run_id: UUID | None = None
    # Why the change has its event when a request rather than new data caused it: a contact
    # synced again by a manual import (option 1) names the import, its run and its options.
    # None for a change that new data caused.
    reason: str | None = None


class ContactChange(BaseModel):
    """A CloudEvents 1.0 event (structured JSON mode) on ``leadsync.contact-changes``.

    ``id`` is stable: a re-published event carries the same id, so consumers dedupe on it.
    """

    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: str = CONTACT_EVENT_SOURCE
    type: ContactEventType
    subject: str = Field(description="the contact id")
    time: datetime
    # CloudEvents extension attribute: the account the contact belongs to. The record's key
    # is "<account>:<contact id>", so one contact's events stay in order on one partition.
    leadsyncaccount: int = Field(description="the id of the account the contact belongs to")
    datacontenttype: Literal["application/json"] = "application/json"
    data: ContactChangeData


class ErrorEvent(BaseModel):
    """Value of ``leadsync.errors``: one lead (or record) that could not be imported.

    ``error_id`` is deterministic for a given record and failure, so a replay after a crash
    is recognised and counted once.
    """

    model_config = ConfigDict(extra="forbid")

    error_id: UUID
    occurred_at: datetime
    stage: str
    code: str
    message: str
    # The account whose lead failed; None when the record was too broken to tell (those
    # lines are the operator's: pipeline_errors, not an account's error log).
    account_id: int | None = None
    form_id: int | None = None
    lead_id: str | None = None
    field: str | None = None
    origin: str | None = None
    sync_run_id: UUID | None = None
    raw_ref: dict[str, Any] | None = None
