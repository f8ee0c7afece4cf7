"""The contacts API's shapes: a contact with where each value came from, the contacts
query, the dynamic audiences, and what the filters can be set to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from admin.models import Contact
from sinks.contacts_query import ContactFilter, without_nul


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


class ContactsQuery(ContactFilter):
    """``GET /api/contacts``'s query: the filter, and the page. Any other parameter is
    refused (422), so that a misspelt filter never silently lists every contact."""

    limit: int = Field(100, ge=1, le=500, description="Contacts per page.")
    cursor: str | None = Field(None, max_length=200, description="`next_cursor`.")

    @model_validator(mode="after")
    def _readable(self) -> Self:
        self.contact_filter()  # refused here (422) as read_back says, not later (500)
        return self

    def contact_filter(self) -> ContactFilter:
        return ContactFilter.model_validate(
            self.model_dump(include=set(ContactFilter.model_fields))
        )


def read_back(where: ContactFilter) -> ContactFilter:
    """``where`` as it reads back once stored: a filter valid only as given is refused (422)
    here, not a 500 later. A numeric ad account or campaign id is kept as its URN, which can
    pass the field's length limit the id was within (and an audience's stored filter that
    fails validation would break every later read of the account's audiences)."""
    return ContactFilter.model_validate(where.definition())


# An audience's filter, refused unless it reads back as stored.
StoredFilter = Annotated[ContactFilter, AfterValidator(read_back)]


AudienceName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(without_nul),
    Field(description="Unique in the account, whatever its case; no NUL character."),
]


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: AudienceName
    filter: StoredFilter = Field(description="Its members: the contacts matching this now.")


class AudiencePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: AudienceName | None = None
    filter: StoredFilter | None = Field(None, description="Replaces the filter as a whole.")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.name is None and self.filter is None:
            raise ValueError("give the audience's new name, its new filter, or both")
        return self


class AudienceOut(BaseModel):
    id: UUID
    name: str
    filter: ContactFilter
    count: int = Field(description="Its members now (contacts matching the filter).")
    created_at: datetime
    updated_at: datetime


class AudienceList(BaseModel):
    audiences: list[AudienceOut] = Field(description="By name.")


class ConsentChoice(BaseModel):
    id: int = Field(description="`consent_id`.")
    text: str = Field(description="In the form's language, as its newest version has it.")
    required: bool = Field(description="Checked on every submission (LinkedIn requires it).")


class FormChoice(BaseModel):
    id: int
    name: str
    owner_urn: str | None
    owner_name: str | None
    consents: list[ConsentChoice] = Field(description="Of any of its versions, by id.")


class UrnChoice(BaseModel):
    urn: str
    name: str | None


class ContactFilterChoices(BaseModel):
    """What the contact filters can be set to in the account."""

    forms: list[FormChoice] = Field(description="`form_id`, `form_name`, `consent_id`.")
    ad_accounts: list[UrnChoice] = Field(description="`ad_account`: the forms' owners.")
    campaigns: list[UrnChoice] = Field(description="`campaign`: those of the submissions.")
