"""Request and response bodies of the admin API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from admin.status import Color
from schemas.mappings import FieldType, SourceKind

# Whole hours only: 1.5 or "24" is refused rather than rounded or guessed.
IntervalHours = Annotated[int, Field(ge=1, le=8760, strict=True)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusIndicator(BaseModel):
    color: Color
    reason: str = Field(description="Why the indicator has this colour, in one sentence.")


ErrorKind = Literal["configuration", "connection", "linkedin", "unreadable", "internal"]


class ErrorsByKind(BaseModel):
    """Error-log lines since the counters' reset, one per lead and code, by kind."""

    configuration: int = Field(
        description="Identity not mapped or missing, a value invalid for its field, a mapping"
        " to a field that no longer exists: the form's total errors."
    )
    connection: int = Field(
        description="The LinkedIn connection was missing, expired, revoked, or may not read"
        " the lead's owner."
    )
    linkedin: int = Field(description="LinkedIn answered with an error or lost the lead.")
    unreadable: int = Field(description="Leads or records leadsync could not read.")
    internal: int = Field(description="leadsync failed on the lead (a bug: see the log).")


class Counters(BaseModel):
    """Since the form was configured or its counters were last reset (a manual import, when
    its run started)."""

    imported: int = Field(description="Contacts created.")
    updated: int = Field(description="Contacts updated.")
    errors: int = Field(
        description="Total errors: leads that failed because of the form's configuration"
        " (identity not mapped or missing, a value invalid for its field, a mapping to a field"
        " that no longer exists). Other failures are in errors_by_kind."
    )
    errors_by_kind: ErrorsByKind
    skipped: int = Field(description="Leads received while Import was off.")
    reset_at: datetime | None


class SyncBackoff(BaseModel):
    """Scheduled pulls failing in a row: the scheduler waits before the next attempt (5
    minutes, doubling up to the form's interval)."""

    consecutive_failures: int
    last_failed_at: datetime | None
    next_attempt_at: datetime | None = Field(
        description="Not before then (sooner if the LinkedIn connection is made again)."
    )
    last_error: str | None


class RetentionWarning(BaseModel):
    """Leads that LinkedIn will delete before leadsync imports them."""

    leads_lost_from: datetime = Field(
        description="When the first of them are lost (in the past: the loss has begun)."
    )
    cause: Literal["older_submissions", "pulls_blocked"] = Field(
        description="older_submissions: Import went on after the form had leads, and no"
        " manual import of all submissions ran since; pulls_blocked: the connection is broken"
        " or the scheduled pulls fail, and leads age out before the next pull."
    )
    reason: str


class RunSummary(BaseModel):
    id: UUID
    trigger: Literal["schedule", "manual"]
    status: Literal["queued", "running", "succeeded", "failed"]
    requested_at: datetime
    finished_at: datetime | None
    error: str | None


class Form(BaseModel):
    id: int
    name: str
    owner_urn: str | None = Field(description="Ad account or organization URN.")
    owner_name: str | None
    state: str | None
    status: StatusIndicator
    import_enabled: bool = Field(description="The form's Import switch.")
    import_enabled_at: datetime | None
    periodic_sync: bool = Field(description="The Periodic sync checkbox.")
    sync_interval_hours: int
    counters: Counters
    last_imported_at: datetime | None
    last_synced_at: datetime | None
    watermark: datetime | None
    connection_status: Literal["active", "expired", "revoked"] | None
    connection_refresh_expires_at: datetime | None = Field(
        description="When the LinkedIn connection's refresh token ends (a year after the member"
        " connected): the status warns 30, 7 and 1 days before, and turns red then."
    )
    sync_backoff: SyncBackoff | None = Field(
        description="Set while the scheduled pulls are failing in a row."
    )
    retention_warning: RetentionWarning | None
    last_run: RunSummary | None


class FormList(BaseModel):
    forms: list[Form]


class FormSettingsChange(RequestBody):
    """Only the settings given change; the Import switch starts the first watermark."""

    import_enabled: bool | None = Field(default=None, strict=True)
    periodic_sync: bool | None = Field(default=None, strict=True)
    sync_interval_hours: IntervalHours | None = None


