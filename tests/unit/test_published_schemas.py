"""The JSON Schema files consumers rely on match the models that produce the events."""

from __future__ import annotations

import pytest

from schemas.export import JSON_DIR, render, schema_documents


@pytest.mark.parametrize("name", sorted(schema_documents()))
def test_committed_schema_matches_the_model(name: str) -> None:
    committed = (JSON_DIR / name).read_text()
    assert committed == render(schema_documents()[name]), (
        f"schemas/json/{name} is out of date: run `leadsync schemas`"
    )


def test_contact_change_schema_is_a_cloudevent_with_the_documented_types() -> None:
    schema = schema_documents()["contact-change.schema.json"]
    assert set(schema["required"]) >= {"id", "type", "subject", "time", "data"}
    types = schema["$defs"]["ContactEventType"]["enum"]
    assert types == [
        "com.leadsync.contact.created",
        "com.leadsync.contact.updated",
        "com.leadsync.contact.erased",
    ]
