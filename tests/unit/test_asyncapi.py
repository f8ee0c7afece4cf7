"""The AsyncAPI document of the public topics matches the models, is valid AsyncAPI 3.0, and
says what leadsync really writes (topic names, keys, headers, payloads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from jsonschema import Draft7Validator

from ingest.puller import lead_key
from leadsync.settings import Topics
from schemas.asyncapi import ASYNCAPI_PATH, asyncapi_document
from schemas.envelopes import EraseRequest
from schemas.events import Cause, ContactEventType, ErrorEvent
from schemas.export import render, schema_documents
from sinks.outbox import change_event
from streams.relay import CLOUDEVENTS_JSON

# npm's @asyncapi/specs (package.json, installed by `make install`): the official schemas.
SPEC = Path(__file__).resolve().parents[2] / "node_modules/@asyncapi/specs/schemas/3.0.0.json"
DOCUMENT = asyncapi_document()
MESSAGES: dict[str, Any] = DOCUMENT["components"]["messages"]


def test_committed_document_matches_the_models() -> None:
    assert ASYNCAPI_PATH.read_text() == render(DOCUMENT), (
        "schemas/asyncapi.json is out of date: run `leadsync schemas`"
    )


def test_document_is_valid_asyncapi_3() -> None:
    assert SPEC.exists(), f"{SPEC} is missing: `make install` installs it from npm"
    validator = Draft7Validator(json.loads(SPEC.read_text()))
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(DOCUMENT)]
    assert problems == []


def test_the_official_schema_refuses_a_broken_document() -> None:
    # Guards the test above: the validator reaches as deep as a Kafka binding's key schema.
    validator = Draft7Validator(json.loads(SPEC.read_text()))
    broken = json.loads(render(DOCUMENT))
    broken["components"]["messages"]["errorEvent"]["bindings"]["kafka"]["key"] = {"type": 3}
    assert not validator.is_valid(broken)


def test_public_topics_only_with_the_names_leadsync_uses() -> None:
    addresses = {c["address"] for c in DOCUMENT["channels"].values()}
    topics = Topics("acme")
    assert {a.replace("{prefix}", "acme") for a in addresses} == {
        topics.contact_changes,
        topics.errors,
        topics.leads_raw,
    }  # notifications and sync-requests are internal
    assert DOCUMENT["components"]["parameters"]["prefix"]["default"] == "leadsync"


@pytest.mark.parametrize("name", sorted(schema_documents()))
def test_every_published_json_schema_is_a_message_payload(name: str) -> None:
    document = schema_documents()[name]
    payloads = {m["payload"]["$ref"] for m in MESSAGES.values()}
    assert f"#/components/schemas/{document['title']}" in payloads
    lifted = DOCUMENT["components"]["schemas"][document["title"]]
    assert lifted["properties"].keys() == document["properties"].keys()


def test_a_contact_change_the_relay_publishes_fits_the_document() -> None:
    contact = {"id": UUID("00000000-0000-4000-8000-000000000001"), "account_id": 42,
               "email": "kevin@example.com", "custom_fields": {}}  # fmt: skip
    event = change_event(ContactEventType.CREATED, contact, [], Cause.PUSH)
    message = MESSAGES["contactChange"]

    assert _errors(message["payload"], json.loads(event.payload)) == []
    key = f"{event.account_id}:{event.contact_id}"  # what the outbox's SELECT builds
    assert _errors(message["bindings"]["kafka"]["key"], key) == []
    headers = {name: value.decode() if isinstance(value, bytes) else value
               for name, value in CLOUDEVENTS_JSON}  # fmt: skip
    assert _errors(message["headers"], headers) == []
    assert message["contentType"] == headers["content-type"]


def test_errors_and_raw_records_fit_the_document() -> None:
    at = datetime(2026, 11, 27, tzinfo=UTC)
    error = ErrorEvent(error_id=UUID(int=1), occurred_at=at, stage="map", code="c", message="m",
                       form_id=7234246)  # fmt: skip
    assert _errors(MESSAGES["errorEvent"]["payload"], error.model_dump(mode="json")) == []
    for key in ("7234246", ""):  # the form id, or empty when unknown
        assert _errors(MESSAGES["errorEvent"]["bindings"]["kafka"]["key"], key) == []

    erase = EraseRequest(erase_lead_id="urn:li:leadFormResponse:1", account_id=3, form_id=9,
                         occurred_at=at)  # fmt: skip
    assert _errors(MESSAGES["eraseRequest"]["payload"], json.loads(erase.to_record())) == []
    raw_key = MESSAGES["rawLead"]["bindings"]["kafka"]["key"]
    assert _errors(raw_key, lead_key(3, "urn:li:leadFormResponse:1").decode()) == []


def test_every_message_takes_an_optional_traceparent_header() -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    for name, message in MESSAGES.items():
        headers = message["headers"]
        assert headers.get("required", []) == (["content-type"] if name == "contactChange" else [])
        assert _errors(headers["properties"]["traceparent"], trace) == [], name
        assert _errors(headers["properties"]["traceparent"], "not-a-trace") != [], name


def test_examples_fit_their_payloads() -> None:
    for name, message in MESSAGES.items():
        for example in message.get("examples", []):
            assert _errors(message["payload"], example["payload"]) == [], name
            assert _errors(message["headers"], example.get("headers", {})) == [], name


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    """What ``schema`` (which may point into the document's components) says about
    ``instance``."""
    rooted = {**schema, "components": DOCUMENT["components"]}
    return [e.message for e in Draft7Validator(rooted).iter_errors(instance)]
