"""The pure part of the import: decoding records and planning the batch's writes, for
leads of several accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mapping.apply import auto_mappings
from schemas.envelopes import EraseRequest, Origin, RawLead, SyncOptions
from schemas.linkedin import Lead
from schemas.mappings import ContactField, FormVersionSpec
from sinks.batch_rows import ContactRow, LeadValues
from sinks.form_contexts import FormContext
from sinks.provenance import as_stored, field_origins, reapply
from sinks.upserts import REPLACE_MARK, _contact_rows
from streams.lead_batches import NO_ACCOUNT_MESSAGE, build_batch, decode, with_form_content
from streams.records import Record

ACME, GLOBEX = 11, 12
_REGISTRY = {
    "email": ContactField("email", "Email", "email", standard=True),
    "first_name": ContactField("first_name", "First name", "text", standard=True),
}
FIELDS = {ACME: _REGISTRY, GLOBEX: _REGISTRY}
VERSION = (ACME, 7234246, 1)

EXAMPLE = json.loads((Path(__file__).parent.parent / "data" / "lead_example.json").read_text())


def _record(value: bytes, offset: int = 0) -> Record:
    return Record(value, "leadsync.leads.raw", 0, offset)


def _lead(**changes: Any) -> dict[str, Any]:
    return {**EXAMPLE, **changes}


def _context(import_enabled: bool = True, mapping_version: int = 1) -> FormContext:
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
        mapping_version=mapping_version,
    )


def _raw(
    lead: dict[str, Any], origin: Origin = Origin.PUSH, offset: int = 0, account: int = ACME
) -> tuple[Record, RawLead]:
    raw = RawLead(lead=Lead.model_validate(lead), origin=origin, account_id=account)
    return _record(raw.to_record(), offset), raw


def test_an_envelope_keeps_its_origin_and_its_account() -> None:
    wrapped = decode(
        [_record(json.dumps({"lead": EXAMPLE, "origin": "schedule", "account_id": 5}).encode())]
    )
    assert wrapped.errors == []
    assert wrapped.leads[0][1].origin is Origin.SCHEDULE
    assert wrapped.leads[0][1].account_id == 5
    assert wrapped.leads[0][1].lead.id == EXAMPLE["id"]
    assert wrapped.accounts() == {5}


def test_a_lead_naming_no_account_is_refused_with_the_way_to_publish_it() -> None:
    bare = decode([_record(json.dumps(EXAMPLE).encode(), offset=4)])  # published by hand
    wrapped = decode([_record(json.dumps({"lead": EXAMPLE, "origin": "push"}).encode())])
    for decoded, origin in ((bare, "manual"), (wrapped, "push")):
        assert decoded.leads == []
        [error] = decoded.errors
        assert (error.stage, error.code, error.account_id, error.lead_id, error.form_id) == (
            "import", "no_account", None, EXAMPLE["id"], 7234246,
        )  # fmt: skip
        assert error.origin == origin
        assert error.message == NO_ACCOUNT_MESSAGE
        assert "leadsync leads publish --account NAME" in error.message


def test_erase_request_is_told_apart_from_a_lead_and_must_name_its_account() -> None:
    request = {"erase_lead_id": "gone-1", "form_id": 7, "occurred_at": "2026-11-27T10:00:00Z"}
    decoded = decode([_record(json.dumps({**request, "account_id": ACME}).encode())])
    assert decoded.leads == []
    assert [erase for _, erase in decoded.erasures] == [
        EraseRequest(
            erase_lead_id="gone-1", account_id=ACME, form_id=7, occurred_at="2026-11-27T10:00:00Z"
        )
    ]
    nobody = decode([_record(json.dumps(request).encode())])
    assert nobody.erasures == []
    assert [(e.code, e.account_id, e.lead_id) for e in nobody.errors] == [
        ("no_account", None, "gone-1")
    ]


def test_an_error_carries_the_account_of_its_lead_and_its_id_differs_per_account() -> None:
    record, raw = _raw(EXAMPLE, account=GLOBEX)
    error = record.error("map", "invalid_value", "bad", raw)
    assert error.account_id == GLOBEX
    _, other = _raw(EXAMPLE, account=ACME)
    assert record.error("map", "invalid_value", "bad", other).error_id != error.error_id
    assert record.error("map", "invalid_value", "bad", raw).error_id == error.error_id


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
    batch, errors = build_batch([new, old], {VERSION: _context()}, FIELDS)
    assert errors == []
    assert len(batch.contacts) == 1
    assert batch.contacts[0].account_id == ACME
    assert batch.contacts[0].fields == {"first_name": "Kev"}
    assert batch.contacts[0].submitted_at.timestamp() == 2.0
    assert [s.lead_id for s in batch.submissions] == ["old", "new"]


def test_one_email_in_two_accounts_is_two_contacts_each_with_its_submission() -> None:
    # The same person (kevin@example.com) fills the form in two accounts.
    acme = _raw(_lead(id="lead-a", submittedAt=1000), account=ACME)
    globex = _raw(_lead(id="lead-g", submittedAt=2000), offset=1, account=GLOBEX)
    contexts = {VERSION: _context(), (GLOBEX, 7234246, 1): _context()}
    batch, errors = build_batch([acme, globex], contexts, FIELDS)
    assert errors == []
    assert sorted((c.account_id, c.email) for c in batch.contacts) == [
        (ACME, "kevin@example.com"),
        (GLOBEX, "kevin@example.com"),
    ]
    assert [(s.account_id, s.lead_id) for s in batch.submissions] == [
        (ACME, "lead-a"),
        (GLOBEX, "lead-g"),
    ]


def test_a_lead_is_mapped_with_its_own_accounts_form_and_fields() -> None:
    # Only ACME holds the form version: GLOBEX's lead of it is an error of GLOBEX's.
    batch, errors = build_batch([_raw(EXAMPLE, account=GLOBEX)], {VERSION: _context()}, FIELDS)
    assert batch.contacts == []
    assert [(e.code, e.account_id) for e in errors] == [("form_version_unknown", GLOBEX)]
    # GLOBEX has the version, but its registry lacks the mapped first name field.
    contexts = {(GLOBEX, 7234246, 1): _context()}
    _, errors = build_batch([_raw(EXAMPLE, account=GLOBEX)], contexts, {GLOBEX: {}})
    assert [(e.code, e.field, e.account_id) for e in errors] == [
        ("field_missing", "first_name", GLOBEX)
    ]


def test_lead_of_an_unknown_form_version_is_an_error_not_a_contact() -> None:
    urn = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,9)"
    raw = _raw(_lead(versionedLeadGenFormUrn=urn), Origin.SCHEDULE)
    batch, errors = build_batch([raw], {VERSION: _context()}, FIELDS)
    assert batch.contacts == []
    assert [(e.stage, e.code, e.account_id, e.form_id, e.lead_id, e.origin) for e in errors] == [
        ("map", "form_version_unknown", ACME, 7234246, EXAMPLE["id"], "schedule")
    ]


def test_import_off_skips_the_lead_without_an_error() -> None:
    batch, errors = build_batch([_raw(EXAMPLE)], {VERSION: _context(False)}, FIELDS)
    assert errors == []
    assert batch.contacts == []
    assert [(s.account_id, s.lead_id, s.form_id, s.origin, s.reason) for s in batch.skipped] == [
        (ACME, EXAMPLE["id"], 7234246, "push", "import_disabled")
    ]


def test_submission_carries_attribution_and_raw_answers() -> None:
    batch, _ = build_batch([_raw(EXAMPLE)], {VERSION: _context()}, FIELDS)
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
    envelope = json.dumps({"lead": EXAMPLE, "origin": "push", "account_id": ACME}).encode()
    other = json.dumps({"lead": _lead(id="lead-2"), "origin": "push", "account_id": ACME}).encode()
    decoded = decode([_record(envelope), _record(other, 1)])
    first = decoded.leads[0][1].lead
    assert first.form is not None
    assert first.form.content is None  # not read on the hot path
    assert (first.form.name, first.form.locale()) == ("Test Form", "it_IT")
    assert [h.name for h in first.form.hidden_fields] == ["utm_source"]

    # A version the database lacks: its first lead is read again, questions included.
    unknown = with_form_content(decoded.leads, known=[])
    assert [account for account, _ in unknown] == [ACME, ACME]
    first_full = unknown[0][1]
    assert first_full.form is not None
    assert first_full.form.content is not None
    assert [q.question_id for q in first_full.form.content.typed_questions()] == [
        307234246,
        707234246,
        107234246,
    ]
    assert unknown[1][1] is decoded.leads[1][1].lead  # one full read per version is enough
    # A known version: nothing is read again.
    known = with_form_content(decoded.leads, known=[VERSION])
    assert [lead.form.content if lead.form else "?" for _, lead in known] == [None, None]
    # Known to another account only: the lead's own account still needs the questions.
    elsewhere = with_form_content(decoded.leads, known=[(GLOBEX, 7234246, 1)])
    assert elsewhere[0][1].form is not None
    assert elsewhere[0][1].form.content is not None


def test_a_new_version_with_broken_content_is_registered_from_its_header() -> None:
    broken = _lead(form={**EXAMPLE["form"], "content": {"questions": [{"questionId": "x"}]}})
    value = {"lead": broken, "origin": "push", "account_id": ACME}
    decoded = decode([_record(json.dumps(value).encode())])
    assert decoded.errors == []  # the content is not read when decoding
    leads = with_form_content(decoded.leads, known=[])
    assert leads[0] == (ACME, decoded.leads[0][1].lead)
    assert leads[0][1] is decoded.leads[0][1].lead


# --- field provenance and re-applying a form (issue #13) ---------------------------------

T1, T2, T3 = (datetime(2026, 11, d, tzinfo=UTC) for d in (1, 2, 3))
AT = "2026-12-01T00:00:00+00:00"
FORM, OTHER_FORM = 7234246, 99


def test_each_lead_says_what_it_writes_and_with_which_mapping() -> None:
    plain = _raw(_lead(id="plain", submittedAt=1000))
    options = SyncOptions(reimport_existing=True)
    again = RawLead(lead=Lead.model_validate(_lead(id="again", submittedAt=2000)),
                    origin=Origin.MANUAL, account_id=ACME, options=options)  # fmt: skip
    batch, errors = build_batch(
        [plain, (_record(again.to_record(), 1), again)], {VERSION: _context(mapping_version=4)},
        FIELDS,
    )  # fmt: skip
    assert errors == []
    [contact] = batch.contacts
    first, second = contact.leads
    assert (first.lead_id, first.form_id, first.mapping_version, first.reapply) == (
        "plain", FORM, 4, False,
    )  # fmt: skip
    assert (first.fields, first.sources) == (
        {"first_name": "Kevin"}, {"first_name": "predefined:FIRST_NAME"},
    )  # fmt: skip
    assert first.mapped_now == frozenset()  # only a re-applied lead needs the form's mappings
    assert (second.lead_id, second.reapply) == ("again", True)
    assert second.mapped_now == {
        ("email", "predefined:EMAIL"), ("first_name", "predefined:FIRST_NAME"),
    }  # fmt: skip
    assert [s.reimport for s in batch.submissions] == [False, True]
    assert first.provenance("first_name", "Kevin", AT) == {
        "form_id": FORM, "lead_id": "plain", "mapping_version": 4,
        "mapping_source": "predefined:FIRST_NAME", "at": AT, "value": "Kevin",
    }  # fmt: skip


def _written(form_id: int, lead_id: str, source: str, value: Any) -> dict[str, Any]:
    return {"form_id": form_id, "lead_id": lead_id, "mapping_version": 1,
            "mapping_source": source, "at": "earlier", "value": value}  # fmt: skip


def _values(
    fields: dict[str, Any],
    sources: dict[str, str],
    *,
    form_id: int = FORM,
    at: datetime = T1,
    reapply: bool = True,
    mapped_now: set[tuple[str, str]] | None = None,
) -> LeadValues:
    return LeadValues(
        form_id=form_id, lead_id=f"lead-{form_id}-{at.day}", submitted_at=at, fields=fields,
        sources=sources, mapping_version=2, reapply=reapply,
        mapped_now=frozenset(mapped_now or set()),
    )  # fmt: skip


# Company filed as job title by FORM's wrong mapping; the phone by OTHER_FORM; the city by
# FORM and changed since by another system; a custom field by FORM through a question.
PRIOR: dict[str, Any] = {
    "job_title": "ACME", "phone": "+39 1", "city": "Roma (edited)", "company": None,
    "custom_fields": {"budget": "10k", "kept": "x"},
    "field_sources": {
        "job_title": _written(FORM, "l1", "predefined:COMPANY_NAME", "ACME"),
        "phone": _written(OTHER_FORM, "l9", "predefined:PHONE_NUMBER", "+39 1"),
        "city": _written(FORM, "l1", "predefined:CITY", "Roma"),
        "budget": _written(FORM, "l1", "question:5", "10k"),
    },
    "linkedin_submitted_at": T3,  # the contact's data is newer than FORM's lead
}  # fmt: skip


def test_reapplying_a_fixed_mapping_moves_the_value_and_clears_only_what_is_still_the_forms() -> (
    None
):
    fixed = _values(
        {"company": "ACME"}, {"company": "predefined:COMPANY_NAME"},
        mapped_now={("company", "predefined:COMPANY_NAME")},
    )  # fmt: skip
    standard, custom, sources, submitted = reapply(PRIOR, [fixed], {FORM: T1}, AT)
    assert (standard["company"], standard["job_title"]) == ("ACME", None)  # moved
    assert standard["phone"] == "+39 1"  # another form's
    assert standard["city"] == "Roma (edited)"  # unmapped, but another system's since
    assert custom == {"kept": "x"}  # the question no longer maps to the budget: cleared
    assert sorted(sources) == ["city", "company", "phone"]
    assert sources["company"] == fixed.provenance("company", "ACME", AT)
    assert sources["city"] == PRIOR["field_sources"]["city"]  # still says what leadsync wrote
    assert submitted == T3


def test_a_field_the_form_still_maps_is_kept_when_its_latest_answer_is_empty() -> None:
    again = _values({}, {}, mapped_now={("job_title", "predefined:COMPANY_NAME")})
    standard, _, sources, _ = reapply(PRIOR, [again], {FORM: T1}, AT)
    assert standard["job_title"] == "ACME"
    assert sources["job_title"] == PRIOR["field_sources"]["job_title"]


def test_a_reapplied_lead_overwrites_even_newer_data_but_not_its_forms_newer_submission() -> None:
    values = {"phone": "+39 2"}, {"phone": "predefined:PHONE_NUMBER"}
    latest = _values(*values, mapped_now={("phone", "predefined:PHONE_NUMBER")})
    standard, _, sources, _ = reapply(PRIOR, [latest], {FORM: T1}, AT)
    assert standard["phone"] == "+39 2"  # older than the contact's data, and still written
    assert sources["phone"]["form_id"] == FORM
    # The form's stored submission is newer: this lead is not the form's latest answer.
    standard, custom, sources, _ = reapply(PRIOR, [latest], {FORM: T2}, AT)
    assert (standard["phone"], standard["job_title"], custom) == (
        "+39 1", "ACME", PRIOR["custom_fields"],
    )  # fmt: skip
    assert sources == PRIOR["field_sources"]


def test_a_lead_not_reapplied_keeps_the_age_guard_in_a_reapplied_contact() -> None:
    older = _values({"phone": "+1"}, {"phone": "x"}, form_id=OTHER_FORM, at=T2, reapply=False)
    newer = _values({"gender": "F"}, {"gender": "y"}, form_id=OTHER_FORM, at=T3, reapply=False)
    standard, _, _, submitted = reapply(PRIOR, [older, newer], {}, AT)
    assert (standard["phone"], standard["gender"], submitted) == ("+39 1", "F", T3)


def test_standard_fields_are_recorded_as_the_text_they_are_stored_as() -> None:
    assert as_stored("company", 42) == "42"
    assert as_stored("company", True) == "true"
    assert as_stored("company", "ACME") == "ACME"
    assert as_stored("budget", 42) == 42  # custom fields keep their JSON type


def test_field_origins_say_linkedin_while_the_value_is_as_written_else_other() -> None:
    origins = field_origins(PRIOR)
    assert sorted(origins) == ["budget", "city", "job_title", "kept", "phone"]
    assert origins["job_title"] == {
        "source": "linkedin", "value": "ACME", "form_id": FORM, "lead_id": "l1",
        "mapping_version": 1, "mapping_source": "predefined:COMPANY_NAME",
        "written_at": "earlier", "written_value": "ACME",
    }  # fmt: skip
    assert (origins["city"]["source"], origins["city"]["written_value"]) == ("other", "Roma")
    assert origins["kept"] == {
        "source": "other", "value": "x", "form_id": None, "lead_id": None,
        "mapping_version": None, "mapping_source": None, "written_at": None,
        "written_value": None,
    }  # fmt: skip


def test_a_contact_whose_only_reapplied_leads_are_superseded_gets_no_row() -> None:
    older = _values({"phone": "+39 2"}, {"phone": "predefined:PHONE_NUMBER"}, at=T1)
    contact = ContactRow(ACME, "kevin@example.com", T1, dict(older.fields), [older])
    prior = {**PRIOR, "field_sources": json.dumps(PRIOR["field_sources"])}  # as locked
    key = (ACME, "kevin@example.com")
    # The form's stored submission is newer: the newer one re-syncs the contact, once.
    assert _contact_rows([contact], {key: prior}, {key: {FORM: T2}}, AT) == ([], set())
    rows, resynced = _contact_rows([contact], {key: prior}, {key: {FORM: T1}}, AT)
    assert resynced == {key}
    assert (rows[0]["phone"], rows[0]["field_sources"][REPLACE_MARK]) == ("+39 2", True)
