"""Field provenance and the re-import that uses it (issue #13): each field names the lead,
form and mapping version that wrote it; a manual import with "sync already-imported contacts
too" re-applies a form with its current mapping, clears what the form wrote through a
mapping that no longer points there (unless another source wrote it since), and every
contact it syncs again gets one event, restart request and reason included."""

from __future__ import annotations

import json
import uuid
from typing import Any

from psycopg import AsyncConnection

from harness.processes import Worker
from leadsync.settings import Settings
from schemas.mappings import FieldMapping, SourceKind
from sinks.database import hold_accounts
from sinks.forms import set_import
from sinks.mappings_store import lock_form, replace_mappings
from tests.integration.admin_client import admin_client, new_account
from tests.integration.produce import envelope, lead_for, publish_raw, settings_account
from tests.integration.topics import read_topic

Conn = AsyncConnection[tuple[Any, ...]]

Mapping = tuple[SourceKind, str, str]
EMAIL: Mapping = ("predefined", "EMAIL", "email")
COLOUR_QUESTION = "707234246"  # the example form's choice question ("Colore preferito")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _all(db: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    cur = await db.execute(query, params)
    return await cur.fetchall()


async def _form(db: Conn, account: int, *mappings: Mapping) -> int:
    """A new form of the account with Import on and these mappings (source kind, source
    key, field), saved as the admin API saves them."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    async with db.transaction():
        await hold_accounts(db, [account])
        await set_import(db, form_id, True)
    await _map(db, account, form_id, *mappings)
    return form_id


async def _map(db: Conn, account: int, form_id: int, *mappings: Mapping) -> None:
    """PUT /api/forms/{id}/mappings: the form locked, its whole set replaced."""
    async with db.transaction():
        await hold_accounts(db, [account])
        assert await lock_form(db, form_id)
        await replace_mappings(db, form_id, [FieldMapping(*m) for m in mappings])


async def _version(db: Conn, account: int, form_id: int) -> int:
    rows = await _all(
        db, "SELECT mapping_version FROM forms WHERE account_id = %s AND id = %s", account, form_id
    )
    return int(rows[0][0])


async def _contact(db: Conn, account: int, email: str) -> dict[str, Any]:
    cur = await db.execute(
        "SELECT id, first_name, last_name, custom_fields, field_sources FROM contacts"
        " WHERE account_id = %s AND email = %s",
        (account, email),
    )
    row = await cur.fetchone()
    assert row is not None, email
    names = ("id", "first_name", "last_name", "custom_fields", "field_sources")
    return dict(zip(names, row, strict=True))


def _events_of(settings: Settings, contact_id: Any) -> list[dict[str, Any]]:
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.contact_changes)
    events = [json.loads(value) for _, value in records]
    return [e for e in events if e["subject"] == str(contact_id)]


def _values_changed(event: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The event's changes but the import date (which every import moves)."""
    return [
        (c["field"], c["before"], c["after"])
        for c in event["data"]["changes"]
        if c["field"] != "linkedin_import_date"
    ]


def _reimport(
    lead: dict[str, Any], run: uuid.UUID, account: int, **options: bool
) -> dict[str, Any]:
    """The lead as a manual import with option 1 publishes it (of run ``run``)."""
    value = envelope(lead, "manual", account_id=account, reimport_existing=True, **options)
    return {**value, "sync_run_id": str(run)}


