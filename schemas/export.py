"""The JSON Schema files published for consumers, generated from the pydantic models.

``leadsync schemas`` writes them to ``schemas/json/``; a unit test fails when the
committed files drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.envelopes import EraseRequest, RawLead
from schemas.events import ContactChange, ErrorEvent

JSON_DIR = Path(__file__).parent / "json"

PUBLISHED: dict[str, type[BaseModel]] = {
    "contact-change.schema.json": ContactChange,
    "error-event.schema.json": ErrorEvent,
    "raw-lead.schema.json": RawLead,
    "erase-request.schema.json": EraseRequest,
}


def schema_documents() -> dict[str, dict[str, Any]]:
    documents = {}
    for name, model in PUBLISHED.items():
        schema = model.model_json_schema(by_alias=True)
        documents[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://leadsync.dev/schemas/{name}",
            **schema,
        }
    return documents


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def export(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in schema_documents().items():
        path = directory / name
        path.write_text(render(document))
        written.append(path)
    return written
