"""One batch of ``leadsync.leads.raw`` records -> one database transaction.

``decode`` and ``build_batch`` are pure; ``import_records`` runs them around the database
reads and writes. A failure that concerns one lead (undecodable record, unmappable lead)
becomes an :class:`ErrorEvent` for the caller to publish; a database failure propagates so
that the agent can retry the whole batch (see :mod:`streams.agents`).

A batch holds the leads of many accounts (each record names its own): it is still one
transaction, with all of them in hand, and every lookup and row is keyed by the account, so
that a lead spread over hundreds of accounts costs what it costs in one. A lead is imported
once per account: two accounts connected to one ad account each get their own contact.
A record naming no account is refused (``no_account``), one naming an account that no
longer exists too (``unknown_account``); a disabled account's leads are recorded as skipped.

Each record is imported in its span of its lead's trace (``Record.trace``): the batch's log
line names every trace in it, a lead's contact change carries its span to the outbox, and
its error event names it in ``raw_ref``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from pydantic import ValidationError

from leadsync import metrics, stages
from mapping.apply import MappedLead, MappingError, auto_mappings, map_lead, mapping_source
from schemas.envelopes import EraseRequest, ImportEnvelope, RawLead, parse_raw_record
from schemas.events import ErrorEvent
from schemas.linkedin import ImportedLead, Lead
from schemas.mappings import ContactField
from sinks import forms as form_store
from sinks.batch_rows import (
    ACCOUNT_DISABLED,
    BatchOutcome,
    BatchWrite,
    ContactKey,
    ContactRow,
    LeadKey,
    LeadValues,
    SkippedRow,
    SubmissionRow,
)
from sinks.context_cache import ContextCache
from sinks.database import hold_accounts
from sinks.erase import erase_leads
from sinks.form_contexts import (
    FormContext,
    VersionKey,
)
from sinks.reconciliation import pull_sightings, record_sightings
from sinks.upserts import account_statuses, ledger_state, write_batch
from streams.records import Record

log = logging.getLogger(__name__)

# Failure codes that say nothing about a form's configuration but about the data or the
# code: a large share of them raises the pipeline alarm (see streams.failure_window).
UNEXPECTED_CODES = frozenset({"undecodable_record", "internal_error"})

NO_ACCOUNT = "no_account"
UNKNOWN_ACCOUNT = "unknown_account"
NO_ACCOUNT_MESSAGE = (
    "a raw lead must name its account: publish it with `leadsync leads publish --account NAME`"
)
NO_ACCOUNT_ERASE_MESSAGE = "an erase request must name the account whose copy it erases"


@dataclass
class Decoded:
    """The batch's records: leads and erase requests, each naming its account, and errors."""

    leads: list[tuple[Record, RawLead]] = field(default_factory=list)
    erasures: list[tuple[Record, EraseRequest]] = field(default_factory=list)
    errors: list[ErrorEvent] = field(default_factory=list)

    def accounts(self) -> set[int]:
        named = {raw.account_id for _, raw in self.leads}
        named.update(erase.account_id for _, erase in self.erasures)
        return {account_id for account_id in named if account_id is not None}


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
                if parsed.account_id is None:
                    result.errors.append(_no_account_erase(record, parsed))
                else:
                    result.erasures.append((record, parsed))
                continue
            form_id, _ = parsed.lead.form_version()  # a lead without a form cannot be placed
        except (ValidationError, ValueError) as exc:
            message = " ".join(str(exc).splitlines()[:3])[:500]
            result.errors.append(
                record.error("decode", "undecodable_record", message, with_bytes=True)
            )
            continue
        if parsed.account_id is None:
            # Whose contact would it be? Only the operator can tell: refused, with the way.
            result.errors.append(
                record.error("import", NO_ACCOUNT, NO_ACCOUNT_MESSAGE, parsed, form_id=form_id)
            )
            continue
        result.leads.append((record, parsed))
    return result


def _no_account_erase(record: Record, erase: EraseRequest) -> ErrorEvent:
    return record.error(
        "import", NO_ACCOUNT, NO_ACCOUNT_ERASE_MESSAGE, form_id=erase.form_id,
        lead_id=erase.erase_lead_id, origin=erase.origin.value,
    )  # fmt: skip


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
    leads: list[tuple[Record, RawLead]], known: Iterable[VersionKey]
) -> list[tuple[int, Lead]]:
    """The leads for registering their forms, with their accounts: for each version an
    account does not hold (``known``: with its questions), its first lead read again in full,
    content included. The leads must name their accounts."""
    known_versions = set(known)
    result: list[tuple[int, Lead]] = []
    for record, raw in leads:
        account_id = _account(raw)
        key = (account_id, *raw.lead.form_version())
        if key not in known_versions and isinstance(raw.lead, ImportedLead):
            known_versions.add(key)
            try:
                parsed = parse_raw_record(record.value)
                if isinstance(parsed, RawLead):
                    result.append((account_id, parsed.lead))
                    continue
            except (ValidationError, ValueError):
                # Content LinkedIn sent broken: the version is registered without questions
                # and its leads fail with "form_version_unknown", which says what to do.
                log.warning("form content of record %s unreadable", record.ref())
        result.append((account_id, raw.lead))
    return result


