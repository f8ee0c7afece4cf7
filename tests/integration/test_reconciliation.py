"""Reconciliation figures from sightings: per form and day, the leads LinkedIn holds (the
pulls found them), those that came by push, those only the pull found (the push lost them),
and the duplicate pushes absorbed; ``GET /api/forms/{id}/reconciliation`` shows them.

The sightings are recorded as the hydrator and the import record them (sinks.reconciliation);
the e2e test (tests/e2e/test_reconciliation.py) drives them through the real pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from psycopg import AsyncConnection

from leadsync.settings import Settings
from schemas.envelopes import Origin, RawLead
from schemas.linkedin import Lead
from sinks.database import Database
from sinks.reconciliation import (
    PULL,
    Sighting,
    pull_sightings,
    push_sighting,
    record_sightings,
)
from tests.integration.admin_client import AccountWithToken, admin_client, new_account

Conn = AsyncConnection[tuple[object, ...]]
LEAD_EXAMPLE = Path(__file__).parents[1] / "data" / "lead_example.json"
FORM = 7_100_001
OTHER_FORM = 7_100_002


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    async with Database.from_settings(settings, max_size=2) as db:
        yield db


async def _account_with_forms(settings: Settings, db: Conn) -> AccountWithToken:
    account = await new_account(settings, "reconcile")
    for form_id in (FORM, OTHER_FORM):
        await db.execute(
            "INSERT INTO forms (account_id, id, name) VALUES (%s, %s, 'a form')",
            (account.id, form_id),
        )
    return account


def _ms(day: date, hour: int = 12) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


def _pulled(account_id: int, form_id: int, lead_id: str, day: date) -> Sighting:
    return Sighting(account_id, form_id, lead_id, day, PULL)


async def test_each_days_figures_count_leads_and_duplicate_pushes(
    settings: Settings, database: Database, db: Conn
) -> None:
    account = await _account_with_forms(settings, db)
    other = await _account_with_forms(settings, db)
    a = account.id
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)

    # The hydrator, batch after batch: pushes on the lead's day (fetched) or, dropped as
    # already held, on the notification's day.
    async with database.account(a) as conn:
        await record_sightings(
            conn,
            [
                push_sighting(a, FORM, "l1", _ms(today), exact=True),
                push_sighting(a, FORM, "l1", _ms(today), exact=True),  # delivered twice
                push_sighting(a, FORM, "l2", _ms(today), exact=True),
                push_sighting(a, FORM, "l3", _ms(yesterday), exact=True),
            ],
        )
    async with database.account(a) as conn:
        # l1 a third time, l3 again: dropped as held (notification time: today, a guess)
        await record_sightings(
            conn,
            [
                push_sighting(a, FORM, "l1", _ms(today, 13), exact=False),
                push_sighting(a, FORM, "l3", _ms(today), exact=False),
                # l6 announced but never fetched for this account (held from a pull below)
                push_sighting(a, FORM, "l6", _ms(today), exact=False),
            ],
        )
    # The import, for a pull covering both days (and one of the other form).
    async with database.account(a) as conn:
        await record_sightings(
            conn,
            [
                _pulled(a, FORM, "l1", today),
                _pulled(a, FORM, "l2", today),
                _pulled(a, FORM, "l3", yesterday),
                _pulled(a, FORM, "l4", today),  # the push lost it
                _pulled(a, FORM, "l5", yesterday),  # the push lost it
                _pulled(a, FORM, "l6", yesterday),  # its own day wins over the notification's
                _pulled(a, OTHER_FORM, "o1", today),
            ],
        )
    # An overlapping pull reads some again: no figure changes.
    async with database.account(a) as conn:
        await record_sightings(conn, [_pulled(a, FORM, "l4", today), _pulled(a, FORM, "l1", today)])
    # Another account's leads of the same form are its own.
    async with database.account(other.id) as conn:
        await record_sightings(conn, [_pulled(other.id, FORM, "l9", today)])

    async with admin_client(settings, token=account.token) as api:
        answer = await api.get(f"/api/forms/{FORM}/reconciliation", params={"days": 3})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "form_id": FORM,
            "days": [
                {
                    "day": (today - timedelta(days=2)).isoformat(),
                    "on_linkedin": 0,
                    "by_push": 0,
                    "only_by_pull": 0,
                    "duplicates": 0,
                },
                {
                    "day": yesterday.isoformat(),
                    "on_linkedin": 3,  # l3, l5, l6
                    "by_push": 2,  # l3, l6
                    "only_by_pull": 1,  # l5
                    "duplicates": 1,  # l3's second
                },
                {
                    "day": today.isoformat(),
                    "on_linkedin": 3,  # l1, l2, l4
                    "by_push": 2,  # l1, l2
                    "only_by_pull": 1,  # l4
                    "duplicates": 2,  # l1's second and third
                },
            ],
        }
        # 30 days by default, today last.
        month = (await api.get(f"/api/forms/{FORM}/reconciliation")).json()["days"]
        assert len(month) == 30
        assert month[-1]["day"] == today.isoformat()
        other_form = (await api.get(f"/api/forms/{OTHER_FORM}/reconciliation?days=1")).json()
        assert other_form["days"] == [
            {
                "day": today.isoformat(),
                "on_linkedin": 1,
                "by_push": 0,
                "only_by_pull": 1,
                "duplicates": 0,
            }
        ]
        unknown = await api.get("/api/forms/999999/reconciliation")
        assert unknown.status_code == 404
        assert (await api.get(f"/api/forms/{FORM}/reconciliation?days=0")).status_code == 422
        assert (await api.get(f"/api/forms/{FORM}/reconciliation?days=367")).status_code == 422
    async with admin_client(settings, token=other.token) as api:
        theirs = (await api.get(f"/api/forms/{FORM}/reconciliation?days=1")).json()["days"]
        assert theirs == [
            {
                "day": today.isoformat(),
                "on_linkedin": 1,
                "by_push": 0,
                "only_by_pull": 1,
                "duplicates": 0,
            }
        ]


def test_the_import_counts_pulled_leads_only() -> None:
    lead = Lead.model_validate_json(LEAD_EXAMPLE.read_text())
    pushed = RawLead(lead=lead, origin=Origin.PUSH, account_id=3)
    scheduled = RawLead(lead=lead, origin=Origin.SCHEDULE, account_id=3)
    manual = RawLead(lead=lead, origin=Origin.MANUAL, account_id=4)
    found = pull_sightings([pushed, scheduled, manual])
    form_id, _ = lead.form_version()
    day = datetime.fromtimestamp(lead.submitted_at / 1000, UTC).date()
    assert found == [
        Sighting(3, form_id, lead.id, day, PULL),
        Sighting(4, form_id, lead.id, day, PULL),
    ]
