"""The rows of one import batch, as :mod:`sinks.upserts` writes them: contacts, form
submissions and skipped leads, each naming its account; and what writing them did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.events import SubmissionRef

# A contact is one per account and email.
ContactKey = tuple[int, str]
# A lead is imported once per account.
LeadKey = tuple[int, str]

# Standard contact fields that are columns of "contacts"; any other field key is custom.
STANDARD_COLUMNS = (
    "work_email",
    "first_name",
    "last_name",
    "phone",
    "work_phone",
    "company",
    "company_size",
    "job_title",
    "job_function",
    "seniority",
    "industry",
    "gender",
    "country",
    "state",
    "city",
    "postal_code",
    "linkedin_profile_url",
)


@dataclass(slots=True)
class LeadValues:
    """What one lead maps onto its contact, with what field provenance records of it.
    (Not frozen: one per lead of every batch, and a frozen dataclass is slower to make.)"""

    form_id: int
    lead_id: str
    submitted_at: datetime
    fields: dict[str, Any]
    # For each field in ``fields``, the mapping that filled it ("kind:key").
    sources: dict[str, str]
    # The form's mapping set's version (forms.mapping_version) the values were mapped with.
    mapping_version: int
    # Manual import option 1: the lead is applied again with the form's current mapping.
    reapply: bool = False
    # The form's mappings now, as (field key, mapping source): what it may still write.
    mapped_now: frozenset[tuple[str, str]] = frozenset()

    def provenance(self, key: str, value: Any, at: str) -> dict[str, Any]:
        """The ``contacts.field_sources`` entry of ``key`` written with ``value`` (as the
        contact stores it) at ``at``."""
        return {
            "form_id": self.form_id,
            "lead_id": self.lead_id,
            "mapping_version": self.mapping_version,
            "mapping_source": self.sources.get(key),
            "at": at,
            "value": value,
        }


@dataclass
class ContactRow:
    account_id: int
    email: str
    submitted_at: datetime
    # The batch's leads of the contact merged, newest values last.
    fields: dict[str, Any]
    # Each of those leads, in submission order.
    leads: list[LeadValues] = field(default_factory=list)

    @property
    def reapplies(self) -> bool:
        return any(lead.reapply for lead in self.leads)


@dataclass
class SubmissionRow:
    account_id: int
    email: str
    form_id: int
    lead_id: str
    form_name: str
    form_version: int
    owner_urn: str | None
    owner_name: str | None
    campaign_urn: str | None
    campaign_name: str | None
    creative_urn: str | None
    creative_name: str | None
    lead_type: str
    test_lead: bool
    submitted_at: datetime
    answers: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    hidden_fields: list[dict[str, Any]]
    # The Kafka record the lead came in (an envelope, or a bare lead published by hand) as
    # JSON text: PostgreSQL takes ``raw_lead`` out of it (see UPSERT_SUBMISSIONS).
    document: str
    origin: str
    sync_run_id: UUID | None
    restart_workflows: bool = False
    # Manual import option 1 (the lead is applied again even if already imported).
    reimport: bool = False
    # The W3C traceparent of the record the lead came in (leadsync.tracing): its contact's
    # change event carries it on.
    traceparent: str | None = None

    @property
    def contact_key(self) -> ContactKey:
        return (self.account_id, self.email)

    def ref(self) -> SubmissionRef:
        return SubmissionRef(
            lead_id=self.lead_id, form_id=self.form_id, form_name=self.form_name,
            form_version=self.form_version, owner_urn=self.owner_urn,
            campaign_urn=self.campaign_urn, creative_urn=self.creative_urn,
            lead_type=self.lead_type, test_lead=self.test_lead, submitted_at=self.submitted_at,
        )  # fmt: skip


# Why a lead was recorded as skipped (skipped_leads.reason).
IMPORT_DISABLED = "import_disabled"  # the form's Import is off: a manual import recovers it
ACCOUNT_DISABLED = "account_disabled"  # the account is disabled: its pushes are not imported


@dataclass
class SkippedRow:
    account_id: int
    lead_id: str
    form_id: int
    origin: str
    submitted_at: datetime
    reason: str = IMPORT_DISABLED


@dataclass
class BatchWrite:
    contacts: list[ContactRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)


@dataclass
class BatchOutcome:
    """Contact ids by (account, email)."""

    created: dict[ContactKey, UUID] = field(default_factory=dict)
    updated: dict[ContactKey, UUID] = field(default_factory=dict)
    contact_ids: dict[ContactKey, UUID] = field(default_factory=dict)
    skipped: int = 0