def build_batch(
    leads: list[tuple[Record, RawLead]],
    contexts: Mapping[VersionKey, FormContext],
    fields: Mapping[int, Mapping[str, ContactField]],
) -> tuple[BatchWrite, list[ErrorEvent]]:
    """Map every lead and merge those of one contact, an account's email (newest submission
    wins). ``contexts`` by (account, form, version), ``fields`` by account then key."""
    batch = BatchWrite()
    errors: list[ErrorEvent] = []
    contacts: dict[ContactKey, ContactRow] = {}
    for record, raw in sorted(leads, key=lambda pair: pair[1].lead.submitted_at):
        lead = raw.lead
        account_id = _account(raw)
        form_id, version_id = lead.form_version()
        submitted = datetime.fromtimestamp(lead.submitted_at / 1000, tz=UTC)
        context = contexts.get((account_id, form_id, version_id))
        if context is not None and not context.import_enabled:
            # Import is off for the form: recorded, not an error, recoverable by a manual import.
            batch.skipped.append(
                SkippedRow(account_id, lead.id, form_id, raw.origin.value, submitted)
            )
            continue
        try:
            if context is None or not context.known_version:
                raise MappingError(
                    "form_version_unknown",
                    f"the questions of form {form_id} version {version_id} are not known;"
                    " discover the form, then import the lead again",
                )
            mapped = map_lead(lead, context.version, context.mappings, fields.get(account_id, {}))
        except MappingError as exc:
            errors.append(record.error("map", exc.code, exc.message, raw, exc.field, form_id))
            continue
        # Leads are in submission order, so a later one overrides an earlier one's values.
        contact = contacts.setdefault(
            (account_id, mapped.email), ContactRow(account_id, mapped.email, submitted, {})
        )
        contact.fields.update(mapped.fields)
        contact.leads.append(_lead_values(raw, context, submitted, mapped))
        contact.submitted_at = max(contact.submitted_at, submitted)
        batch.submissions.append(_submission(record, raw, context, submitted, mapped))
    batch.contacts = list(contacts.values())
    return batch, errors


def _account(raw: RawLead) -> int:
    """The lead's account; :func:`decode` let through only leads that name one."""
    if raw.account_id is None:
        raise ValueError(f"lead {raw.lead.id} names no account")
    return raw.account_id


def _lead_values(
    raw: RawLead,
    context: FormContext,
    submitted: datetime,
    mapped: MappedLead,
) -> LeadValues:
    """What the lead writes on its contact, for field provenance; with option 1, the form's
    mappings now (what a re-applied lead may still write)."""
    reapply = raw.options.reimport_existing
    return LeadValues(
        form_id=context.form_id,
        lead_id=raw.lead.id,
        submitted_at=submitted,
        fields=mapped.fields,
        sources=mapped.sources,
        mapping_version=context.mapping_version,
        reapply=reapply,
        mapped_now=frozenset((m.field_key, mapping_source(m)) for m in context.mappings)
        if reapply
        else frozenset(),
    )


