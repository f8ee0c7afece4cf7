"""The envelopes leadsync puts on its own topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.linkedin import Lead


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


class RawLead(BaseModel):
    """Value of ``leadsync.leads.raw``: the full LinkedIn lead plus how it was obtained."""

    model_config = ConfigDict(extra="forbid")

    lead: Lead
    origin: Origin
    sync_run_id: UUID | None = None
    options: SyncOptions = Field(default_factory=SyncOptions)
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_record(cls, value: bytes) -> RawLead:
        """Parse a record of the raw topic.

        A bare LinkedIn lead (no envelope), as an operator may produce by hand, is accepted
        and treated as a manual import.
        """
        document = json.loads(value)
        if isinstance(document, dict) and "lead" in document:
            return cls.model_validate(document)
        return cls(lead=Lead.model_validate(document), origin=Origin.MANUAL)

    def to_record(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def lead_json(lead: Lead) -> dict[str, Any]:
    """The lead as LinkedIn sent it (aliases, extra keys kept), for storage."""
    return lead.model_dump(mode="json", by_alias=True, exclude_none=True)
