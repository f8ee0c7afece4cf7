"""A form's most recent leads as they arrived, for the console's field mapping page: the
examples of answers beside each question, and the preview of what an edited mapping would
write, before it is saved.

The leads come from the form's submissions (``form_submissions.raw_lead``, the lead's text
as received, whatever was mapped): one per contact and form, the latest, so "the last
leads" are the last people who filled the form. A lead that failed to import left no
submission and is not among them (its reason is in the error log); nor is a lead of a form
with Import off. :mod:`ingest.recent_leads` adds those, read from LinkedIn, and asks the
ledger here (:func:`imported_contacts`) which of them were imported after all.

Read only. The caller holds exactly one account (``Database.account``): row-level security
shows that account's rows and nothing else.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from schemas.linkedin import Lead

# A page shows a few: enough to recognise what a question collects, not a data export.
DEFAULT_LIMIT = 5


@dataclass(frozen=True)
class RecentLead:
    """One lead of the form: as LinkedIn sent it, and where it went."""

    lead: Lead
    version_id: int  # the form version the member filled
    submitted_at: datetime
    # The identity it was imported under (with the mapping of then); None: not imported.
    contact_email: str | None
    from_linkedin: bool = False  # read from LinkedIn just now, not from a submission


async def recent_leads(
    conn: AsyncConnection[Any], form_id: int, limit: int = DEFAULT_LIMIT
) -> list[RecentLead]:
    """The form's last ``limit`` submissions, newest first (an unreadable archive is left
    out rather than failing the page: it cannot be mapped again either)."""
    cur = await conn.execute(
        "SELECT s.raw_lead::text, s.form_version, s.submitted_at, c.email"
        " FROM form_submissions s"
        " JOIN contacts c ON c.account_id = s.account_id AND c.id = s.contact_id"
        " WHERE s.account_id = leadsync_account() AND s.form_id = %s"
        " ORDER BY s.submitted_at DESC, s.id DESC LIMIT %s",
        (form_id, limit),
    )
    leads = []
    for raw, version_id, submitted_at, email in await cur.fetchall():
        try:
            lead = Lead.model_validate_json(raw)
        except ValueError:  # pydantic's ValidationError is a ValueError
            continue
        leads.append(RecentLead(lead, version_id, submitted_at, email))
    return leads


async def imported_contacts(
    conn: AsyncConnection[Any], lead_ids: Collection[str]
) -> dict[str, str]:
    """Of ``lead_ids``, those the account imported (and LinkedIn did not withdraw since),
    each with the email of the contact it went to."""
    if not lead_ids:
        return {}
    cur = await conn.execute(
        "SELECT i.lead_id, c.email FROM imported_leads i"
        " JOIN contacts c ON c.account_id = i.account_id AND c.id = i.contact_id"
        " WHERE i.account_id = leadsync_account() AND i.lead_id = ANY(%s)"
        " AND i.erased_at IS NULL",
        (list(lead_ids),),
    )
    return {lead_id: email for lead_id, email in await cur.fetchall()}
