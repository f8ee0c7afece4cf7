"""The import pipeline's rules on the real broker and database (architecture.md 3-5), for
the test account (``account``), and what keeps accounts apart on the way."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from psycopg import AsyncConnection

from harness.processes import Worker, leadsync
from leadsync.kafka.producing import publish_all
from leadsync.settings import Settings
from sinks.accounts import disable_account
from sinks.database import hold_accounts
from sinks.forms import set_import
from streams.lead_batches import NO_ACCOUNT_MESSAGE
from tests.integration.produce import (
    envelope,
    erase_request,
    lead_for,
    make_account,
    publish_raw,
    settings_account,
)
from tests.integration.topics import read_topic

Conn = AsyncConnection[tuple[Any, ...]]


@pytest.fixture(scope="module")
def account(settings: Settings) -> int:
    """The account the tests' leads are published for (the settings' one)."""
    return settings_account(settings)


@pytest.fixture(scope="module")
def other_account(settings: Settings) -> int:
    """A second account, connected (say) to the same ad account as the first."""
    return make_account(settings, _unique("globex"))


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _switch(db: Conn, account: int, form_id: int, enabled: bool) -> None:
    """``leadsync forms import`` in the account: its own form, whatever others hold."""
    async with db.transaction():
        await hold_accounts(db, [account])
        await set_import(db, form_id, enabled)


async def _new_form(db: Conn, account: int, enabled: bool = True) -> int:
    """A new form of the account whose Import an operator switched."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    await _switch(db, account, form_id, enabled)
    return form_id


