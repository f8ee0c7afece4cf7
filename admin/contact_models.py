"""The contact as ``GET /api/contacts/{id}`` shows it: with where each value came from."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from admin.models import Contact


class FieldOrigin(BaseModel):
    """Where a field's value came from (field provenance)."""

    source: Literal["linkedin", "other"] = Field(
        description="linkedin: the value leadsync wrote there last, still as written;"
        " other: a value leadsync did not write, or changed since it wrote it."
    )
    value: Any = Field(description="The field's value now.")
    form_id: int | None = Field(description="The form whose lead leadsync wrote it from.")
    lead_id: str | None = Field(description="That lead.")
    mapping_version: int | None = Field(
        description="The version of the form's mapping set it was written with."
    )
    mapping_source: str | None = Field(
        description='The mapping\'s source, e.g. "predefined:COMPANY_NAME", "question:707".'
    )
    written_at: datetime | None = Field(description="When leadsync wrote it.")
    written_value: Any = Field(description="The value leadsync wrote (differs when other).")


class ContactDetail(Contact):
    field_sources: dict[str, FieldOrigin] = Field(
        description="Per field with a value (or written by leadsync once): where it came from."
    )


class ContactDetailPage(BaseModel):
    contacts: list[ContactDetail]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
