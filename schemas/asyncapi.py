"""The AsyncAPI 3.0 document of leadsync's public topics (``schemas/asyncapi.json``).

Built from the JSON Schema documents of :mod:`schemas.export`, which the pydantic models
that produce the events generate: each document's ``$defs`` become ``components.schemas``
and its body the message payload, so the document and ``json/`` say the same thing by
construction. Topic addresses come from :class:`leadsync.settings.Topics`, with the prefix
as a channel parameter. ``leadsync schemas`` writes both; a unit test fails when the
committed document differs from the models, and validates it against the official AsyncAPI
3.0 JSON Schema (npm ``@asyncapi/specs``).

Public topics only: contact changes, errors, and raw leads (which an operator may write too,
``leadsync leads publish``). ``notifications`` and ``sync-requests`` are internal: their
shapes change with leadsync, so no client should be generated for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from leadsync.settings import Settings, Topics
from schemas.events import (
    Cause,
    ContactChange,
    ContactChangeData,
    ContactEventType,
    ErrorEvent,
    FieldChange,
    SubmissionRef,
)
from schemas.export import render, schema_documents

ASYNCAPI_PATH = Path(__file__).parent / "asyncapi.json"

# The contract's version, not leadsync's: minor for an added optional field, major for a
# removed or retyped one (events.py promises never to do that).
CONTRACT_VERSION = "1.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
# What the outbox relay puts in each contact change's ``content-type`` header (structured
# CloudEvents); a unit test holds streams.relay to it.
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CONTACT_CHANGE_KEY = f"^[0-9]+:{_UUID}$"
RAW_LEAD_KEY = "^[0-9]+:.+$"
ERROR_KEY = "^([0-9]+)?$"
# W3C Trace Context, version 00: version-traceid-parentid-flags.
TRACEPARENT = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

_TRACEPARENT_HEADER = {
    "type": "string",
    "pattern": TRACEPARENT,
    "description": (
        "W3C Trace Context of the lead's path (webhook or pull, hydration, import, event):"
        " its trace id finds every log line about the lead. Absent on records written"
        " without one (by hand, or before tracing)."
    ),
}


def asyncapi_document() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document, as ``schemas/asyncapi.json`` holds it."""
    defaults = Settings.model_fields
    topics = Topics("{prefix}")
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "leadsync events",
            "version": CONTRACT_VERSION,
            "description": _INFO,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The Kafka cluster leadsync runs on.",
                "variables": {
                    "bootstrap": {
                        "default": defaults["kafka_bootstrap_servers"].default,
                        "description": "a broker of LEADSYNC_KAFKA_BOOTSTRAP_SERVERS (host:port)",
                    }
                },
            }
        },
        "channels": {
            "contactChanges": _channel(
                topics.contact_changes, "Contact changes", ["contactChange"], _CONTACT_CHANGES
            ),
            "errors": _channel(topics.errors, "Errors", ["errorEvent"], _ERRORS),
            "leadsRaw": _channel(
                topics.leads_raw, "Raw leads", ["rawLead", "eraseRequest"], _LEADS_RAW
            ),
        },
        "operations": {
            "publishContactChange": _operation(
                "send",
                "contactChanges",
                ["contactChange"],
                "The outbox relay publishes each committed contact change, at least once,"
                " in commit order per contact.",
            ),
            "publishError": _operation(
                "send",
                "errors",
                ["errorEvent"],
                "Every stage publishes a lead or record it could not import, and warnings"
                " about LinkedIn connections.",
            ),
            "publishRawLead": _operation(
                "send",
                "leadsRaw",
                ["rawLead", "eraseRequest"],
                "The puller and the hydration publish each lead for every account that"
                " imports it; a deleted lead becomes one erase request per account.",
            ),
            "importRawLead": _operation(
                "receive",
                "leadsRaw",
                ["rawLead", "eraseRequest"],
                "The import reads them: a lead published here by another producer (as"
                " `leadsync leads publish` does) is imported like a pulled one.",
            ),
        },
        "components": {
            "parameters": {
                "prefix": {
                    "default": defaults["topic_prefix"].default,
                    "description": "LEADSYNC_TOPIC_PREFIX: every topic name starts with it",
                }
            },
            "messages": _messages(),
            "schemas": component_schemas(),
        },
    }


def component_schemas() -> dict[str, Any]:
    """The published JSON Schemas as ``components.schemas``: each model under its title, its
    definitions beside it, references pointed there."""
    schemas: dict[str, Any] = {}
    for name, document in schema_documents().items():
        body = {k: v for k, v in document.items() if k not in ("$schema", "$id", "$defs")}
        for title, schema in [*document.get("$defs", {}).items(), (document["title"], body)]:
            schema = _to_components(schema)
            if schemas.setdefault(title, schema) != schema:
                raise ValueError(f"{name} defines {title} unlike another published model does")
    return dict(sorted(schemas.items()))


def write_document(path: Path = ASYNCAPI_PATH) -> Path:
    path.write_text(render(asyncapi_document()))
    return path


def _to_components(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: v.replace("#/$defs/", "#/components/schemas/", 1)
            if k == "$ref" and isinstance(v, str)
            else _to_components(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_to_components(item) for item in node]
    return node


def _channel(address: str, title: str, messages: list[str], description: str) -> dict[str, Any]:
    return {
        "address": address,
        "title": title,
        "description": description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
    }


def _operation(action: str, channel: str, messages: list[str], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in messages],
    }


