"""The pure part of the import: decoding records and planning the batch's writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.envelopes import Origin, RawLead
from schemas.linkedin import Lead
from sinks.forms import FormContext
from streams.importer import Record, build_batch, decode
from streams.mapping import auto_mappings

EXAMPLE = json.loads((Path(__file__).parent.parent / "data" / "lead_example.json").read_text())


def _record(value: bytes, offset: int = 0) -> Record:
    return Record(value, "leadsync.leads.raw", 0, offset)


def _lead(**changes: Any) -> dict[str, Any]:
    return {**EXAMPLE, **changes}


def _context() -> FormContext:
    lead = Lead.model_validate(EXAMPLE)
    assert lead.form
    assert lead.form.content
    questions = lead.form.content.typed_questions()
    return FormContext(
        form_id=7234246,
        version_id=1,
        name="Test Form",
        import_enabled=True,
        questions={q.question_id: q for q in questions},
        mappings=auto_mappings(questions),
        known_version=True,
    )


def test_bare_lead_is_a_manual_import_and_envelope_keeps_its_origin() -> None:
    bare = decode([_record(json.dumps(EXAMPLE).encode())])
    assert bare.leads[0].origin is Origin.MANUAL
    wrapped = decode([_record(json.dumps({"lead": EXAMPLE, "origin": "schedule"}).encode())])
    assert wrapped.leads[0].origin is Origin.SCHEDULE
    assert wrapped.leads[0].lead.id == EXAMPLE["id"]


def test_undecodable_records_become_error_rows_with_their_position() -> None:
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


def test_two_leads_of_one_person_merge_newest_values_last() -> None:
    old = RawLead(lead=Lead.model_validate(_lead(id="old", submittedAt=1000)), origin=Origin.PUSH)
    new_answers = {
        "answers": [
            {
                "questionId": 307234246,
                "answerDetails": {"textQuestionAnswer": {"answer": "KEVIN@example.com"}},
            },
            {"questionId": 107234246, "answerDetails": {"textQuestionAnswer": {"answer": "Kev"}}},
        ]
    }
    new = RawLead(
        lead=Lead.model_validate(_lead(id="new", submittedAt=2000, formResponse=new_answers)),
        origin=Origin.PUSH,
    )
    batch = build_batch([new, old], {(7234246, 1): _context()})
    assert len(batch.contacts) == 1
    assert batch.contacts[0].fields == {"first_name": "Kev"}
    assert batch.contacts[0].submitted_at.timestamp() == 2.0
    assert [s.lead_id for s in batch.submissions] == ["old", "new"]


def test_lead_of_an_unknown_form_version_is_an_error_not_a_contact() -> None:
    raw = RawLead(
        lead=Lead.model_validate(
            _lead(
                versionedLeadGenFormUrn="urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,9)"
            )
        ),
        origin=Origin.SCHEDULE,
    )
    batch = build_batch([raw], {(7234246, 1): _context()})
    assert batch.contacts == []
    assert [(e.code, e.form_id, e.lead_id, e.origin) for e in batch.errors] == [
        ("form_version_unknown", 7234246, EXAMPLE["id"], "schedule")
    ]
