"""Contacts filtered by their LinkedIn fields and dynamic audiences, through the admin API on
the real database (and, for the audience that grows, the real worker and broker), as an
account sees them with its API token. Each test has an account of its own, so what a filter
finds is exactly what the test made."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from admin.app import create_app
from harness.processes import Worker
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.linkedin import Lead
from sinks.forms import register_from_leads
from tests.integration.admin_client import AccountWithToken, hold_for_session, new_account
from tests.integration.produce import envelope, lead_for, publish_raw

Conn = AsyncConnection[tuple[Any, ...]]
AD_ACCOUNT, OTHER_AD_ACCOUNT = "urn:li:sponsoredAccount:1234567", "urn:li:sponsoredAccount:765"
CAMPAIGN, OTHER_CAMPAIGN = "urn:li:sponsoredCampaign:198356826", "urn:li:sponsoredCampaign:42"


@asynccontextmanager
async def _client(settings: Settings, token: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://admin.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client
    finally:
        app.state.request_publisher.close()
        await app.state.database.close()


@dataclass
class Side:
    """An account as the tests use it: its API client and a connection inserting its rows."""

    account: AccountWithToken
    client: httpx.AsyncClient
    db: Conn


@asynccontextmanager
async def _side(settings: Settings, prefix: str) -> AsyncIterator[Side]:
    account = await new_account(settings, prefix)
    async with (
        _client(settings, account.token) as client,
        await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as db,
    ):
        await hold_for_session(db, account.id)
        yield Side(account, client, db)


@pytest.fixture
async def mine(settings: Settings) -> AsyncIterator[Side]:
    async with _side(settings, "audiences") as side:
        yield side


@pytest.fixture
async def theirs(settings: Settings) -> AsyncIterator[Side]:
    async with _side(settings, "other") as side:
        yield side


async def _form(db: Conn, name: str, *, enabled: bool = True) -> int:
    """A form discovered from the example lead (its consent 0 included), named ``name``."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [lead], auto_mappings)
    await db.execute(
        "UPDATE forms SET name = %s, owner_name = 'Acme Ads', import_enabled = %s,"
        " import_enabled_at = CASE WHEN %s THEN now() END"
        " WHERE id = %s AND account_id = leadsync_account()",
        (name, enabled, enabled, form_id),
    )
    return form_id