def _message(
    model: str,
    summary: str,
    key: dict[str, Any],
    headers: dict[str, Any] | None = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    file = next(n for n, d in schema_documents().items() if d["title"] == model)
    return {
        "name": model,
        "title": model,
        "summary": summary,
        "description": f"JSON Schema of the value: `schemas/json/{file}`.",
        "contentType": content_type,
        "headers": {
            "type": "object",
            "properties": {"traceparent": _TRACEPARENT_HEADER, **(headers or {})},
            **({"required": sorted(headers)} if headers else {}),
        },
        "payload": {"$ref": f"#/components/schemas/{model}"},
        "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _messages() -> dict[str, Any]:
    raw_key = {
        "type": "string",
        "pattern": RAW_LEAD_KEY,
        "description": "`<account id>:<lead id>`: one account's records of a lead, in order",
    }
    contact_change = _message(
        "ContactChange",
        "A contact created, updated or erased (CloudEvents 1.0, structured JSON mode).",
        {
            "type": "string",
            "pattern": CONTACT_CHANGE_KEY,
            "description": "`<account id>:<contact id>`: one contact's events, in order",
        },
        headers={"content-type": {"type": "string", "const": CLOUDEVENTS_CONTENT_TYPE}},
        content_type=CLOUDEVENTS_CONTENT_TYPE,
    )
    contact_change["description"] += (
        " CloudEvents attributes are payload members (`specversion`, `id`, `source`, `type`,"
        " `subject` = the contact id, `time`, `datacontenttype`), with the extension"
        " attribute `leadsyncaccount`, the contact's account. Deduplicate on `id`."
    )
    contact_change["examples"] = [_contact_change_example()]
    error_event = _message(
        "ErrorEvent",
        "A lead or record that could not be imported, or a connection warning.",
        {
            "type": "string",
            "pattern": ERROR_KEY,
            "description": "the form id, empty when unknown",
        },
    )
    error_event["examples"] = [
        {"name": "identity not mapped", "summary": "key 7234246", "payload": _error_example()}
    ]
    return {
        "contactChange": contact_change,
        "errorEvent": error_event,
        "rawLead": _message("RawLead", "A LinkedIn lead for one account to import.", raw_key),
        "eraseRequest": _message(
            "EraseRequest", "A lead deleted on LinkedIn: erase what it brought.", raw_key
        ),
    }


_CONTACT_ID = UUID("6f1c2a4e-3b7d-4c1e-9a55-2d8e0f4b7c10")
_AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _contact_change_example() -> dict[str, Any]:
    event = ContactChange(
        id=UUID("0d5e7f3a-8c21-4b6e-a9f4-51c3e2d7b890"),
        type=ContactEventType.CREATED,
        subject=str(_CONTACT_ID),
        time=_AT,
        leadsyncaccount=7,
        data=ContactChangeData(
            contact_id=_CONTACT_ID,
            contact={
                "id": str(_CONTACT_ID), "account_id": 7, "email": "ada@example.com",
                "first_name": "Ada", "company": "Analytical Engines", "custom_fields": {},
                "linkedin_imported": True, "linkedin_import_date": _AT.isoformat(),
            },
            changes=[
                FieldChange(field="company", after="Analytical Engines"),
                FieldChange(field="email", after="ada@example.com"),
                FieldChange(field="first_name", after="Ada"),
            ],
            cause=Cause.PUSH,
            submission=SubmissionRef(
                lead_id="urn:li:leadFormResponse:9f1b", form_id=7234246, form_name="Test Form",
                form_version=2, owner_urn="urn:li:sponsoredAccount:507404993",
                lead_type="SPONSORED", submitted_at=_AT,
            ),
        ),
    )  # fmt: skip
    return {
        "name": "created by a pushed lead",
        "summary": f"key 7:{_CONTACT_ID}; the contact abridged (events carry every column)",
        "headers": {
            "content-type": CLOUDEVENTS_CONTENT_TYPE,
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        },
        "payload": event.model_dump(mode="json"),
    }


def _error_example() -> dict[str, Any]:
    event = ErrorEvent(
        error_id=UUID("5b0e9c1d-2f47-4a8b-b3e6-7c9d0a1f2e34"),
        occurred_at=_AT,
        stage="map",
        code="identity_not_mapped",
        message="nothing on this form is mapped to the identity field 'email'",
        account_id=7,
        form_id=7234246,
        lead_id="urn:li:leadFormResponse:9f1c",
        field="email",
        origin="push",
        raw_ref={"topic": "leadsync.leads.raw", "partition": 3, "offset": 1234},
    )
    return event.model_dump(mode="json")


_INFO = """\
The Kafka topics leadsync publishes for others: contact changes (CloudEvents 1.0), errors, \
and raw leads. One leadsync serves every account of the platform on shared topics: each \
record names its account (`leadsyncaccount` on contact changes and in their key, \
`account_id` on errors and raw leads); a consumer serving one account filters on it.

Delivery is at least once: a record may come again after a failure, always with the same \
id (`id`, `error_id`). Records with the same key are in one partition, in order. The \
payload schemas are the JSON Schemas of `schemas/json/`, generated from the same models. \
The topics `notifications` and `sync-requests` are internal and not described here."""

_CONTACT_CHANGES = """\
Every committed change of a contact, keyed `<account id>:<contact id>`. Types \
`com.leadsync.contact.created`, `.updated` and `.erased` (a lead deleted on LinkedIn, its \
only source). `data.restart_workflows` is true when a manual import asked for re-synced \
contacts to enter their workflows again. See `schemas/TOPICS.md`."""

_ERRORS = """\
Leads or records that could not be imported (stage, code, message, account, form, lead), \
and `connection.expiring` warnings (`stage: connection`, details in `raw_ref`). \
`error_id` is deterministic: a replay is recognised."""

_LEADS_RAW = """\
Full LinkedIn leads in their envelope (the importing account, origin `push`, `schedule` or \
`manual`, sync run and options), and erase requests of deleted leads; a record with \
`erase_lead_id` is an erase request."""
