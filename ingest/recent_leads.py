"""A form's most recent leads, for the field mapping page and any route that shows them: the
imported ones (:mod:`sinks.answer_examples`) and, while there are fewer of those than asked
for, the newest leads of the form version read from LinkedIn itself, through the account's
own connection, as the puller reads them (the form's owner, its lead types, the connection's
tokens, :meth:`linkedin.LinkedInClient.iter_lead_pages`). A new form starts with Import off
so that it is mapped first: its leads are never imported, and this is how they are seen.

Read only: a lead read from LinkedIn is neither stored, nor published, nor counted, and a
connection LinkedIn refuses is not marked (the puller and the hydrator do that). Only a
refreshed access token is saved, as on every call through the connection.

A person waits on this: LinkedIn is given :data:`TIMEOUT_S` in all, one retry at most.
When it cannot be asked (no connection reaches the form, the member must reconnect, 403,
LinkedIn away or slow), the imported leads come back alone with the reason
(:attr:`RecentLeads.unread`), never an exception. Leads already found when time runs out
are kept.

Which leads are the newest: the order of a finder's elements is not documented (the
sandbox's are oldest first), so the version's leads are read in time windows newest first
(:data:`WINDOWS`, then the rest of LinkedIn's retention), each walked to its end, until the
windows read hold enough.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx

from ingest.puller import lead_types_of
from leadsync.retry import RetryPolicy
from leadsync.settings import Settings
from linkedin import Forbidden, LinkedInClient, LinkedInError, Owner, ReconnectRequired
from schemas.linkedin import Lead
from sinks.answer_examples import DEFAULT_LIMIT, RecentLead, imported_contacts, recent_leads
from sinks.connections import PostgresTokenStore, TokenKeyMismatch
from sinks.database import Database
from sinks.forms import form_to_pull

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0
# One retry, soon: a page is waiting (the puller's client waits up to a minute).
RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.25, max_delay_s=1.0, max_retry_after_s=1.0)
WINDOWS = (timedelta(days=1), timedelta(days=30))

# Why LinkedIn was not read: no connection reaches the form; the member must reconnect;
# LinkedIn refused the member (403); LinkedIn did not answer (in time); another refusal.
Unread = Literal["no_connection", "reconnect", "forbidden", "unavailable", "refused"]


@dataclass(frozen=True)
class RecentLeads:
    """Newest first, at most the number asked for; each says whether it was imported."""

    leads: list[RecentLead] = field(default_factory=list)
    unread: Unread | None = None  # set when LinkedIn was to be asked and could not be

    @property
    def not_imported(self) -> int:
        """How many came from LinkedIn and were not imported."""
        return sum(1 for r in self.leads if r.from_linkedin and r.contact_email is None)


async def recent_form_leads(
    settings: Settings,
    db: Database,
    account_id: int,
    form_id: int,
    version_id: int | None,
    limit: int = DEFAULT_LIMIT,
) -> RecentLeads:
    """The form's ``limit`` newest leads: imported ones, then, if fewer, LinkedIn's newest of
    version ``version_id`` (``None``: LinkedIn is not asked)."""
    async with db.account(account_id) as conn:
        imported = await recent_leads(conn, form_id, limit)
        form = await form_to_pull(conn, form_id)
    if len(imported) >= limit or version_id is None:
        return RecentLeads(imported)
    if form is None or form.owner_urn is None or form.connection_id is None:
        return RecentLeads(imported, unread="no_connection")
    owner = Owner.from_urn(form.owner_urn)
    lead_types = (form.lead_type,) if form.lead_type else lead_types_of(owner)
    store = PostgresTokenStore(settings, db, account_id, form.connection_id)
    found: dict[str, Lead] = {}
    unread: Unread | None = None
    try:
        async with (
            asyncio.timeout(TIMEOUT_S),
            LinkedInClient.from_settings(
                settings, store, retry=RETRY, timeout=httpx.Timeout(TIMEOUT_S)
            ) as linkedin,
        ):
            await _read_newest(
                linkedin, owner, lead_types, form_id, version_id, limit, settings, found
            )
    except TimeoutError:
        unread = None if found else "unavailable"
    except (ReconnectRequired, TokenKeyMismatch):
        unread = "reconnect"
    except Forbidden:
        unread = "forbidden"
    except LinkedInError as exc:
        unread = "unavailable" if exc.retriable else "refused"
        log.warning("form %s of account %s: LinkedIn's recent leads: %s", form_id, account_id, exc)
    if unread is not None:
        return RecentLeads(imported, unread=unread)
    async with db.account(account_id) as conn:
        ledger = await imported_contacts(conn, found.keys() - {r.lead.id for r in imported})
    newest = _newest(imported, found.values(), version_id, ledger, limit)
    return RecentLeads(newest)


def versioned_form_urn(form_id: int, version_id: int) -> str:
    return f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version_id})"


def newest_first_windows(
    end: datetime, oldest: datetime, widths: Sequence[timedelta] = WINDOWS
) -> Iterator[tuple[datetime, datetime]]:
    """``[oldest, end]`` cut from its end: the last ``widths[0]``, the ``widths[1]`` before
    it..., then what remains. Neighbours share their bound (inclusiveness is undocumented):
    the caller drops repeats by lead id."""
    high = end
    for width in (*widths, end - oldest):
        low = max(oldest, end - width)
        if low < high:
            yield low, high
            high = low
        if low <= oldest:
            return


async def _read_newest(
    linkedin: LinkedInClient,
    owner: Owner,
    lead_types: Sequence[str],
    form_id: int,
    version_id: int,
    limit: int,
    settings: Settings,
    found: dict[str, Lead],
) -> None:
    """Fill ``found`` (by lead id) window by window until it holds ``limit`` leads."""
    urn = versioned_form_urn(form_id, version_id)
    now = datetime.now(UTC)
    oldest = now - timedelta(days=settings.linkedin_retention_days)
    for low, high in newest_first_windows(now, oldest):
        for lead_type in lead_types:
            pages = linkedin.iter_lead_pages(
                owner,
                lead_type,
                _epoch_ms(low),
                _epoch_ms(high),
                form_version_urn=urn,
                page_size=settings.pull_page_size,
            )
            async for page in pages:
                for lead in page.elements:
                    if _version_of(lead) == (form_id, version_id):
                        found.setdefault(lead.id, lead)
        if len(found) >= limit:
            return


def _newest(
    imported: Sequence[RecentLead],
    read: Iterable[Lead],
    version_id: int,
    ledger: dict[str, str],
    limit: int,
) -> list[RecentLead]:
    """The ``limit`` newest of the imported leads and those read (of ``version_id``)."""
    known = {r.lead.id for r in imported}
    from_linkedin = [
        RecentLead(
            lead,
            version_id,
            datetime.fromtimestamp(lead.submitted_at / 1000, UTC),
            ledger.get(lead.id),
            from_linkedin=True,
        )
        for lead in read
        if lead.id not in known
    ]
    merged = sorted([*imported, *from_linkedin], key=lambda r: r.submitted_at, reverse=True)
    return merged[:limit]


def _version_of(lead: Lead) -> tuple[int, int] | None:
    try:
        return lead.form_version()
    except ValueError:
        return None


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