async def _contact(
    db: Conn,
    email: str,
    *,
    imported: bool = True,
    import_date: datetime | None = None,
    custom: dict[str, Any] | None = None,
    first_name: str | None = None,
) -> str:
    cur = await db.execute(
        "INSERT INTO contacts (email, first_name, custom_fields, linkedin_imported,"
        " linkedin_import_date, sources) VALUES (%s, %s, %s, %s, %s, '{linkedin}') RETURNING id",
        (
            email,
            first_name,
            Jsonb(custom or {}),
            imported,
            import_date or datetime.now(UTC),
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def _submission(
    db: Conn,
    contact: str,
    form_id: int,
    form_name: str,
    *,
    test_lead: bool = False,
    owner: str = AD_ACCOUNT,
    campaign: str = CAMPAIGN,
    consents: dict[int, bool] | None = None,
    submitted_at: datetime | None = None,
) -> None:
    await db.execute(
        "INSERT INTO form_submissions (contact_id, form_id, lead_id, form_name, form_version,"
        " owner_urn, campaign_urn, campaign_name, lead_type, test_lead, submitted_at, consents,"
        " raw_lead)"
        " VALUES (%s, %s, %s, %s, 1, %s, %s, %s, 'SPONSORED', %s, %s, %s, %s)",
        (
            uuid.UUID(contact),
            form_id,
            f"lead-{uuid.uuid4().hex[:8]}",
            form_name,
            owner,
            campaign,
            f"Campaign {campaign.rsplit(':', 1)[-1]}",
            test_lead,
            submitted_at or datetime.now(UTC),
            Jsonb([{"consentId": k, "accepted": v} for k, v in (consents or {}).items()]),
            Jsonb({}),
        ),
    )


async def _ids(client: httpx.AsyncClient, **params: Any) -> set[str]:
    response = await client.get("/api/contacts", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {contact["id"] for contact in response.json()["contacts"]}


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["message"]
    return body


async def _audience(client: httpx.AsyncClient, name: str, **where: Any) -> dict[str, Any]:
    response = await client.post("/api/audiences", json={"name": name, "filter": where})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _count(client: httpx.AsyncClient, audience_id: str) -> int:
    response = await client.get(f"/api/audiences/{audience_id}")
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


# -- the filters ---------------------------------------------------------------------------


async def test_each_linkedin_field_filters_the_contacts(mine: Side) -> None:
    test_form, other_form = await _form(mine.db, "Test Form"), await _form(mine.db, "Webinar")
    # A: a test submission of Test Form, its consent checked.
    a = await _contact(mine.db, "a@example.com")
    await _submission(mine.db, a, test_form, "Test Form", test_lead=True, consents={0: True})
    # B: a real submission of Test Form (another ad account and campaign), consent refused;
    # imported in January.
    b = await _contact(mine.db, "b@example.com", import_date=datetime(2026, 1, 15, tzinfo=UTC))
    await _submission(
        mine.db,
        b,
        test_form,
        "Test Form",
        owner=OTHER_AD_ACCOUNT,
        campaign=OTHER_CAMPAIGN,
        consents={0: False},
    )
    # C: a test submission of the webinar (consent 1 checked) and a real one of Test Form.
    c = await _contact(mine.db, "c@example.com")
    await _submission(
        mine.db, c, other_form, "Webinar", test_lead=True, consents={0: False, 1: True}
    )
    await _submission(mine.db, c, test_form, "Test Form", consents={0: False})
    # D: a contact leadsync did not import (no submission).
    d = await _contact(mine.db, "d@example.com", imported=False)
    client = mine.client

    assert await _ids(client) == {a, b, c, d}
    assert await _ids(client, imported="true") == {a, b, c}
    assert await _ids(client, imported="false") == {d}
    january = {"imported_from": "2026-01-01T00:00:00Z", "imported_to": "2026-02-01"}
    assert await _ids(client, **january) == {b}
    assert await _ids(client, imported_from="2026-02-01") == {a, c, d}
    assert await _ids(client, form_id=test_form) == {a, b, c}
    assert await _ids(client, form_name="webinar") == {c}
    assert await _ids(client, ad_account="765") == {b}
    assert await _ids(client, ad_account=AD_ACCOUNT) == {a, c}
    assert await _ids(client, campaign="42") == {b}
    assert await _ids(client, test_lead="true") == {a, c}
    assert await _ids(client, test_lead="false") == {b, c}
    assert await _ids(client, consent_given="true") == {a, c}
    assert await _ids(client, consent_given="false") == {b, c}
    # The seed's example: test submissions of Test Form. C's test lead is of another form.
    assert await _ids(client, form_name="Test Form", test_lead="true") == {a}
    # The submission filters hold on one submission: C checked a consent, not on Test Form.
    assert await _ids(client, form_id=test_form, consent_given="true") == {a}
    assert await _ids(client, form_id=other_form, consent_given="true", consent_id=1) == {c}
    assert await _ids(client, form_id=other_form, consent_given="true", consent_id=0) == set()
    assert await _ids(client, form_id=other_form, consent_given="false", consent_id=0) == {c}
    # An empty box of the console's form is no condition.
    assert await _ids(client, form_name="", test_lead="", imported="true") == {a, b, c}


async def test_the_filter_choices_are_the_accounts_forms_consents_and_campaigns(
    mine: Side, theirs: Side
) -> None:
    form = await _form(mine.db, "Test Form")
    contact = await _contact(mine.db, "a@example.com")
    await _submission(mine.db, contact, form, "Test Form", campaign=OTHER_CAMPAIGN)
    await _form(theirs.db, "Their form")

    response = await mine.client.get("/api/contacts/filter-choices")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "forms": [
            {
                "id": form,
                "name": "Test Form",
                "owner_urn": AD_ACCOUNT,
                "owner_name": "Acme Ads",
                "consents": [{"id": 0, "text": "Acconsento a ricevere email", "required": False}],
            }
        ],
        "ad_accounts": [{"urn": AD_ACCOUNT, "name": "Acme Ads"}],
        "campaigns": [{"urn": OTHER_CAMPAIGN, "name": "Campaign 42"}],
    }


async def test_a_filter_that_cannot_be_is_refused_with_the_reason(mine: Side) -> None:
    client = mine.client
    cases: list[tuple[dict[str, str], str]] = [
        ({"imported_from": "2026-02-01", "imported_to": "2026-01-01"}, "before imported_to"),
        ({"consent_id": "1", "form_id": "7"}, "give consent_given"),
        ({"consent_id": "1", "consent_given": "true"}, "form_id or form_name"),
        ({"ad_account": "acme"}, "numeric id"),
        ({"test_leads": "true"}, "test_leads"),  # misspelt: never "every contact"
        ({"form_id": "0"}, "form_id"),
        ({"limit": "0"}, "limit"),
    ]
    for params, says in cases:
        body = _error(await client.get("/api/contacts", params=params), 422, "invalid_request")
        assert says in body["message"], (params, body)


# -- audiences ------------------------------------------------------------------------------


async def test_an_audience_is_saved_listed_renamed_refiltered_and_deleted(mine: Side) -> None:
    form = await _form(mine.db, "Test Form")
    contacts = [await _contact(mine.db, f"m{n}@example.com") for n in range(5)]
    for n, contact in enumerate(contacts):
        await _submission(mine.db, contact, form, "Test Form", test_lead=n < 3)
    client = mine.client

    created = await _audience(client, "Test leads", form_id=form, test_lead=True)
    assert created["name"] == "Test leads"
    assert created["filter"] == {"form_id": form, "test_lead": True}
    assert created["count"] == 3
    other = await _audience(client, "Everyone")  # an empty filter: every contact
    assert other["count"] == 5

    listed = (await client.get("/api/audiences")).json()["audiences"]
    assert [(a["name"], a["count"]) for a in listed] == [("Everyone", 5), ("Test leads", 3)]
    one = await client.get(f"/api/audiences/{created['id']}")
    assert one.json() == created

    # Members: pages like /api/contacts, none skipped or repeated.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get(f"/api/audiences/{created['id']}/members", params=params)
        assert page.status_code == 200, page.text
        seen += [contact["id"] for contact in page.json()["contacts"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == contacts[:3]

    renamed = await client.patch(f"/api/audiences/{created['id']}", json={"name": " Real leads "})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["count"]) == ("Real leads", 3)
    refiltered = await client.patch(
        f"/api/audiences/{created['id']}", json={"filter": {"form_id": form, "test_lead": False}}
    )
    assert refiltered.status_code == 200, refiltered.text
    assert refiltered.json()["name"] == "Real leads"
    assert refiltered.json()["filter"] == {"form_id": form, "test_lead": False}
    assert refiltered.json()["count"] == 2
    assert refiltered.json()["updated_at"] > created["updated_at"]

    deleted = await client.delete(f"/api/audiences/{created['id']}")
    assert deleted.status_code == 204
    _error(await client.get(f"/api/audiences/{created['id']}"), 404, "not_found")
    _error(await client.delete(f"/api/audiences/{created['id']}"), 404, "not_found")
    assert [a["name"] for a in (await client.get("/api/audiences")).json()["audiences"]] == [
        "Everyone"
    ]
    assert await _ids(client, form_id=form) == set(contacts)  # its contacts stay


async def test_the_seed_example_audience_grows_when_a_matching_lead_arrives(
    settings: Settings, worker: Worker, mine: Side
) -> None:
    """ "Contacts from test submissions of Test Form", saved, then a lead comes in."""
    form = await _form(mine.db, "Test Form")
    audience = await _audience(
        mine.client, "Tested Test Form", form_name="Test Form", test_lead=True
    )
    assert audience["count"] == 0

    def publish(email: str, test_lead: bool) -> None:
        lead = lead_for(
            f"lead-{uuid.uuid4().hex[:8]}", email, form_id=form, test_lead=test_lead,
            form_name="Test Form",
        )  # fmt: skip
        publish_raw(settings, envelope(lead, account_id=mine.account.id))
        worker.settle()

    publish("tester@example.com", test_lead=True)
    assert await _count(mine.client, audience["id"]) == 1
    publish("real@example.com", test_lead=False)  # not a test lead: not a member
    assert await _count(mine.client, audience["id"]) == 1
    publish("second-tester@example.com", test_lead=True)
    assert await _count(mine.client, audience["id"]) == 2
    members = await mine.client.get(f"/api/audiences/{audience['id']}/members")
    assert [c["email"] for c in members.json()["contacts"]] == [
        "tester@example.com",
        "second-tester@example.com",
    ]
    listed = (await mine.client.get("/api/audiences")).json()["audiences"]
    assert [a["count"] for a in listed] == [2]


async def test_another_accounts_audience_is_404_and_its_contacts_never_counted(
    mine: Side, theirs: Side
) -> None:
    secret = f"secret-{uuid.uuid4().hex[:8]}"
    their_form = await _form(theirs.db, "Test Form")
    for n in range(3):
        contact = await _contact(theirs.db, f"{secret}-{n}@example.com")
        await _submission(theirs.db, contact, their_form, "Test Form", test_lead=True)
    theirs_audience = await _audience(theirs.client, secret, form_name="Test Form", test_lead=True)
    assert theirs_audience["count"] == 3
    my_form = await _form(mine.db, "Test Form")
    contact = await _contact(mine.db, "mine@example.com")
    await _submission(mine.db, contact, my_form, "Test Form", test_lead=True)

    # The same filter, and every contact: only the account's own.
    same = await _audience(mine.client, "Tested Test Form", form_name="Test Form", test_lead=True)
    everyone = await _audience(mine.client, "Everyone")
    assert (same["count"], everyone["count"]) == (1, 1)
    export = await mine.client.get(f"/api/audiences/{everyone['id']}/members.csv")
    assert secret not in export.text
    members = await mine.client.get(f"/api/audiences/{everyone['id']}/members")
    assert [c["id"] for c in members.json()["contacts"]] == [contact]
    # A name is the account's own: theirs is free here.
    assert (
        await mine.client.post("/api/audiences", json={"name": secret, "filter": {}})
    ).status_code == 201

    path = f"/api/audiences/{theirs_audience['id']}"
    for method, url, body in (
        ("GET", path, None),
        ("PATCH", path, {"name": "taken over"}),
        ("DELETE", path, None),
        ("GET", f"{path}/members", None),
        ("GET", f"{path}/members.csv", None),
    ):
        response = await mine.client.request(method, url, json=body)
        _error(response, 404, "not_found")
        assert secret not in response.text
    listed = (await mine.client.get("/api/audiences")).json()["audiences"]
    assert theirs_audience["id"] not in {a["id"] for a in listed}
    # Untouched, and still theirs with its members.
    assert (await theirs.client.get(path)).json() == theirs_audience


async def test_the_members_csv_has_every_member_with_safe_cells(mine: Side) -> None:
    await mine.db.execute(
        "INSERT INTO contact_fields (key, label, type) VALUES ('interests', 'Interests',"
        " 'multiple_choice'), ('budget', 'Budget', 'number')"
    )
    form, webinar = await _form(mine.db, "Test Form"), await _form(mine.db, "Webinar")
    ada = await _contact(
        mine.db,
        "ada@example.com",
        first_name='=HYPERLINK("http://evil")',
        custom={"interests": ["Kafka", "PostgreSQL"], "budget": 1200},
        import_date=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    await _submission(
        mine.db, ada, webinar, "Webinar", test_lead=True,
        submitted_at=datetime(2026, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    await _submission(
        mine.db, ada, form, "Test Form", test_lead=True,
        submitted_at=datetime(2026, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    not_member = await _contact(mine.db, "bob@example.com")
    await _submission(mine.db, not_member, form, "Test Form", test_lead=False)
    audience = await _audience(mine.client, "Tests", test_lead=True)

    response = await mine.client.get(f"/api/audiences/{audience['id']}/members.csv")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="leadsync-audience-{audience["id"]}-'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    (row,) = rows
    assert list(row)[:3] == ["id", "email", "work_email"]
    assert list(row)[-7:] == [
        "budget",
        "interests",
        "linkedin_imported",
        "linkedin_import_date",
        "linkedin_forms_filled",
        "created_at",
        "updated_at",
    ]
    assert row["id"] == ada
    assert row["email"] == "ada@example.com"
    assert row["first_name"] == '\'=HYPERLINK("http://evil")'  # shown as text, never run
    assert (row["budget"], row["interests"]) == ("1200", "Kafka; PostgreSQL")
    assert row["linkedin_imported"] == "true"
    assert row["linkedin_import_date"] == "2026-03-01T09:30:00+00:00"
    assert row["linkedin_forms_filled"] == "Webinar; Test Form"
    assert row["last_name"] == ""


async def test_an_audience_name_or_filter_that_cannot_be_is_refused(mine: Side) -> None:
    client = mine.client
    taken = await _audience(client, "Test leads", test_lead=True)
    other = await _audience(client, "Real leads", test_lead=False)

    for body, status, code, says in (
        ({"name": "TEST LEADS", "filter": {}}, 409, "name_taken", "exists already"),
        ({"name": "  ", "filter": {}}, 422, "invalid_request", "body.name"),
        ({"name": "x" * 201, "filter": {}}, 422, "invalid_request", "body.name"),
        ({"name": "No filter"}, 422, "invalid_request", "body.filter"),
        (
            {"name": "Typo", "filter": {"test_leads": True}},
            422,
            "invalid_request",
            "body.filter.test_leads",
        ),
        (
            {
                "name": "Backwards",
                "filter": {"imported_from": "2026-02-01", "imported_to": "2026-01-01"},
            },
            422,
            "invalid_request",
            "imported_from must be before imported_to",
        ),
        (
            {"name": "Which consent", "filter": {"consent_id": 1, "consent_given": True}},
            422,
            "invalid_request",
            "give form_id or form_name too",
        ),
    ):
        response = await client.post("/api/audiences", json=body)
        error = _error(response, status, code)
        assert says in error["message"], (body, error)

    path = f"/api/audiences/{other['id']}"
    _error(await client.patch(path, json={"name": "test LEADS"}), 409, "name_taken")
    _error(await client.patch(path, json={}), 422, "invalid_request")
    _error(
        await client.patch(path, json={"filter": {"campaign": "spring"}}), 422, "invalid_request"
    )
    _error(
        await client.patch(f"/api/audiences/{uuid.uuid4()}", json={"name": "Nobody"}),
        404,
        "not_found",
    )
    _error(await client.get("/api/audiences/not-an-id"), 422, "invalid_request")
    _error(await client.get(f"{path}/members", params={"cursor": "nope"}), 400, "invalid_cursor")
    # Nothing changed by the refusals.
    listed = (await client.get("/api/audiences")).json()["audiences"]
    assert [(a["name"], a["filter"]) for a in listed] == [
        ("Real leads", {"test_lead": False}),
        ("Test leads", {"test_lead": True}),
    ]
    assert taken["name"] == "Test leads"


async def test_the_audiences_statuses_are_documented(mine: Side) -> None:
    document = (await mine.client.get("/openapi.json")).json()
    paths = document["paths"]
    statuses = {
        (method.upper(), path): set(operation["responses"])
        for path, operations in paths.items()
        if path.startswith("/api/audiences")
        for method, operation in operations.items()
    }
    assert statuses[("POST", "/api/audiences")] >= {"201", "409", "422"}
    assert statuses[("GET", "/api/audiences/{audience_id}")] >= {"200", "404", "422"}
    assert statuses[("PATCH", "/api/audiences/{audience_id}")] >= {"200", "404", "409", "422"}
    assert statuses[("DELETE", "/api/audiences/{audience_id}")] >= {"204", "404"}
    assert statuses[("GET", "/api/audiences/{audience_id}/members")] >= {"200", "400", "404"}
    assert statuses[("GET", "/api/audiences/{audience_id}/members.csv")] >= {"200", "404"}
    # Every route needs the account's token.
    for method, path in statuses:
        response = await mine.client.request(
            method, path.replace("{audience_id}", str(uuid.uuid4())), headers={"Authorization": ""}
        )
        _error(response, 401, "unauthorized")