async def _all(db: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    cur = await db.execute(query, params)
    return await cur.fetchall()


async def _counters(db: Conn, form_id: int, account: int | None = None) -> tuple[Any, ...]:
    """The form's counters (in the account; forms of these tests are in one, unless said)."""
    rows = await _all(
        db,
        "SELECT imported, updated, errors, skipped FROM form_counters"
        " WHERE form_id = %s AND account_id = coalesce(%s, account_id)",
        form_id,
        account,
    )
    assert len(rows) == 1, rows
    return rows[0]


def _keyed_events(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """Every event on the contact-changes topic so far, with its key."""
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.contact_changes)
    return [((key or b"").decode(), json.loads(value)) for key, value in records]


def _events(settings: Settings) -> list[dict[str, Any]]:
    """Every event on the contact-changes topic so far."""
    return [event for _, event in _keyed_events(settings)]


async def test_same_person_through_two_forms_is_one_contact_with_two_submissions(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('two-forms')}@example.com"
    form_a, form_b = await _new_form(db, account), await _new_form(db, account)
    publish_raw(
        settings,
        envelope(lead_for(_unique("a"), email, form_id=form_a, first_name="Ann")),
        envelope(
            lead_for(
                _unique("b"),
                email,
                form_id=form_b,
                first_name="Anne",
                submitted_at=1_700_000_100_000,
            )
        ),
    )
    worker.settle()

    assert await _all(db, "SELECT first_name FROM contacts WHERE email = %s", email) == [("Anne",)]
    forms = await _all(
        db,
        "SELECT s.form_id FROM form_submissions s JOIN contacts c ON c.id = s.contact_id"
        " WHERE c.email = %s ORDER BY s.form_id",
        email,
    )
    assert forms == sorted([(form_a,), (form_b,)])


async def test_same_form_twice_keeps_one_row_with_the_latest_submission(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('twice')}@example.com"
    form = await _new_form(db, account)
    first, second = _unique("first"), _unique("second")
    publish_raw(settings, envelope(lead_for(first, email, form_id=form, first_name="Old")))
    worker.settle()
    newer = lead_for(second, email, form_id=form, first_name="New", submitted_at=1_700_000_500_000)
    publish_raw(settings, envelope(newer))
    worker.settle()

    rows = await _all(
        db,
        "SELECT s.lead_id, c.first_name, s.raw_lead FROM form_submissions s"
        " JOIN contacts c ON c.id = s.contact_id WHERE c.email = %s",
        email,
    )
    assert rows == [(second, "New", newer)]  # raw_lead: the lead out of its envelope
    assert await _counters(db, form) == (1, 1, 0, 0)


async def test_an_older_lead_never_overwrites_a_newer_one(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('order')}@example.com"
    form = await _new_form(db, account)
    newer, older = _unique("newer"), _unique("older")
    publish_raw(
        settings,
        envelope(
            lead_for(newer, email, form_id=form, first_name="Newer", submitted_at=1_700_000_900_000)
        ),
    )
    worker.settle()
    publish_raw(
        settings,
        envelope(
            lead_for(older, email, form_id=form, first_name="Older", submitted_at=1_700_000_000_000)
        ),
    )
    worker.settle()

    rows = await _all(
        db,
        "SELECT c.first_name, s.lead_id FROM contacts c"
        " JOIN form_submissions s ON s.contact_id = c.id WHERE c.email = %s",
        email,
    )
    assert rows == [("Newer", newer)]
    # The older lead is in the ledger (it will not come again), but changed nothing.
    assert await _all(db, "SELECT count(*) FROM imported_leads WHERE lead_id = %s", older) == [(1,)]
    assert await _counters(db, form) == (1, 0, 0, 0)


async def test_a_mapping_error_is_logged_counted_and_the_partition_keeps_flowing(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    form = await _new_form(db, account)
    bad, good = _unique("no-email"), _unique("after-bad")
    bad_lead = lead_for(bad, "   ", form_id=form)
    good_email = f"{good}@example.com"
    # The same key puts both on one partition, the bad one first.
    publish_raw(
        settings,
        envelope(bad_lead),
        envelope(lead_for(good, good_email, form_id=form)),
        key=b"one-partition",
    )
    worker.settle()

    log = await _all(
        db, "SELECT account_id, stage, code, field, origin FROM error_log WHERE lead_id = %s", bad
    )
    assert log == [(account, "map", "identity_missing", "email", "push")]
    assert await _all(db, "SELECT count(*) FROM contacts WHERE email = %s", good_email) == [(1,)]
    assert await _counters(db, form) == (1, 0, 1, 0)
    # The failed lead is not in the ledger: a corrected mapping can import it later.
    assert await _all(db, "SELECT count(*) FROM imported_leads WHERE lead_id = %s", bad) == [(0,)]


async def test_an_undecodable_record_goes_to_the_operators_errors_with_its_bytes(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    marker = _unique("garbage")
    publish_raw(settings, f'{{"not a lead": "{marker}"'.encode())
    worker.settle()

    # It names no account, so no account's error log holds it.
    rows = await _all(
        db,
        "SELECT stage, code, raw_ref ->> 'topic' FROM pipeline_errors"
        " WHERE raw_ref ->> 'bytes' LIKE %s",
        f"%{marker}%",
    )
    assert rows == [("decode", "undecodable_record", settings.topics.leads_raw)]
    assert await _all(
        db, "SELECT count(*) FROM error_log WHERE raw_ref ->> 'bytes' LIKE %s", f"%{marker}%"
    ) == [(0,)]


async def test_an_undecodable_record_with_nul_bytes_is_logged_not_lost(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    """PostgreSQL's text and jsonb cannot hold NUL: the bytes shown in the log carry U+FFFD
    in its place (the fault run found the error agent crashing on it, losing the batch)."""
    marker = _unique("nul")
    publish_raw(settings, b"\x00\xff" + marker.encode() + b"\x00")
    worker.settle()

    rows = await _all(
        db,
        "SELECT code, raw_ref ->> 'bytes' FROM pipeline_errors WHERE raw_ref ->> 'bytes' LIKE %s",
        f"%{marker}%",
    )
    assert rows == [("undecodable_record", f"\ufffd\ufffd{marker}\ufffd")]
    assert "Crashed reason" not in worker.log_path.read_text(errors="replace")


async def test_an_error_event_postgresql_refuses_is_kept_without_its_details(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    """A form id beyond bigint (a bad producer) is refused by PostgreSQL: the event is still
    logged, reduced, and the good event beside it in the batch keeps every detail."""
    bad, good = uuid.uuid4(), uuid.uuid4()
    marker = _unique("refused")

    def event(error_id: uuid.UUID, form_id: int) -> bytes:
        return json.dumps(
            {"error_id": str(error_id), "occurred_at": "2026-12-06T12:00:00+00:00",
             "stage": "import", "code": "invalid_value", "message": marker,
             "account_id": account, "form_id": form_id, "lead_id": marker}
        ).encode()  # fmt: skip

    publish_all(
        settings, settings.topics.errors, [(b"e", event(bad, 2**70)), (b"e", event(good, 5))]
    )
    worker.settle()

    rows = await _all(
        db,
        "SELECT error_id, account_id, form_id, lead_id, message FROM error_log"
        " WHERE error_id = ANY(%s) ORDER BY form_id NULLS FIRST",
        [bad, good],
    )
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (bad, account, None, None),
        (good, account, 5, marker),
    ]
    assert "PostgreSQL refused" in rows[0][4]
    assert "Crashed reason" not in worker.log_path.read_text(errors="replace")


async def test_a_test_lead_is_imported_and_flagged_for_filters(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('tester')}@example.com"
    form = await _new_form(db, account)
    publish_raw(
        settings,
        envelope(
            lead_for(_unique("t"), email, form_id=form, test_lead=True, form_name="Test Form")
        ),
    )
    worker.settle()

    # "contacts whose submissions are test leads of form Test Form"
    rows = await _all(
        db,
        "SELECT c.email FROM contacts c JOIN form_submissions s ON s.contact_id = c.id"
        " WHERE s.test_lead AND s.form_name = 'Test Form' AND s.form_id = %s",
        form,
    )
    assert rows == [(email,)]


async def test_import_off_records_the_lead_as_skipped_not_as_an_error(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('skipped')}@example.com"
    form = await _new_form(db, account, enabled=False)
    lead_id = _unique("skip")
    publish_raw(settings, envelope(lead_for(lead_id, email, form_id=form)))
    worker.settle()

    assert await _all(db, "SELECT count(*) FROM contacts WHERE email = %s", email) == [(0,)]
    assert await _all(db, "SELECT form_id FROM skipped_leads WHERE lead_id = %s", lead_id) == [
        (form,)
    ]
    assert await _counters(db, form) == (0, 0, 0, 1)
    # A skipped lead is no import: the status indicator's "last import" stays empty.
    last = "SELECT last_imported_at IS NOT NULL FROM form_counters WHERE form_id = %s"
    assert await _all(db, last, form) == [(False,)]

    # Recoverable: once Import is on, the same lead (e.g. from a manual import) comes in.
    await _switch(db, account, form, True)
    publish_raw(settings, envelope(lead_for(lead_id, email, form_id=form), origin="manual"))
    worker.settle()
    assert await _all(db, "SELECT count(*) FROM contacts WHERE email = %s", email) == [(1,)]
    assert await _all(db, "SELECT count(*) FROM skipped_leads WHERE lead_id = %s", lead_id) == [
        (0,)
    ]
    assert await _all(db, last, form) == [(True,)]


async def test_reimport_option_applies_an_already_imported_lead_again(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('again')}@example.com"
    form = await _new_form(db, account)
    lead_id = _unique("again")
    publish_raw(settings, envelope(lead_for(lead_id, email, form_id=form, first_name="Wrong")))
    worker.settle()
    fixed = lead_for(lead_id, email, form_id=form, first_name="Right")
    publish_raw(settings, envelope(fixed, origin="manual"))  # plain re-delivery: ignored
    worker.settle()
    assert await _all(db, "SELECT first_name FROM contacts WHERE email = %s", email) == [("Wrong",)]

    publish_raw(
        settings,
        envelope(fixed, origin="manual", reimport_existing=True, restart_workflows=True),
    )
    worker.settle()
    assert await _all(db, "SELECT first_name FROM contacts WHERE email = %s", email) == [("Right",)]
    contact_id = (await _all(db, "SELECT id FROM contacts WHERE email = %s", email))[0][0]
    last = [e for e in _events(settings) if e["subject"] == str(contact_id)][-1]
    assert last["type"] == "com.leadsync.contact.updated"
    assert last["data"]["restart_workflows"] is True
    assert last["data"]["cause"] == "manual"
    assert {"field": "first_name", "before": "Wrong", "after": "Right"} in last["data"]["changes"]


async def test_a_deleted_lead_erases_its_submission_and_its_only_source_contact(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('erase')}@example.com"
    form = await _new_form(db, account)
    lead_id = _unique("erase")
    publish_raw(settings, envelope(lead_for(lead_id, email, form_id=form)))
    worker.settle()
    contact_id = (await _all(db, "SELECT id FROM contacts WHERE email = %s", email))[0][0]

    publish_raw(settings, erase_request(lead_id, form))
    worker.settle()

    assert await _all(db, "SELECT count(*) FROM contacts WHERE email = %s", email) == [(0,)]
    assert await _all(db, "SELECT count(*) FROM form_submissions WHERE lead_id = %s", lead_id) == [
        (0,)
    ]
    kinds = [e["type"] for e in _events(settings) if e["subject"] == str(contact_id)]
    assert kinds == ["com.leadsync.contact.created", "com.leadsync.contact.erased"]

    # The lead never comes back, even if a pull brings it again.
    publish_raw(settings, envelope(lead_for(lead_id, email, form_id=form), origin="schedule"))
    worker.settle()
    assert await _all(db, "SELECT count(*) FROM contacts WHERE email = %s", email) == [(0,)]


async def test_a_deleted_lead_keeps_a_contact_that_filled_another_form(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('keep')}@example.com"
    form_a, form_b = await _new_form(db, account), await _new_form(db, account)
    lead_a = _unique("a")
    publish_raw(
        settings,
        envelope(lead_for(lead_a, email, form_id=form_a)),
        envelope(lead_for(_unique("b"), email, form_id=form_b)),
    )
    worker.settle()
    publish_raw(settings, erase_request(lead_a, form_a))
    worker.settle()

    forms = await _all(
        db,
        "SELECT s.form_id FROM contacts c JOIN form_submissions s ON s.contact_id = c.id"
        " WHERE c.email = %s",
        email,
    )
    assert forms == [(form_b,)]


async def test_every_change_has_exactly_one_outbox_row_and_one_event(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    email = f"{_unique('events')}@example.com"
    form = await _new_form(db, account)
    publish_raw(settings, envelope(lead_for(_unique("e1"), email, form_id=form, first_name="A")))
    worker.settle()
    publish_raw(
        settings,
        envelope(
            lead_for(
                _unique("e2"), email, form_id=form, first_name="B", submitted_at=1_700_000_200_000
            )
        ),
    )
    worker.settle()

    contact_id = (await _all(db, "SELECT id FROM contacts WHERE email = %s", email))[0][0]
    outbox = await _all(
        db,
        "SELECT event_id::text, event_type FROM outbox WHERE contact_id = %s ORDER BY id",
        contact_id,
    )
    assert [kind for _, kind in outbox] == [
        "com.leadsync.contact.created",
        "com.leadsync.contact.updated",
    ]
    events = [e for e in _events(settings) if e["subject"] == str(contact_id)]
    assert [e["id"] for e in events] == [event_id for event_id, _ in outbox]
    created, updated = events
    assert created["specversion"] == "1.0"
    assert created["data"]["contact"]["email"] == email
    assert created["data"]["submission"]["form_id"] == form
    assert {"field": "first_name", "before": "A", "after": "B"} in updated["data"]["changes"]


async def test_counters_count_created_contacts(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    form = await _new_form(db, account)
    publish_raw(
        settings,
        *[
            envelope(lead_for(_unique("n"), f"{_unique('n')}@example.com", form_id=form))
            for _ in range(5)
        ],
    )
    worker.settle()
    assert await _counters(db, form) == (5, 0, 0, 0)


async def test_a_lead_failing_again_is_logged_and_counted_once_until_the_counters_reset(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    form = await _new_form(db, account)
    bad = _unique("still-bad")
    bad_lead = lead_for(bad, "not-an-email", form_id=form)
    publish_raw(settings, envelope(bad_lead, origin="push"))
    worker.settle()
    # The next (overlapping) pull brings the same lead again, still invalid.
    publish_raw(settings, envelope(bad_lead, origin="schedule"))
    worker.settle()
    assert await _all(db, "SELECT code FROM error_log WHERE lead_id = %s", bad) == [
        ("invalid_value",)
    ]
    assert await _counters(db, form) == (0, 0, 1, 0)

    # A manual import resets the counters: the lead's failure counts (and is logged) again.
    await db.execute(
        "UPDATE form_counters SET errors = 0, reset_at = now() WHERE form_id = %s", (form,)
    )
    publish_raw(settings, envelope(bad_lead, origin="manual"))
    worker.settle()
    assert await _counters(db, form) == (0, 0, 1, 0)
    assert await _all(db, "SELECT count(*) FROM error_log WHERE lead_id = %s", bad) == [(2,)]


CREATED = "com.leadsync.contact.created"
UPDATED = "com.leadsync.contact.updated"


async def _form_in(db: Conn, *accounts: int) -> int:
    """One LinkedIn form that each of these accounts holds, with its Import on."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    for account_id in accounts:
        await _switch(db, account_id, form_id, True)
    return form_id


async def test_two_accounts_importing_one_email_get_a_contact_each(
    settings: Settings, worker: Worker, db: Conn, account: int, other_account: int
) -> None:
    email = f"{_unique('shared')}@example.com"
    form = await _form_in(db, account, other_account)
    lead_id = _unique("shared")
    lead = lead_for(lead_id, email, form_id=form, first_name="Ann")
    # One LinkedIn lead, routed to both accounts (connected to one ad account): a record each.
    publish_raw(settings, envelope(lead), envelope(lead, account_id=other_account))
    worker.settle()

    both = sorted([account, other_account])
    contacts = dict(await _all(db, "SELECT account_id, id FROM contacts WHERE email = %s", email))
    assert sorted(contacts) == both
    assert len(set(contacts.values())) == 2
    submissions = await _all(
        db,
        "SELECT account_id, contact_id, form_id FROM form_submissions WHERE lead_id = %s"
        " ORDER BY account_id",
        lead_id,
    )
    assert submissions == [(a, contacts[a], form) for a in both]
    ledger = await _all(
        db,
        "SELECT account_id, contact_id FROM imported_leads WHERE lead_id = %s ORDER BY account_id",
        lead_id,
    )
    assert ledger == [(a, contacts[a]) for a in both]
    assert await _counters(db, form, account) == (1, 0, 0, 0)
    assert await _counters(db, form, other_account) == (1, 0, 0, 0)

    # A later lead of the same person in one account changes that account's contact only.
    later = lead_for(
        _unique("later"), email, form_id=form, first_name="Anna", submitted_at=1_700_000_300_000
    )
    publish_raw(settings, envelope(later))
    worker.settle()
    names = await _all(
        db, "SELECT account_id, first_name FROM contacts WHERE email = %s ORDER BY 1", email
    )
    assert names == sorted([(account, "Anna"), (other_account, "Ann")])
    assert await _counters(db, form, account) == (1, 1, 0, 0)
    assert await _counters(db, form, other_account) == (1, 0, 0, 0)

    # Each contact's events carry its account, in the attribute and in the key.
    subjects = {str(contact_id): a for a, contact_id in contacts.items()}
    events = [
        (key, event["subject"], event["leadsyncaccount"], event["type"])
        for key, event in _keyed_events(settings)
        if event["subject"] in subjects
    ]
    want = [
        (f"{account}:{contacts[account]}", str(contacts[account]), account, CREATED),
        (f"{account}:{contacts[account]}", str(contacts[account]), account, UPDATED),
        (
            f"{other_account}:{contacts[other_account]}",
            str(contacts[other_account]),
            other_account,
            CREATED,
        ),
    ]
    assert sorted(events) == sorted(want)
    assert [e for e in events if e[2] == account] == want[:2]  # in order, one partition

    # `leadsync tail --account` shows that account's events only.
    ((other_name,),) = await _all(db, "SELECT name FROM accounts WHERE id = %s", other_account)
    shown = leadsync(
        settings, "tail", "--from-beginning", "--count", "1", "--account", other_name
    ).splitlines()
    assert len(shown) == 1
    assert f" created  account {other_account} {contacts[other_account]} {email} " in shown[0]


async def test_an_error_is_logged_and_counted_in_its_own_accounts_books(
    settings: Settings, worker: Worker, db: Conn, account: int, other_account: int
) -> None:
    form = await _form_in(db, account, other_account)
    bad = _unique("bad-elsewhere")
    publish_raw(
        settings, envelope(lead_for(bad, "not-an-email", form_id=form), account_id=other_account)
    )
    worker.settle()

    log = await _all(db, "SELECT account_id, code FROM error_log WHERE lead_id = %s", bad)
    assert log == [(other_account, "invalid_value")]
    assert await _counters(db, form, other_account) == (0, 0, 1, 0)
    assert await _counters(db, form, account) == (0, 0, 0, 0)


async def test_an_erase_request_erases_its_accounts_copy_only(
    settings: Settings, worker: Worker, db: Conn, account: int, other_account: int
) -> None:
    email = f"{_unique('erase-one')}@example.com"
    form = await _form_in(db, account, other_account)
    lead_id = _unique("erase-one")
    lead = lead_for(lead_id, email, form_id=form)
    publish_raw(settings, envelope(lead), envelope(lead, account_id=other_account))
    worker.settle()

    publish_raw(settings, erase_request(lead_id, form))  # the test account's
    worker.settle()

    assert await _all(db, "SELECT account_id FROM contacts WHERE email = %s", email) == [
        (other_account,)
    ]
    assert await _all(
        db, "SELECT account_id FROM form_submissions WHERE lead_id = %s", lead_id
    ) == [(other_account,)]
    ledger = await _all(
        db,
        "SELECT account_id, erased_at IS NOT NULL FROM imported_leads WHERE lead_id = %s"
        " ORDER BY account_id",
        lead_id,
    )
    assert ledger == sorted([(account, True), (other_account, False)])


async def test_a_disabled_accounts_lead_is_recorded_as_skipped(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    name = _unique("initech")
    disabled = make_account(settings, name)
    form = await _form_in(db, disabled)
    await disable_account(db, name)
    email = f"{_unique('disabled')}@example.com"
    lead_id = _unique("disabled")
    publish_raw(settings, envelope(lead_for(lead_id, email, form_id=form), account_id=disabled))
    worker.settle()

    skipped = await _all(
        db, "SELECT account_id, form_id, reason FROM skipped_leads WHERE lead_id = %s", lead_id
    )
    assert skipped == [(disabled, form, "account_disabled")]
    assert await _all(db, "SELECT count(*) FROM contacts WHERE email = %s", email) == [(0,)]
    assert await _all(db, "SELECT count(*) FROM imported_leads WHERE lead_id = %s", lead_id) == [
        (0,)
    ]
    # Not an error: nothing in either log.
    assert await _all(db, "SELECT count(*) FROM error_log WHERE lead_id = %s", lead_id) == [(0,)]
    assert await _all(db, "SELECT count(*) FROM pipeline_errors WHERE lead_id = %s", lead_id) == [
        (0,)
    ]
    assert await _counters(db, form, disabled) == (0, 0, 0, 1)


async def test_a_raw_lead_naming_no_account_is_refused_into_the_operators_errors(
    settings: Settings, worker: Worker, db: Conn, account: int
) -> None:
    form = await _new_form(db, account)
    bare_id, unwrapped_id = _unique("bare"), _unique("no-account")
    bare = lead_for(bare_id, f"{bare_id}@example.com", form_id=form)  # published by hand
    unwrapped = {**envelope(lead_for(unwrapped_id, f"{unwrapped_id}@example.com")),
                 "account_id": None}  # fmt: skip
    publish_raw(settings, bare, unwrapped)
    worker.settle()

    rows = await _all(
        db,
        "SELECT lead_id, stage, code, message FROM pipeline_errors WHERE lead_id = ANY(%s)"
        " ORDER BY lead_id",
        [bare_id, unwrapped_id],
    )
    assert rows == sorted(
        [(lead, "import", "no_account", NO_ACCOUNT_MESSAGE) for lead in (bare_id, unwrapped_id)]
    )
    assert "leadsync leads publish --account NAME" in NO_ACCOUNT_MESSAGE
    assert await _all(
        db, "SELECT count(*) FROM contacts WHERE email = ANY(%s)",
        [f"{bare_id}@example.com", f"{unwrapped_id}@example.com"],
    ) == [(0,)]  # fmt: skip
    assert await _all(
        db, "SELECT count(*) FROM error_log WHERE lead_id = ANY(%s)", [bare_id, unwrapped_id]
    ) == [(0,)]
    assert await _counters(db, form, account) == (0, 0, 0, 0)


async def test_a_lead_of_an_account_that_no_longer_exists_is_the_operators_error(
    settings: Settings, worker: Worker, db: Conn
) -> None:
    gone = make_account(settings, _unique("gone"))
    await db.execute("DELETE FROM accounts WHERE id = %s", (gone,))
    lead_id = _unique("gone")
    publish_raw(settings, envelope(lead_for(lead_id, f"{lead_id}@example.com"), account_id=gone))
    worker.settle()

    rows = await _all(
        db, "SELECT stage, code, message FROM pipeline_errors WHERE lead_id = %s", lead_id
    )
    assert [(stage, code) for stage, code, _ in rows] == [("import", "unknown_account")]
    assert str(gone) in rows[0][2]
