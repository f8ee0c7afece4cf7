"""Publishing test records the way leadsync's own producers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.producer import publish_all
from leadsync.settings import Settings

DATA = Path(__file__).parent.parent / "data"


def example_lead(**changes: Any) -> dict[str, Any]:
    """The lead of shared/linkedin-lead-sync.md (with its form's questions), altered."""
    lead: dict[str, Any] = json.loads((DATA / "lead_example.json").read_text())
    lead.update(changes)
    return lead


def publish_raw(settings: Settings, *values: dict[str, Any] | bytes) -> None:
    records = []
    for value in values:
        if isinstance(value, bytes):
            records.append((b"garbage", value))
            continue
        lead = value.get("lead", value)
        records.append((str(lead["id"]).encode(), json.dumps(value).encode()))
    publish_all(settings, settings.topics.leads_raw, records)
