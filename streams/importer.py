"""One batch of ``leadsync.leads.raw`` records -> one database transaction.

``decode`` and ``build_batch`` are pure; ``import_records`` runs them around the database
reads and writes. Failures that concern one lead (undecodable record, unmappable lead) become
error-log rows in the same transaction; a database failure propagates so that the agent can
retry the whole batch (see :mod:`streams.agents`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from pydantic import ValidationError

from schemas.envelopes import RawLead, lead_json
from schemas.linkedin import Lead
from sinks import forms as form_store
from sinks.forms import FormContext
from sinks.imports import (
    BatchOutcome,
    BatchWrite,
    ContactRow,
    ErrorRow,
    SubmissionRow,
    already_imported,
    write_batch,
)
from streams.mapping import MappingError, auto_mappings, map_lead

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """A Kafka record as the agent hands it over, with where it came from."""

    value: bytes
    topic: str
    partition: int
    offset: int

    def ref(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}

    def raw_ref(self) -> dict[str, Any]:
        """Where to find the record again, plus its first bytes for the error log."""
        return {**self.ref(), "bytes": self.value[:4096].decode("utf-8", "replace")}


@dataclass
class Decoded:
    leads: list[RawLead] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)


def decode(records: list[Record]) -> Decoded:
    result = Decoded()
    for record in records:
        try:
            raw = RawLead.from_record(record.value)
            raw.lead.form_version()  # a lead without a usable form URN cannot be placed
        except (ValidationError, ValueError) as exc:
            result.errors.append(
                ErrorRow(
                    form_id=None,
                    lead_id=None,
                    stage="decode",
                    code="undecodable_record",
                    message=_short(exc),
                    field=None,
                    origin=None,
                    sync_run_id=None,
                    raw_ref=record.raw_ref(),
                )
            )
            continue
        result.leads.append(raw)
    return result


def build_batch(leads: list[RawLead], contexts: dict[tuple[int, int], FormContext]) -> BatchWrite:
    """Map every lead and merge those of one contact (newest submission wins)."""
    batch = BatchWrite()
    contacts: dict[str, ContactRow] = {}
    for raw in sorted(leads, key=lambda r: r.lead.submitted_at):
        lead = raw.lead
        key = lead.form_version()
        context = contexts.get(key)
        try:
            if context is None or not context.known_version:
                raise MappingError(
                    "form_version_unknown",
                    f"the questions of form {key[0]} version {key[1]} are not known yet;"
                    " discover the form, then import the lead again",
                )
            mapped = map_lead(lead, context.questions, context.mappings)
        except MappingError as exc:
            batch.errors.append(
                ErrorRow(
                    form_id=key[0],
                    lead_id=lead.id,
                    stage="map",
                    code=exc.code,
                    message=exc.message,
                    field=exc.field,
                    origin=raw.origin.value,
                    sync_run_id=raw.sync_run_id,
                    raw_ref={"lead_id": lead.id},
                )
            )
            continue
        submitted = datetime.fromtimestamp(lead.submitted_at / 1000, tz=UTC)
        # Leads are in submission order, so a later one overrides an earlier one's values.
        contact = contacts.setdefault(mapped.email, ContactRow(mapped.email, submitted, {}))
        contact.fields.update(mapped.fields)
        contact.submitted_at = max(contact.submitted_at, submitted)
        batch.submissions.append(_submission(raw, mapped.email, context, submitted, mapped))
    batch.contacts = list(contacts.values())
    return batch


def _submission(
    raw: RawLead, email: str, context: FormContext, submitted: datetime, mapped: Any
) -> SubmissionRow:
    lead = raw.lead
    form = lead.form
    return SubmissionRow(
        email=email,
        form_id=context.form_id,
        lead_id=lead.id,
        form_name=(form.name if form and form.name else context.name),
        form_version=context.version_id,
        owner_urn=lead.owner_urn(),
        owner_name=_display_name(lead.owner_info),
        campaign_urn=lead.campaign_urn(),
        campaign_name=_display_name(lead.lead_metadata_info),
        creative_urn=lead.creative_urn(),
        creative_name=_display_name(lead.associated_entity_info),
        lead_type=lead.lead_type,
        test_lead=lead.test_lead,
        submitted_at=submitted,
        answers=[a.as_json() for a in mapped.answers],
        consents=[c.model_dump(by_alias=True) for c in lead.form_response.consent_responses],
        hidden_fields=[h.model_dump(by_alias=True) for h in (form.hidden_fields if form else [])],
        raw_lead=lead_json(lead),
        origin=raw.origin.value,
        sync_run_id=raw.sync_run_id,
    )


def _display_name(info: Any) -> str | None:
    """The first "name" inside LinkedIn's optional ``*Info`` objects, whatever their nesting."""
    if isinstance(info, dict):
        name = info.get("name")
        if isinstance(name, str) and name:
            return name
        if isinstance(name, dict) and isinstance(name.get("localized"), dict):
            return next(iter(name["localized"].values()), None)
        children = list(info.values())
    elif isinstance(info, list):
        children = info
    else:
        return None
    for child in children:
        found = _display_name(child)
        if found:
            return found
    return None


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()
    return " ".join(text[:3])[:500]


async def import_records(conn: AsyncConnection[Any], records: list[Record]) -> BatchOutcome:
    """Import a batch in one transaction. Raises only for database trouble."""
    decoded = decode(records)
    async with conn.transaction():
        ids = [r.lead.id for r in decoded.leads]
        seen = await already_imported(conn, ids) if ids else set()
        fresh: dict[str, RawLead] = {}
        for raw in decoded.leads:
            # A lead id already imported is skipped unless the request says to apply it again.
            if raw.lead.id in seen and not raw.options.reimport_existing:
                continue
            previous = fresh.get(raw.lead.id)
            if previous is None or raw.lead.submitted_at >= previous.lead.submitted_at:
                fresh[raw.lead.id] = raw
        leads: list[Lead] = [r.lead for r in fresh.values()]
        await form_store.register_from_leads(conn, leads, auto_mappings)
        contexts = await form_store.load_contexts(conn, (lead.form_version() for lead in leads))
        batch = build_batch(list(fresh.values()), contexts)
        batch.errors = decoded.errors + batch.errors
        outcome = await write_batch(conn, batch)
    log.info(
        "imported batch: %d records, %d new leads, %d created, %d updated, %d errors",
        len(records),
        len(fresh),
        len(outcome.created),
        len(outcome.updated),
        len(batch.errors),
    )
    return outcome
