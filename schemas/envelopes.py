"""The envelopes leadsync puts on its own topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.linkedin import ImportedLead, Lead


class Origin(StrEnum):
    PUSH = "push"
    SCHEDULE = "schedule"
    MANUAL = "manual"


class SyncOptions(BaseModel):
    """The manual-import options of the product (architecture.md section 5)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reimport_existing: bool = False
    restart_workflows: bool = False
    all_submissions: bool = False

    @model_validator(mode="after")
    def _restart_needs_reimport(self) -> SyncOptions:
        if self.restart_workflows and not self.reimport_existing:
            raise ValueError(
                "restart_workflows is only allowed together with reimport_existing"
                " (workflows restart for contacts that are synced again)"
            )
        return self


class RawLead(BaseModel):
    """Value of ``leadsync.leads.raw``: the full LinkedIn lead plus how it was obtained."""

    model_config = ConfigDict(extra="forbid")

    lead: Lead
    origin: Origin
    # The account that imports it (hydration writes one record per account that connected
    # the lead's owner; a pull, its run's account). None only on a lead published by hand
    # without one, which the import refuses with an error (no_account).
    account_id: int | None = None
    sync_run_id: UUID | None = None
    options: SyncOptions = Field(default_factory=SyncOptions)
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_record(cls, value: bytes) -> RawLead:
        """Parse a lead record of the raw topic (see :func:`parse_raw_record`)."""
        parsed = parse_raw_record(value)
        if not isinstance(parsed, RawLead):
            raise ValueError("the record is an erase request, not a lead")
        return parsed

    def to_record(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class ImportEnvelope(RawLead):
    """:class:`RawLead` as the import pipeline reads it (see :class:`ImportedLead`)."""

    lead: ImportedLead


class SyncTrigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


class SyncRequest(BaseModel):
    """Value of ``leadsync.sync-requests``: pull one form (a recorded sync run)."""

    model_config = ConfigDict(extra="forbid")

    run_id: UUID
    account_id: int
    form_id: int
    trigger: SyncTrigger
    options: SyncOptions = Field(default_factory=SyncOptions)
    requested_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def key(self) -> bytes:
        """The record's key: the account's form, so that its requests keep their order."""
        return f"{self.account_id}:{self.form_id}".encode()

    def to_record(self) -> bytes:
        return self.model_dump_json().encode()


class EraseRequest(BaseModel):
    """A ``DELETED`` lead: erase what it brought (value on ``leadsync.leads.raw``)."""

    model_config = ConfigDict(extra="forbid")

    erase_lead_id: str = Field(min_length=1)
    # The account whose copy of the lead is erased (one request per account holding it).
    account_id: int | None = None
    form_id: int
    occurred_at: datetime
    origin: Origin = Origin.PUSH

    def to_record(self) -> bytes:
        return self.model_dump_json().encode()


def parse_raw_record(value: bytes) -> RawLead | EraseRequest:
    """A record of ``leadsync.leads.raw``: a lead to import or an erase request."""
    document = json.loads(value)
    if isinstance(document, dict) and "erase_lead_id" in document:
        return EraseRequest.model_validate(document)
    if isinstance(document, dict) and "lead" in document:
        return RawLead.model_validate(document)
    # A bare LinkedIn lead, as an operator may publish by hand: a manual import (which
    # names no account, so the import refuses it; `leadsync leads publish` wraps it).
    return RawLead(lead=Lead.model_validate(document), origin=Origin.MANUAL)
