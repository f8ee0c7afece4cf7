"""One batch of ``leadsync.leads.raw`` records -> one database transaction.

``decode`` and ``build_batch`` are pure; ``import_records`` runs them around the database
reads and writes. A failure that concerns one lead (undecodable record, unmappable lead)
becomes an :class:`ErrorEvent` for the caller to publish; a database failure propagates so
that the agent can retry the whole batch (see :mod:`streams.agents`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from pydantic import ValidationError

from mapping.apply import MappedLead, MappingError, auto_mappings, map_lead
from schemas.envelopes import EraseRequest, ImportEnvelope, RawLead, parse_raw_record
from schemas.events import ErrorEvent
from schemas.linkedin import ImportedLead, Lead
from schemas.mappings import ContactField
from sinks import forms as form_store
from sinks.erase import erase_leads
from sinks.forms import FormContext
from sinks.upserts import (
    BatchOutcome,
    BatchWrite,
    ContactRow,
    SkippedRow,
    SubmissionRow,
    ledger_state,
    write_batch,
)

log = logging.getLogger(__name__)

# Error ids are derived from the record and the failure, so a replay yields the same id.
_ERROR_NAMESPACE = uuid.UUID("6c656164-7379-6e63-2d65-72726f727300")

# Failure codes that say nothing about a form's configuration but about the data or the
# code: a large share of them raises the pipeline alarm (see streams.failure_window).
UNEXPECTED_CODES = frozenset({"undecodable_record", "internal_error"})


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

    def error(
        self, stage: str, code: str, message: str, raw: RawLead | None = None,
        field: str | None = None, form_id: int | None = None, with_bytes: bool = False,
        lead_id: str | None = None, origin: str | None = None,
    ) -> ErrorEvent:  # fmt: skip
        """The error event of this record; ``lead_id`` and ``origin`` are taken from ``raw``
        when it is given (a record that is not yet a lead, e.g. a notification, names them)."""
        if raw is not None:
            lead_id, origin = raw.lead.id, raw.origin.value
        name = f"{self.topic}/{self.partition}/{self.offset}/{stage}/{code}/{lead_id}"
        return ErrorEvent(
            error_id=uuid.uuid5(_ERROR_NAMESPACE, name),
            occurred_at=datetime.now(UTC),
            stage=stage, code=code, message=message, form_id=form_id, lead_id=lead_id,
            field=field, origin=origin, sync_run_id=raw.sync_run_id if raw else None,
            raw_ref=self.raw_ref() if with_bytes else self.ref(),
        )  # fmt: skip


@dataclass
class Decoded:
    leads: list[tuple[Record, RawLead]] = field(default_factory=list)
    erasures: list[EraseRequest] = field(default_factory=list)
    errors: list[ErrorEvent] = field(default_factory=list)


@dataclass
class ImportResult:
    outcome: BatchOutcome
    errors: list[ErrorEvent]
    erased: int = 0


def decode(records: list[Record]) -> Decoded:
    result = Decoded()
    for record in records:
        try:
            parsed = _parse(record.value)
            if isinstance(parsed, EraseRequest):
                result.erasures.append(parsed)
                continue
            parsed.lead.form_version()  # a lead without a usable form URN cannot be placed
        except (ValidationError, ValueError) as exc:
            message = " ".join(str(exc).splitlines()[:3])[:500]
            result.errors.append(
                record.error("decode", "undecodable_record", message, with_bytes=True)
            )
            continue
        result.leads.append((record, parsed))
    return result


def _parse(value: bytes) -> RawLead | EraseRequest:
    """:func:`parse_raw_record`, with the common case (a lead envelope) parsed in one pass,
    its form's content left unread (see :func:`with_form_content`).

    Anything else, erase requests, bare leads and broken records, goes through
    ``parse_raw_record`` as before, so its result and its error messages are unchanged.
    """
    try:
        return ImportEnvelope.model_validate_json(value)
    except ValidationError:
        return parse_raw_record(value)


def with_form_content(
    leads: list[tuple[Record, RawLead]], known: Iterable[tuple[int, int]]
) -> list[Lead]:
    """The leads for registering their forms: for each version not ``known`` (with its
    questions), its first lead read again in full, content included."""
    known_versions = set(known)
    result: list[Lead] = []
    for record, raw in leads:
        key = raw.lead.form_version()
        if key not in known_versions and isinstance(raw.lead, ImportedLead):
            known_versions.add(key)
            try:
                parsed = parse_raw_record(record.value)
                if isinstance(parsed, RawLead):
                    result.append(parsed.lead)
                    continue
            except (ValidationError, ValueError):
                # Content LinkedIn sent broken: the version is registered without questions
                # and its leads fail with "form_version_unknown", which says what to do.
                log.warning("form content of record %s unreadable", record.ref())
        result.append(raw.lead)
    return result


def build_batch(
    leads: list[tuple[Record, RawLead]],
    contexts: dict[tuple[int, int], FormContext],
    fields: dict[str, ContactField],
) -> tuple[BatchWrite, list[ErrorEvent]]:
    """Map every lead and merge those of one contact (newest submission wins)."""
    batch = BatchWrite()
    errors: list[ErrorEvent] = []
    contacts: dict[str, ContactRow] = {}
    for record, raw in sorted(leads, key=lambda pair: pair[1].lead.submitted_at):
        lead = raw.lead
        form_id, version_id = lead.form_version()
        submitted = datetime.fromtimestamp(lead.submitted_at / 1000, tz=UTC)
        context = contexts.get((form_id, version_id))
        if context is not None and not context.import_enabled:
            # Import is off for the form: recorded, not an error, recoverable by a manual import.
            batch.skipped.append(SkippedRow(lead.id, form_id, raw.origin.value, submitted))
            continue
        try:
            if context is None or not context.known_version:
                raise MappingError(
                    "form_version_unknown",
                    f"the questions of form {form_id} version {version_id} are not known;"
                    " discover the form, then import the lead again",
                )
            mapped = map_lead(lead, context.version, context.mappings, fields)
        except MappingError as exc:
            errors.append(record.error("map", exc.code, exc.message, raw, exc.field, form_id))
            continue
        # Leads are in submission order, so a later one overrides an earlier one's values.
        contact = contacts.setdefault(mapped.email, ContactRow(mapped.email, submitted, {}))
        contact.fields.update(mapped.fields)
        contact.submitted_at = max(contact.submitted_at, submitted)
        batch.submissions.append(_submission(record, raw, context, submitted, mapped))
    batch.contacts = list(contacts.values())
    return batch, errors


def _submission(
    record: Record, raw: RawLead, context: FormContext, submitted: datetime, mapped: MappedLead
) -> SubmissionRow:
    lead = raw.lead
    return SubmissionRow(
        email=mapped.email,
        form_id=context.form_id,
        lead_id=lead.id,
        form_name=lead.form.name if lead.form and lead.form.name else context.name,
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
        consents=mapped.consents,
        hidden_fields=mapped.hidden_fields,
        document=record.value.decode(),
        origin=raw.origin.value,
        sync_run_id=raw.sync_run_id,
        restart_workflows=raw.options.restart_workflows,
    )


def _display_name(info: Any) -> str | None:
    """The first "name" inside LinkedIn's optional ``*Info`` objects, whatever their nesting."""
    if isinstance(info, dict):
        for key, value in info.items():
            if key.lower().endswith("name") and isinstance(value, str) and value:
                return value
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


