"""Field provenance: which source set each contact field last (issue #13).

``contacts.field_sources`` holds, per field key (standard column or custom field), what
leadsync wrote there last: the form, the lead, the form's mapping version, the mapping's
source, the time and the value written (:meth:`sinks.batch_rows.LeadValues.provenance`). A
field whose value is no longer the one recorded was written by someone else since: its
source is "other", as is a value leadsync never wrote.

A manual import with "sync already-imported contacts too" (option 1) re-applies a form's
latest submission with the form's current mapping (:func:`reapply`): the fields it maps now
are overwritten, even by a submission older than the contact's data; a field the form wrote
through a mapping that no longer points there is cleared, unless another source (another
form, or "other") wrote it since.

Pure functions: :mod:`sinks.upserts` hands them the contact as locked in the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sinks.batch_rows import STANDARD_COLUMNS, LeadValues

LINKEDIN = "linkedin"
OTHER = "other"
_STANDARD = frozenset(STANDARD_COLUMNS)


def as_stored(key: str, value: Any) -> Any:
    """The value as the contact keeps it: standard fields are text columns."""
    if key not in _STANDARD or value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def current_value(contact: Mapping[str, Any], key: str) -> Any:
    """A field's value on a contact row (a standard column, else a custom field)."""
    if key in _STANDARD:
        return contact.get(key)
    return (contact.get("custom_fields") or {}).get(key)


def still_written(value: Any, entry: Mapping[str, Any]) -> bool:
    """Whether the field still holds what leadsync recorded writing there."""
    return value is not None and value == entry.get("value")


def superseded(lead: LeadValues, latest_of_form: Mapping[int, datetime]) -> bool:
    """Whether the lead is re-applied but its form has a newer submission of the contact
    (every submission of a form taken again, options 1 + 3): the newer one re-syncs it."""
    latest = latest_of_form.get(lead.form_id)
    return lead.reapply and latest is not None and lead.submitted_at < latest


def reapply(
    prior: Mapping[str, Any],
    leads: Sequence[LeadValues],
    latest_of_form: Mapping[int, datetime],
    at: str,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], datetime | None]:
    """The contact after the batch's leads of it, at least one of them re-applied: its
    standard columns, custom fields, field sources and submitted-at.

    ``prior`` is the contact row as locked; ``leads`` in submission order; ``latest_of_form``
    the submitted-at of the contact's stored submission per form (a re-applied lead older
    than its form's latest submission is not that form's current answer and changes
    nothing). A lead that is not re-applied keeps the usual rule: it writes only if it is not
    older than the contact's data, and an empty answer leaves its field as it is.
    """
    standard = {column: prior.get(column) for column in STANDARD_COLUMNS}
    custom = dict(prior.get("custom_fields") or {})
    sources = dict(prior.get("field_sources") or {})
    submitted: datetime | None = prior.get("linkedin_submitted_at")

    def put(key: str, value: Any) -> None:
        if key in _STANDARD:
            standard[key] = value
        elif value is None:
            custom.pop(key, None)
        else:
            custom[key] = value

    for lead in leads:
        if superseded(lead, latest_of_form):
            continue
        if lead.reapply:
            for key, entry in list(sources.items()):
                if (
                    entry.get("form_id") == lead.form_id
                    and key not in lead.fields
                    and (key, entry.get("mapping_source")) not in lead.mapped_now
                    and still_written(standard[key] if key in _STANDARD else custom.get(key), entry)
                ):
                    put(key, None)
                    del sources[key]
        elif submitted is not None and lead.submitted_at < submitted:
            continue
        for key, value in lead.fields.items():
            stored = as_stored(key, value)
            put(key, stored)
            sources[key] = lead.provenance(key, stored, at)
        submitted = lead.submitted_at if submitted is None else max(submitted, lead.submitted_at)
    return standard, custom, sources, submitted


def field_origins(contact: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Where each field's value came from, for every field with a value or a record.

    ``source`` is "linkedin" while the field holds what leadsync wrote there last, else
    "other"; ``form_id``, ``lead_id``, ``mapping_version``, ``mapping_source``,
    ``written_at`` and ``written_value`` describe leadsync's last write of the field (all
    None when it never wrote it)."""
    recorded: Mapping[str, Any] = contact.get("field_sources") or {}
    keys = {c for c in STANDARD_COLUMNS if contact.get(c) is not None}
    keys.update(k for k, v in (contact.get("custom_fields") or {}).items() if v is not None)
    keys.update(k for k in recorded if not k.startswith("$"))
    origins = {}
    for key in sorted(keys):
        value = current_value(contact, key)
        entry: Mapping[str, Any] = recorded.get(key) or {}
        origins[key] = {
            "source": LINKEDIN if entry and still_written(value, entry) else OTHER,
            "value": value,
            "form_id": entry.get("form_id"),
            "lead_id": entry.get("lead_id"),
            "mapping_version": entry.get("mapping_version"),
            "mapping_source": entry.get("mapping_source"),
            "written_at": entry.get("at"),
            "written_value": entry.get("value"),
        }
    return origins