async def test_each_field_names_what_wrote_it_and_the_api_shows_it(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    account = await new_account(settings, "prov")
    await db.execute(
        "INSERT INTO contact_fields (account_id, key, label, type) VALUES (%s, %s, %s, 'text')",
        (account.id, "favourite_colour", "Favourite colour"),
    )
    form = await _form(
        db, account.id, EMAIL, ("predefined", "FIRST_NAME", "first_name"),
        ("question", COLOUR_QUESTION, "favourite_colour"),
    )  # fmt: skip
    email = f"{_unique('prov')}@example.com"
    lead_id = _unique("prov")
    publish_raw(
        settings, envelope(lead_for(lead_id, email, form_id=form), account_id=account.id)
    )  # the example lead answers "Blu" (option 1) to the colour question
    worker.settle()

    contact = await _contact(db, account.id, email)
    assert (contact["first_name"], contact["custom_fields"]) == ("Ada", {"favourite_colour": "Blu"})
    sources = contact["field_sources"]
    assert sorted(sources) == ["favourite_colour", "first_name"]
    written_at = sources["first_name"].pop("at")
    assert sources["favourite_colour"].pop("at") == written_at
    assert sources == {
        "first_name": {
            "form_id": form,
            "lead_id": lead_id,
            "mapping_version": 2,
            "mapping_source": "predefined:FIRST_NAME",
            "value": "Ada",
        },
        "favourite_colour": {
            "form_id": form,
            "lead_id": lead_id,
            "mapping_version": 2,
            "mapping_source": f"question:{COLOUR_QUESTION}",
            "value": "Blu",
        },
    }  # fmt: skip  (version 1 as the form was made, 2 once its mappings were saved)

    # Another system renames the person: the value is no longer leadsync's.
    await db.execute("UPDATE contacts SET first_name = 'Adele' WHERE id = %s", (contact["id"],))
    async with admin_client(settings, account.token) as client:
        answer = await client.get(f"/api/contacts/{contact['id']}")
        assert answer.status_code == 200, answer.text
        shown = answer.json()["field_sources"]
        listed = (await client.get("/api/contacts", params={"form_id": form})).json()
    assert listed["contacts"][0]["field_sources"] == shown
    assert sorted(shown) == ["favourite_colour", "first_name"]
    assert shown["favourite_colour"]["written_at"] is not None
    assert {k: v for k, v in shown["favourite_colour"].items() if k != "written_at"} == {
        "source": "linkedin", "value": "Blu", "form_id": form, "lead_id": lead_id,
        "mapping_version": 2, "mapping_source": f"question:{COLOUR_QUESTION}",
        "written_value": "Blu",
    }  # fmt: skip
    assert {k: v for k, v in shown["first_name"].items() if k != "written_at"} == {
        "source": "other", "value": "Adele", "form_id": form, "lead_id": lead_id,
        "mapping_version": 2, "mapping_source": "predefined:FIRST_NAME", "written_value": "Ada",
    }  # fmt: skip


async def test_a_reimport_after_a_mapping_fix_moves_values_and_clears_only_what_is_still_its(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    account = settings_account(settings)
    wrong: Mapping = ("predefined", "FIRST_NAME", "last_name")  # first name as last name
    form = await _form(db, account, EMAIL, wrong)
    other_form = await _form(db, account, EMAIL, ("predefined", "FIRST_NAME", "last_name"))
    people = {name: f"{_unique(name.lower())}@example.com" for name in ("Ann", "Bob", "Cid")}
    leads = {
        name: lead_for(_unique(name), email, form_id=form, first_name=name)
        for name, email in people.items()
    }
    publish_raw(settings, *[envelope(lead) for lead in leads.values()])
    worker.settle()
    for name, email in people.items():
        contact = await _contact(db, account, email)
        assert (contact["first_name"], contact["last_name"]) == (None, name)
    ids = {name: (await _contact(db, account, email))["id"] for name, email in people.items()}
    # Since then: another system set Bob's last name, and Cid filled another form, later,
    # whose (own) mapping writes his last name.
    await db.execute("UPDATE contacts SET last_name = 'Builder' WHERE id = %s", (ids["Bob"],))
    later = lead_for(
        _unique("cid-b"), people["Cid"], form_id=other_form, first_name="Cidney",
        submitted_at=1_700_000_900_000,
    )  # fmt: skip
    publish_raw(settings, envelope(later))
    worker.settle()
    assert (await _contact(db, account, people["Cid"]))["last_name"] == "Cidney"
    seen = {name: len(_events_of(settings, ids[name])) for name in people}

    # The mapping is fixed (saved twice: the same set again is no new version).
    right: Mapping = ("predefined", "FIRST_NAME", "first_name")
    await _map(db, account, form, EMAIL, right)
    await _map(db, account, form, EMAIL, right)
    assert await _version(db, account, form) == 3
    run = uuid.uuid4()
    publish_raw(settings, *[_reimport(lead, run, account) for lead in leads.values()])
    worker.settle()

    state = {}
    for name, email in people.items():
        contact = await _contact(db, account, email)
        state[name] = (contact["first_name"], contact["last_name"])
    assert state == {
        "Ann": ("Ann", None),  # moved: the form wrote it, nobody since
        "Bob": ("Bob", "Builder"),  # another system's value stays
        "Cid": ("Cid", "Cidney"),  # another form's value stays; the older lead still re-applied
    }
    ann = await _contact(db, account, people["Ann"])
    assert sorted(ann["field_sources"]) == ["first_name"]
    assert ann["field_sources"]["first_name"]["mapping_version"] == 3
    assert ann["field_sources"]["first_name"]["lead_id"] == leads["Ann"]["id"]

    changes = {}
    for name in people:
        events = _events_of(settings, ids[name])[seen[name] :]
        assert len(events) == 1, (name, events)  # one event per contact synced again
        data = events[0]["data"]
        assert (data["cause"], data["sync_run_id"], data["restart_workflows"]) == (
            "manual", str(run), False,
        )  # fmt: skip
        assert data["reason"] == (
            f"synced again by manual import {run} (sync existing contacts)"
            f" with form {form}'s current mapping"
        )
        changes[name] = _values_changed(events[0])
    assert changes == {
        "Ann": [("first_name", None, "Ann"), ("last_name", "Ann", None)],
        "Bob": [("first_name", None, "Bob")],
        "Cid": [("first_name", None, "Cid")],
    }


async def test_restart_workflows_is_never_swallowed_by_the_age_guard(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    account = settings_account(settings)
    first_name: Mapping = ("predefined", "FIRST_NAME", "first_name")
    form, other_form = (
        await _form(db, account, EMAIL, first_name),
        await _form(db, account, EMAIL, first_name),
    )
    email = f"{_unique('restart')}@example.com"
    lead = lead_for(_unique("restart"), email, form_id=form, first_name="Ada")
    newer = lead_for(
        _unique("newer"), email, form_id=other_form, first_name="Ada",
        submitted_at=1_700_000_900_000,
    )  # fmt: skip
    publish_raw(settings, envelope(lead))
    worker.settle()
    publish_raw(settings, envelope(newer))
    worker.settle()
    contact_id = (await _contact(db, account, email))["id"]
    seen = len(_events_of(settings, contact_id))

    # The contact's data is newer than the lead, and the lead changes nothing on it.
    run = uuid.uuid4()
    publish_raw(settings, _reimport(lead, run, account, restart_workflows=True))
    worker.settle()

    events = _events_of(settings, contact_id)[seen:]
    assert len(events) == 1, events
    assert events[0]["type"] == "com.leadsync.contact.updated"
    data = events[0]["data"]
    assert (data["restart_workflows"], data["cause"], data["sync_run_id"]) == (
        True, "manual", str(run),
    )  # fmt: skip
    assert data["reason"] == (
        f"synced again by manual import {run} (sync existing contacts, restart workflows)"
        f" with form {form}'s current mapping"
    )
    assert data["submission"]["lead_id"] == lead["id"]
    assert [c["field"] for c in data["changes"]] == ["linkedin_import_date"]
    assert (await _contact(db, account, email))["first_name"] == "Ada"


async def test_only_a_forms_latest_submission_is_reapplied_and_it_overwrites(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    account = settings_account(settings)
    form = await _form(db, account, EMAIL, ("predefined", "FIRST_NAME", "first_name"))
    email = f"{_unique('twice')}@example.com"
    old = lead_for(_unique("old"), email, form_id=form, first_name="Old")
    new = lead_for(
        _unique("new"), email, form_id=form, first_name="New", submitted_at=1_700_000_500_000
    )
    publish_raw(settings, envelope(old), envelope(new))
    worker.settle()
    contact_id = (await _contact(db, account, email))["id"]
    await db.execute("UPDATE contacts SET first_name = 'Changed' WHERE id = %s", (contact_id,))
    seen = len(_events_of(settings, contact_id))

    # "Every submission of the form" (restarting workflows): the older one too, here after
    # the newer one, in a batch of its own.
    run = uuid.uuid4()
    publish_raw(settings, _reimport(new, run, account, restart_workflows=True))
    worker.settle()
    publish_raw(settings, _reimport(old, run, account, restart_workflows=True))
    worker.settle()

    contact = await _contact(db, account, email)
    assert contact["first_name"] == "New"
    assert contact["field_sources"]["first_name"]["lead_id"] == new["id"]
    # Re-synced once: one event, by the form's latest submission.
    events = _events_of(settings, contact_id)[seen:]
    assert [
        (e["data"]["submission"]["lead_id"], e["data"]["restart_workflows"]) for e in events
    ] == [(new["id"], True)]
    assert _values_changed(events[0]) == [("first_name", "Changed", "New")]
