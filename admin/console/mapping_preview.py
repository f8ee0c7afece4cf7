"""What the field mapping page shows of the form's last leads (pure, no I/O): examples of
the answers beside each source, and the preview of what a mapping set would write.

The preview runs the import's own mapping (:func:`mapping.apply.map_lead`) on the leads as
they arrived, each with the form version it was filled on, so what it shows is what an
import with that set writes: the identity, then each field a mapping fills, or the error
that would stop the lead. Nothing is written. The leads are imported ones and, for a form
with few, leads read from LinkedIn just now (:mod:`ingest.recent_leads`): examples and
preview treat both alike, and the preview says which is which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from admin.console.mapping_sources import Source
from mapping.answers import lead_locale, resolve_answers, resolve_hidden_fields
from mapping.apply import map_lead
from mapping.checks import IDENTITY_FIELD
from mapping.errors import MappingError
from schemas.linkedin import Lead
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec, JsonValue
from sinks.answer_examples import RecentLead

# Examples beside each source: a glimpse, one line each.
EXAMPLES_PER_SOURCE = 3
EXAMPLE_LENGTH = 60

Example = str | bool  # an answer as text, or a consent given / refused


@dataclass(frozen=True)
class PreviewValue:
    field_key: str
    field_label: str
    value: JsonValue


@dataclass(frozen=True)
class PreviewLead:
    """One lead, and what the mapping set would make of it."""

    lead_id: str
    submitted_at: datetime
    imported_as: str | None  # the contact's email it was imported under; None: not imported
    values: list[PreviewValue]  # the identity first; empty when ``error`` is set
    error: MappingError | None = None
    from_linkedin: bool = False  # read from LinkedIn for the page (Import off, or it failed)


def answer_examples(
    sources: Sequence[Source],
    leads: Sequence[RecentLead],
    versions: Mapping[int, FormVersionSpec],
    fallback: FormVersionSpec,
) -> dict[str, list[Example]]:
    """Up to :data:`EXAMPLES_PER_SOURCE` different non-empty answers per source token,
    newest first, from the leads (each read with its own form version)."""
    examples: dict[str, list[Example]] = {s.token: [] for s in sources}
    for recent in leads:
        version = versions.get(recent.version_id, fallback)
        values = _lead_values(recent.lead, version)
        for source in sources:
            found = next((values[n] for n in sorted(source.names()) if n in values), None)
            shown = examples[source.token]
            if found is None or found in shown or len(shown) >= EXAMPLES_PER_SOURCE:
                continue
            shown.append(found)
    return examples


def preview(
    leads: Sequence[RecentLead],
    versions: Mapping[int, FormVersionSpec],
    fallback: FormVersionSpec,
    mappings: Sequence[FieldMapping],
    fields: Mapping[str, ContactField],
) -> list[PreviewLead]:
    """What importing each lead with ``mappings`` would write (``fields`` may hold fields
    that do not exist yet: the new ones the page would create)."""
    result = []
    for recent in leads:
        version = versions.get(recent.version_id, fallback)
        lead = recent.lead
        shown = PreviewLead(
            lead.id,
            recent.submitted_at,
            recent.contact_email,
            [],
            from_linkedin=recent.from_linkedin,
        )
        try:
            mapped = map_lead(lead, version, mappings, fields)
        except MappingError as error:
            result.append(replace(shown, error=error))
            continue
        values = [PreviewValue(IDENTITY_FIELD, _label(fields, IDENTITY_FIELD), mapped.email)]
        values += [
            PreviewValue(key, _label(fields, key), value) for key, value in mapped.fields.items()
        ]
        result.append(replace(shown, values=values))
    return result


def _lead_values(lead: Lead, version: FormVersionSpec) -> dict[str, Example]:
    """The lead's non-empty values by every name a mapping may give their source."""
    values: dict[str, Example] = {}
    for answer in resolve_answers(lead, version.questions, lead_locale(lead, version)):
        text = ", ".join(answer.value) if isinstance(answer.value, list) else answer.value
        if not text or not text.strip():
            continue
        text = _shorten(text)
        values[f"question:{answer.question_id}"] = text
        if answer.predefined_field:
            values[f"predefined:{answer.predefined_field}"] = text
    for response in lead.form_response.consent_responses:
        values[f"consent:{response.consent_id}"] = response.accepted
    for name, value in resolve_hidden_fields(lead, version).items():
        if value and value.strip():
            values[f"hidden:{name}"] = _shorten(value)
    return values


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= EXAMPLE_LENGTH else line[: EXAMPLE_LENGTH - 1] + "…"


def _label(fields: Mapping[str, ContactField], key: str) -> str:
    found = fields.get(key)
    return found.label if found else key