async def import_records(conn: AsyncConnection[Any], records: list[Record]) -> ImportResult:
    """Import a batch in one transaction. Raises only for database trouble."""
    decoded = decode(records)
    async with conn.transaction():
        ids = [raw.lead.id for _, raw in decoded.leads]
        ledger = await ledger_state(conn, ids) if ids else {}
        erased_ids = {e.erase_lead_id for e in decoded.erasures}
        erased_ids.update(lead_id for lead_id, erased in ledger.items() if erased)
        fresh: dict[str, tuple[Record, RawLead]] = {}
        for record, raw in decoded.leads:
            lead_id = raw.lead.id
            # A lead id already imported is skipped unless the request says to apply it
            # again; one that LinkedIn deleted never comes in (the ledger keeps a tombstone).
            if lead_id in erased_ids or (lead_id in ledger and not raw.options.reimport_existing):
                continue
            previous = fresh.get(lead_id)
            if previous is None or raw.lead.submitted_at >= previous[1].lead.submitted_at:
                fresh[lead_id] = (record, raw)
        leads = list(fresh.values())
        keys = {raw.lead.form_version() for _, raw in leads}
        contexts = await form_store.load_contexts(conn, keys)
        known = [key for key, context in contexts.items() if context.known_version]
        await form_store.register_from_leads(
            conn, with_form_content(leads, known), auto_mappings, contexts
        )
        if len(known) < len(keys):  # versions registered just now
            contexts = await form_store.load_contexts(conn, keys)
        fields = await form_store.load_contact_fields(conn) if leads else {}
        batch, errors = build_batch(leads, contexts, fields)
        outcome = await write_batch(conn, batch)
        erased = await erase_leads(conn, decoded.erasures)
    result = ImportResult(outcome, decoded.errors + errors, erased)
    log.info(
        "imported batch: %d records, %d new leads, %d created, %d updated, %d skipped,"
        " %d erased, %d errors",
        len(records), len(fresh), len(outcome.created), len(outcome.updated), outcome.skipped,
        erased, len(result.errors),
    )  # fmt: skip
    return result