class ContactFieldOut(BaseModel):
    key: str
    label: str
    type: FieldType
    standard: bool
    choices: list[str] | None
    system: bool = Field(description="Written by leadsync only; not a mapping target.")
    deleted: bool


class ErrorLine(BaseModel):
    occurred_at: datetime
    form_id: int | None
    lead_id: str | None
    stage: str
    kind: ErrorKind
    code: str
    message: str
    field: str | None
    origin: str | None
    sync_run_id: UUID | None


class ErrorLines(BaseModel):
    errors: list[ErrorLine] = Field(description="Newest first.")


class FieldList(BaseModel):
    fields: list[ContactFieldOut]


class MappingIn(RequestBody):
    source_kind: SourceKind
    source_key: str = Field(
        min_length=1,
        max_length=200,
        description="predefinedField name, questionId, consent id or hidden field name.",
    )
    field_key: str = Field(min_length=1, max_length=63)


class MappingOut(BaseModel):
    source_kind: SourceKind
    source_key: str
    field_key: str
    automatic: bool = Field(description="Created on discovery (a predefined field).")


class MappingSet(RequestBody):
    mappings: list[MappingIn] = Field(max_length=1000)


class Problem(BaseModel):
    code: str
    message: str
    field: str | None
    source: str | None = Field(description="`kind:key`, e.g. `question:707234246`.")


class Option(BaseModel):
    id: int
    label: str


class QuestionOut(BaseModel):
    question_id: int
    name: str
    label: str
    predefined_field: str | None
    options: list[Option]
    source_kind: SourceKind
    source_key: str = Field(description="What a mapping of this question uses as source_key.")


class ConsentOut(BaseModel):
    id: int
    label: str
    check_required: bool
    source_kind: Literal["consent"] = "consent"
    source_key: str


class HiddenFieldOut(BaseModel):
    name: str
    value: str | None
    source_kind: Literal["hidden"] = "hidden"
    source_key: str


class FormMappings(BaseModel):
    form_id: int
    version_id: int | None = Field(description="The latest known version, whose content this is.")
    questions: list[QuestionOut]
    consents: list[ConsentOut]
    hidden_fields: list[HiddenFieldOut]
    mappings: list[MappingOut]
    problems: list[Problem] = Field(description="What is wrong with the saved set, if anything.")


class Run(BaseModel):
    id: UUID
    form_id: int
    trigger: Literal["schedule", "manual"]
    status: Literal["queued", "running", "succeeded", "failed"]
    reimport_existing: bool
    restart_workflows: bool
    all_submissions: bool
    window_start: datetime | None
    window_end: datetime | None
    error: str | None
    pages: int
    leads_total: int | None
    leads_published: int
    requested_by: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    imported: int | None = Field(default=None, description="Contacts created by this run.")
    updated: int | None = Field(default=None, description="Contacts updated by this run.")
    errors: int | None = Field(default=None, description="Error-log lines of this run.")


class RunList(BaseModel):
    runs: list[Run]


class Submission(BaseModel):
    form_id: int
    form_name: str
    lead_id: str
    form_version: int
    owner_urn: str | None
    owner_name: str | None
    campaign_urn: str | None
    campaign_name: str | None
    test_lead: bool
    submitted_at: datetime
    imported_at: datetime


class Contact(BaseModel):
    id: UUID
    email: str
    work_email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    work_phone: str | None
    company: str | None
    company_size: str | None
    job_title: str | None
    job_function: str | None
    seniority: str | None
    industry: str | None
    gender: str | None
    country: str | None
    state: str | None
    city: str | None
    postal_code: str | None
    linkedin_profile_url: str | None
    custom_fields: dict[str, Any]
    linkedin_imported: bool = Field(description="LinkedIn - Imported.")
    linkedin_import_date: datetime | None = Field(description="LinkedIn - Import date.")
    created_at: datetime
    updated_at: datetime
    submissions: list[Submission] = Field(description="LinkedIn - Forms filled.")


class ContactPage(BaseModel):
    contacts: list[Contact]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
