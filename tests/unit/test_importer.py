"""The pure part of the import: decoding records and planning the batch's writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mapping.apply import auto_mappings
from schemas.envelopes import EraseRequest, Origin, RawLead
from schemas.linkedin import Lead
from schemas.mappings import ContactField, FormVersionSpec
from sinks.forms import FormContext
from streams.lead_batches import Record, build_batch, decode, with_form_content

FIELDS = {
    "email": ContactField("email", "Email", "email", standard=True),
    "first_name": ContactField("first_name", "First name", "text", standard=True),
}

EXAMPLE = json.loads((Path(__file__).parent.parent / "data" / "lead_example.json").read_text())


def _record(value: bytes, offset: int = 0) -> Record:
    return Record(value, "leadsync.leads.raw", 0, offset)


def _lead(**changes: Any) -> dict[str, Any]:
    return {**EXAMPLE, **changes}


def _context(import_enabled: bool = True) -> FormContext:
    lead = Lead.model_validate(EXAMPLE)
    assert lead.form
    assert lead.form.content
    questions = lead.form.content.typed_questions()
    return FormContext(
        name="Test Form",
        import_enabled=import_enabled,
        version=FormVersionSpec.from_form(lead.form, 1),
        mappings=auto_mappings(questions),
        known_version=True,
    )


def _raw(
    lead: dict[str, Any], origin: Origin = Origin.PUSH, offset: int = 0
) -> tuple[Record, RawLead]:
    raw = RawLead(lead=Lead.model_validate(lead), origin=origin)
    return _record(raw.to_record(), offset), raw


def test_bare_lead_is_a_manual_import_and_envelope_keeps_its_origin() -> None:
    bare = decode([_record(json.dumps(EXAMPLE).encode())])
    assert bare.leads[0][1].origin is Origin.MANUAL
    wrapped = decode([_record(json.dumps({"lead": EXAMPLE, "origin": "schedule"}).encode())])
    assert wrapped.leads[0][1].origin is Origin.SCHEDULE
    assert wrapped.leads[0][1].lead.id == EXAMPLE["id"]


def test_erase_request_is_told_apart_from_a_lead() -> None:
    request = {"erase_lead_id": "gone-1", "form_id": 7, "occurred_at": "2026-11-27T10:00:00Z"}
    decoded = decode([_record(json.dumps(request).encode())])
    assert decoded.leads == []
    assert decoded.erasures == [
        EraseRequest(erase_lead_id="gone-1", form_id=7, occurred_at="2026-11-27T10:00:00Z")
    ]


def test_undecodable_records_become_error_events_with_their_position_and_bytes() -> None:
    decoded = decode(
        [
            _record(b"\xff not json", offset=7),
            _record(json.dumps({"id": "x"}).encode(), offset=8),
            _record(json.dumps(_lead(versionedLeadGenFormUrn="nonsense")).encode(), offset=9),
        ]
    )
    assert decoded.leads == []
    assert [e.code for e in decoded.errors] == ["undecodable_record"] * 3
    assert [e.raw_ref["offset"] for e in decoded.errors if e.raw_ref] == [7, 8, 9]
    assert decoded.errors[0].raw_ref
    assert "not json" in decoded.errors[0].raw_ref["bytes"]


def test_error_ids_are_stable_for_a_replayed_record() -> None:
    first = decode([_record(b"garbage", offset=3)]).errors[0]
    again = decode([_record(b"garbage", offset=3)]).errors[0]
    other = decode([_record(b"garbage", offset=4)]).errors[0]
    assert first.error_id == again.error_id
    assert first.error_id != other.error_id


def test_two_leads_of_one_person_merge_newest_values_last() -> None:
    new_answers = {
        "answers": [
            {
                "questionId": 307234246,
                "answerDetails": {"textQuestionAnswer": {"answer": "KEVIN@example.com"}},
            },
            {"questionId": 107234246, "answerDetails": {"textQuestionAnswer": {"answer": "Kev"}}},
        ]
    }
    old = _raw(_lead(id="old", submittedAt=1000))
    new = _raw(_lead(id="new", submittedAt=2000, formResponse=new_answers), offset=1)
    batch, errors = build_batch([new, old], {(7234246, 1): _context()}, FIELDS)
    assert errors == []
    assert len(batch.contacts) == 1
    assert batch.contacts[0].fields == {"first_name": "Kev"}
    assert batch.contacts[0].submitted_at.timestamp() == 2.0
    assert [s.lead_id for s in batch.submissions] == ["old", "new"]


def test_lead_of_an_unknown_form_version_is_an_error_not_a_contact() -> None:
    urn = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,9)"
    raw = _raw(_lead(versionedLeadGenFormUrn=urn), Origin.SCHEDULE)
    batch, errors = build_batch([raw], {(7234246, 1): _context()}, FIELDS)
    assert batch.contacts == []
    assert [(e.stage, e.code, e.form_id, e.lead_id, e.origin) for e in errors] == [
        ("map", "form_version_unknown", 7234246, EXAMPLE["id"], "schedule")
    ]


def test_import_off_skips_the_lead_without_an_error() -> None:
    batch, errors = build_batch([_raw(EXAMPLE)], {(7234246, 1): _context(False)}, FIELDS)
    assert errors == []
    assert batch.contacts == []
    assert [(s.lead_id, s.form_id, s.origin) for s in batch.skipped] == [
        (EXAMPLE["id"], 7234246, "push")
    ]


def test_submission_carries_attribution_and_raw_answers() -> None:
    batch, _ = build_batch([_raw(EXAMPLE)], {(7234246, 1): _context()}, FIELDS)
    sub = batch.submissions[0]
    assert (sub.owner_urn, sub.campaign_urn, sub.creative_urn, sub.test_lead) == (
        "urn:li:sponsoredAccount:1234567",
        "urn:li:sponsoredCampaign:198356826",
        "urn:li:sponsoredCreative:241257736",
        True,
    )
    document = json.loads(sub.document)  # raw_lead stores the lead as it came
    assert document.get("lead", document)["id"] == EXAMPLE["id"]
    assert sub.answers == [
        {"questionId": 307234246, "name": "Email address", "predefinedField": "EMAIL",
         "question": "Indirizzo email", "value": "kevin@example.com"},
        {"questionId": 707234246, "name": "Custom question 0", "predefinedField": None,
         "question": "Colore preferito", "value": ["Rosso"], "optionIds": [0]},
        {"questionId": 107234246, "name": "First name", "predefinedField": "FIRST_NAME",
         "question": "Nome", "value": "Kevin"},
    ]  # fmt: skip


def test_envelopes_are_decoded_without_the_form_content_which_is_read_for_new_versions() -> None:
    envelope = json.dumps({"lead": EXAMPLE, "origin": "push"}).encode()
    other = json.dumps({"lead": _lead(id="lead-2"), "origin": "push"}).encode()
    decoded = decode([_record(envelope), _record(other, 1)])
    first = decoded.leads[0][1].lead
    assert first.form is not None
    assert first.form.content is None  # not read on the hot path
    assert (first.form.name, first.form.locale()) == ("Test Form", "it_IT")
    assert [h.name for h in first.form.hidden_fields] == ["utm_source"]

    # A version the database lacks: its first lead is read again, questions included.
    unknown = with_form_content(decoded.leads, known=[])
    assert unknown[0].form is not None
    assert unknown[0].form.content is not None
    assert [q.question_id for q in unknown[0].form.content.typed_questions()] == [
        307234246,
        707234246,
        107234246,
    ]
    assert unknown[1] is decoded.leads[1][1].lead  # one full read per version is enough
    # A known version: nothing is read again.
    known = with_form_content(decoded.leads, known=[(7234246, 1)])
    assert [lead.form.content if lead.form else "?" for lead in known] == [None, None]


def test_a_new_version_with_broken_content_is_registered_from_its_header() -> None:
    broken = _lead(form={**EXAMPLE["form"], "content": {"questions": [{"questionId": "x"}]}})
    decoded = decode([_record(json.dumps({"lead": broken, "origin": "push"}).encode())])
    assert decoded.errors == []  # the content is not read when decoding
    leads = with_form_content(decoded.leads, known=[])
    assert leads[0] is decoded.leads[0][1].lead