def _submission(
    record: Record, raw: RawLead, context: FormContext, submitted: datetime, mapped: MappedLead
) -> SubmissionRow:
    lead = raw.lead
    return SubmissionRow(
        account_id=_account(raw),
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
        reimport=raw.options.reimport_existing,
        # The contact change this lead causes ends its trace (sinks.outbox).
        traceparent=record.trace.traceparent if record.trace else None,
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


async def import_records(
    conn: AsyncConnection[Any], records: list[Record], cache: ContextCache | None = None
) -> ImportResult:
    """Import a batch in one transaction, with every account it names in hand. Raises only
    for database trouble. ``cache``: the forms' contexts read by earlier batches (a worker
    keeps one), each reused only while the database still holds it as it was read."""
    cache = cache or ContextCache()
    with stages.cpu("decode"):
        decoded = decode(records)
    errors = list(decoded.errors)
    async with conn.transaction(), stages.waiting():
        # The accounts table is global: read once per batch, before any account is in hand.
        statuses = await account_statuses(conn, decoded.accounts())
        await hold_accounts(conn, sorted(statuses))
        erasures = []
        for record, erase in decoded.erasures:
            if erase.account_id in statuses:  # a disabled account's data is still erased
                erasures.append(erase)
            else:
                lead_id, origin = erase.erase_lead_id, erase.origin.value
                errors.append(
                    _unknown_account(record, erase.account_id, erase.form_id, lead_id, origin)
                )
        named = []
        for record, raw in decoded.leads:
            if raw.account_id in statuses:
                named.append((record, raw))
            else:
                form_id, _ = raw.lead.form_version()
                lead_id, origin = raw.lead.id, raw.origin.value
                errors.append(_unknown_account(record, raw.account_id, form_id, lead_id, origin))
        # Reconciliation: what the pulls found on LinkedIn (pushes are counted at hydration).
        await record_sightings(conn, pull_sightings(raw for _, raw in named))
        ledger = await ledger_state(conn, [_lead_key(raw) for _, raw in named])
        erased_keys: set[LeadKey] = {(_account_of(e), e.erase_lead_id) for e in erasures}
        erased_keys.update(key for key, erased in ledger.items() if erased)
        fresh: dict[LeadKey, tuple[Record, RawLead]] = {}
        for record, raw in named:
            key = _lead_key(raw)
            # A lead already imported is skipped unless the request says to apply it again;
            # one that LinkedIn deleted never comes in (the ledger keeps a tombstone).
            if key in erased_keys or (key in ledger and not raw.options.reimport_existing):
                continue
            previous = fresh.get(key)
            if previous is None or raw.lead.submitted_at >= previous[1].lead.submitted_at:
                fresh[key] = (record, raw)
        leads = []
        disabled = []
        for record, raw in fresh.values():
            if statuses[_account(raw)] == "disabled":
                disabled.append(_disabled(raw))
            else:
                leads.append((record, raw))
        keys = {(_account(raw), *raw.lead.form_version()) for _, raw in leads}
        contexts = await cache.contexts(conn, keys)
        known = [key for key, context in contexts.items() if context.known_version]
        await form_store.register_forms(
            conn, with_form_content(leads, known), auto_mappings, contexts
        )
        if len(known) < len(keys):  # versions registered just now
            contexts = await cache.contexts(conn, keys)
        fields = await cache.fields(
            conn,
            {(key[0], m.field_key) for key, context in contexts.items() for m in context.mappings},
        )
        with stages.cpu("map"):
            batch, map_errors = build_batch(leads, contexts, fields)
        batch.skipped += disabled
        outcome = await write_batch(conn, batch)
        erased = await erase_leads(conn, erasures)
    result = ImportResult(outcome, errors + map_errors, erased)
    _count(named, fresh.values(), batch, result)
    log.info(
        "imported batch: %d records, %d new leads, %d created, %d updated, %d skipped,"
        " %d erased, %d errors, %d accounts",
        len(records), len(fresh), len(outcome.created), len(outcome.updated), outcome.skipped,
        erased, len(result.errors), len(statuses),
        # One line per batch, not per lead: each lead's trace id is on it all the same.
        extra={"trace_ids": sorted({r.trace.trace_id for r in records if r.trace})},
    )  # fmt: skip
    return result


def _count(
    named: list[tuple[Record, RawLead]],
    fresh: Iterable[tuple[Record, RawLead]],
    batch: BatchWrite,
    result: ImportResult,
) -> None:
    """The batch in :data:`leadsync.metrics.IMPORTED_TOTAL`: contacts created and updated as
    the forms' counters credit them (to the origin of the contact's newest lead of the
    batch), leads skipped, dropped as duplicates, and failed."""
    newest: dict[ContactKey, SubmissionRow] = {}
    for sub in batch.submissions:
        known = newest.get(sub.contact_key)
        if known is None or sub.submitted_at >= known.submitted_at:
            newest[sub.contact_key] = sub
    # (outcome, origin as a label value) -> leads or contacts
    outcomes: Counter[tuple[str, str]] = Counter()
    for outcome, keys in (
        ("imported", result.outcome.created),
        ("updated", result.outcome.updated),
    ):
        outcomes.update(
            (outcome, metrics.origin(newest[key].origin)) for key in keys if key in newest
        )
    outcomes.update(("skipped", metrics.origin(row.origin)) for row in batch.skipped)
    duplicates = Counter(metrics.origin(raw.origin.value) for _, raw in named)
    duplicates.subtract(metrics.origin(raw.origin.value) for _, raw in fresh)
    outcomes.update({("duplicate", origin): n for origin, n in duplicates.items() if n > 0})
    for error in result.errors:
        origin = metrics.origin(error.origin)
        outcomes[("failed", origin)] += 1
        metrics.IMPORT_FAILURES_TOTAL.labels(metrics.bounded(error.code), origin).inc()
    for (outcome, origin), n in outcomes.items():
        metrics.IMPORTED_TOTAL.labels(outcome, origin).inc(n)


def _lead_key(raw: RawLead) -> LeadKey:
    return (_account(raw), raw.lead.id)


def _account_of(erase: EraseRequest) -> int:
    if erase.account_id is None:
        raise ValueError(f"erase request of lead {erase.erase_lead_id} names no account")
    return erase.account_id


def _disabled(raw: RawLead) -> SkippedRow:
    """A disabled account's lead: recorded as skipped, neither imported nor an error."""
    form_id, _ = raw.lead.form_version()
    submitted = datetime.fromtimestamp(raw.lead.submitted_at / 1000, tz=UTC)
    return SkippedRow(
        _account(raw), raw.lead.id, form_id, raw.origin.value, submitted, ACCOUNT_DISABLED
    )


def _unknown_account(
    record: Record, account_id: int | None, form_id: int, lead_id: str, origin: str
) -> ErrorEvent:
    """A record naming an account that does not exist (deleted since it was published): the
    operator's error, as no account holds it."""
    return record.error(
        "import", UNKNOWN_ACCOUNT,
        f"account {account_id} does not exist (deleted?): the record is not imported",
        form_id=form_id, lead_id=lead_id, origin=origin,
    )  # fmt: skip
