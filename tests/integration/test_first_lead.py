"""One lead travels the whole way: raw topic -> faust worker -> the account's contact and
submission rows."""

from __future__ import annotations

import pytest
from psycopg import AsyncConnection

from harness.operator import switch_import
from harness.processes import Worker
from leadsync.settings import Settings
from tests.integration.produce import envelope, example_lead, publish_raw, settings_account

Conn = AsyncConnection[tuple[object, ...]]


@pytest.fixture(autouse=True, scope="module")
def _import_on(settings: Settings) -> None:
    """An operator switched Import on for the example form before its leads arrive."""
    switch_import(settings, [7234246])


async def _rows(db: Conn, query: str, *params: object) -> list[tuple[object, ...]]:
    cur = await db.execute(query, params)
    return await cur.fetchall()


async def test_example_lead_becomes_a_contact_with_one_submission(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    account = settings_account(settings)
    publish_raw(settings, envelope(example_lead(), origin="manual"))  # the test account's
    worker.wait_caught_up(settings.topics.leads_raw)

    contacts = await _rows(
        db,
        "SELECT account_id, email, first_name, linkedin_imported,"
        "       linkedin_import_date IS NOT NULL"
        " FROM contacts WHERE email = 'kevin@example.com'",
    )
    assert contacts == [(account, "kevin@example.com", "Kevin", True, True)]
    submissions = await _rows(
        db,
        "SELECT s.lead_id, s.form_id, s.form_name, s.form_version, s.owner_urn, s.campaign_urn,"
        "       s.creative_urn, s.lead_type, s.test_lead, s.answers -> 1 ->> 'value',"
        "       s.hidden_fields -> 0 ->> 'value'"
        " FROM form_submissions s JOIN contacts c ON c.id = s.contact_id"
        " WHERE c.email = 'kevin@example.com'",
    )
    assert submissions == [
        (
            "249592fc-d272-44ba-a7db-c2bdce579507-6",
            7234246,
            "Test Form",
            1,
            "urn:li:sponsoredAccount:1234567",
            "urn:li:sponsoredCampaign:198356826",
            "urn:li:sponsoredCreative:241257736",
            "SPONSORED",
            True,
            '["Rosso"]',  # the multiple-choice option id 0 resolved to its label
            "linkedin",
        )
    ]
    ledger = await _rows(
        db, "SELECT account_id, origin FROM imported_leads WHERE lead_id = %s", example_lead()["id"]
    )
    assert ledger == [(account, "manual")]
    # The lead is stored as LinkedIn sent it: the lead out of its envelope.
    raw = await _rows(
        db, "SELECT raw_lead FROM form_submissions WHERE lead_id = %s", example_lead()["id"]
    )
    assert raw == [(example_lead(),)]


async def test_the_same_lead_twice_leaves_one_contact_and_one_submission(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    lead = example_lead(
        id="dup-lead-1",
        formResponse={
            "answers": [
                {
                    "questionId": 307234246,
                    "answerDetails": {"textQuestionAnswer": {"answer": "  Twice@Example.com "}},
                },
                {
                    "questionId": 107234246,
                    "answerDetails": {"textQuestionAnswer": {"answer": "Tw"}},
                },
            ]
        },
    )
    publish_raw(settings, envelope(lead, origin="manual"))
    worker.wait_caught_up(settings.topics.leads_raw)
    counters_sql = "SELECT imported, updated FROM form_counters WHERE form_id = 7234246"
    counters_before = await _rows(db, counters_sql)
    publish_raw(settings, envelope(lead, origin="manual"), envelope(lead, origin="push"))
    worker.wait_caught_up(settings.topics.leads_raw)

    # The duplicates were recognised, not applied again: no contact counted as updated.
    assert await _rows(db, counters_sql) == counters_before

    assert await _rows(db, "SELECT count(*) FROM contacts WHERE email = 'twice@example.com'") == [
        (1,)
    ]
    assert await _rows(
        db, "SELECT count(*) FROM form_submissions WHERE lead_id = 'dup-lead-1'"
    ) == [(1,)]
    assert await _rows(db, "SELECT count(*) FROM imported_leads WHERE lead_id = 'dup-lead-1'") == [
        (1,)
    ]
