"""The form page, category "Sync", over HTTP on the real database and broker, as a signed-in
user of an account sees it: the Import switch and periodic sync saved in the database; the
API's interval rule shown and nothing saved; "Start manual import" creating its run with
the chosen options (and its refusals); the run's progress fragment that htmx polls until
the run is done (286); CSRF; another account's form or run answering 404; Italian."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from admin.app import create_app
from admin.console import form_pages, routes
from admin.console.form_pages import next_scheduled_run
from admin.console.i18n import translate
from admin.console.run_progress import RECENT, SETTLE_IDLE, run_phase
from admin.console.session import SESSION_COOKIE, token_sha256
from admin.models import Form as FormOut
from admin.models import Run, SyncBackoff
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.envelopes import SyncOptions, SyncTrigger
from schemas.linkedin import Lead
from sinks import sync_runs
from sinks.console_users import add_user, start_session
from sinks.database import Database
from sinks.forms import register_from_leads, set_import
from tests.integration.admin_client import AccountWithToken, hold_for_session, new_account
from tests.integration.produce import lead_for

Conn = AsyncConnection[tuple[Any, ...]]
TEMPLATES = form_pages.__file__.rsplit("/", 1)[0] + "/templates/form"


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "formpage")


async def _signed_in_client(
    settings: Settings, account: AccountWithToken
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client with a live session of a new user of ``account``, and its CSRF token."""
    app = create_app(settings)
    if form_pages.router not in routes.ROUTERS:  # until the lead registers it
        app.include_router(form_pages.router)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    email = f"{uuid.uuid4().hex[:8]}@{account.name}.example.com"
    async with (
        Database.from_settings(settings, max_size=1) as database,
        database.connection() as conn,
    ):
        user = await add_user(conn, email, "admin", account.id, "x")
        await start_session(conn, token_sha256(token), user.id, csrf)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://admin.test",
            cookies={SESSION_COOKIE: token},
        ) as http:
            yield http, csrf
    finally:
        app.state.request_publisher.close()
        await app.state.database.close()


@pytest.fixture(scope="module")
async def signed_in(
    settings: Settings, account: AccountWithToken
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async for pair in _signed_in_client(settings, account):
        yield pair


@pytest.fixture
def client(signed_in: tuple[httpx.AsyncClient, str]) -> httpx.AsyncClient:
    return signed_in[0]


@pytest.fixture
def csrf(signed_in: tuple[httpx.AsyncClient, str]) -> str:
    return signed_in[1]


@pytest.fixture
async def db(db: Conn, account: AccountWithToken) -> Conn:
    await hold_for_session(db, account.id)
    return db


async def _form(db: Conn, *, enabled: bool) -> int:
    """A form as discovery leaves it (predefined questions mapped), in the account ``db``
    holds; Import switched on through the sinks when ``enabled``."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [lead], auto_mappings)
    await db.execute(
        "UPDATE forms SET name = %s WHERE account_id = leadsync_account() AND id = %s",
        (f"Form {form_id}", form_id),
    )
    if enabled:
        await set_import(db, form_id, True)
    return form_id


async def _settings_row(db: Conn, form_id: int) -> tuple[Any, ...]:
    cur = await db.execute(
        "SELECT import_enabled, import_enabled_at IS NOT NULL, periodic_sync, sync_interval_hours"
        " FROM forms WHERE account_id = leadsync_account() AND id = %s",
        (form_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def _runs(db: Conn, form_id: int) -> list[tuple[Any, ...]]:
    cur = await db.execute(
        "SELECT id, status, reimport_existing, restart_workflows, all_submissions, trigger,"
        " requested_by FROM sync_runs WHERE account_id = leadsync_account() AND form_id = %s"
        " ORDER BY requested_at",
        (form_id,),
    )
    return await cur.fetchall()


def _checked(html: str, input_id: str) -> bool:
    """Whether the page's checkbox ``input_id`` is checked."""
    found = re.search(rf'<input[^>]*\bid="{input_id}"[^>]*>', html)
    assert found, f"no input {input_id}"
    return re.search(r"\bchecked\b", found.group(0)) is not None


def _text(html: str) -> str:
    """The page's text as a reader sees it: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


async def test_the_page_shows_the_switch_the_periodic_sync_the_status_and_the_dialog(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=False)
    response = await client.get(f"/console/forms/{form_id}")
    assert response.status_code == 200, response.text
    page = response.text
    text = _text(page)
    assert f"<h1>Form {form_id}</h1>" in page
    # A labelled switch, off as discovery leaves a form; the periodic sync on, daily.
    assert re.search(r'<input type="checkbox" role="switch" id="import-enabled"[^>]*>', page)
    assert not _checked(page, "import-enabled")
    assert '<label for="import-enabled">Import</label>' in page
    assert _checked(page, "periodic-sync")
    assert re.search(r'id="sync-interval"[^>]*value="24"', page, flags=re.DOTALL)
    assert "Whole hours, from 1 to 8760." in text
    # Status (grey: Import off, with its reason), the next run, counters, no run yet.
    assert 'class="status status-grey" role="img" aria-label="Import off"' in page
    assert "Import is off for this form: nothing is imported." in text
    assert "Next run None: Import is off." in text
    assert (
        "Contacts imported 0 Contacts updated 0 Total errors 0 Skipped while Import was off 0"
        in text
    )
    assert "No run yet" in text
    # "Start manual import" waits for Import; the dialog has the seed's three options, the
    # second hidden until the first is checked, and the counters' warning.
    assert "Switch Import on first" in text
    dialog = page.split('<dialog id="manual-import"')[1].split("</dialog>")[0]
    assert 'data-controls="option-restart"' in dialog
    assert re.search(r'<div id="option-restart"[^>]*\bhidden\b', dialog)
    for option in (
        "Sync already-imported contacts too",
        "Restart workflows for synced contacts",
        "Sync all submissions of the form",
        "resets this form&#39;s counters of imported contacts, updated contacts and import errors",
    ):
        assert option in dialog, option
    # The form's categories.
    assert f'<a href="/console/forms/{form_id}" aria-current="page">Sync</a>' in page
    assert f'href="/console/forms/{form_id}/mapping"' in page
    assert f'href="/console/forms/{form_id}/errors"' in page
    assert "Reconciliation" in text


async def test_the_import_switch_and_the_periodic_sync_are_saved_in_the_database(
    client: httpx.AsyncClient, csrf: str, db: Conn
) -> None:
    form_id = await _form(db, enabled=False)
    assert await _settings_row(db, form_id) == (False, False, True, 24)
    saved = await client.post(
        f"/console/forms/{form_id}/settings",
        data={"csrf_token": csrf, "import_enabled": "true", "sync_interval_hours": "6"},
    )
    assert saved.status_code == 303, saved.text
    # Import on (its first watermark started), the unchecked periodic sync off, 6 hours.
    assert await _settings_row(db, form_id) == (True, True, False, 6)
    shown = await client.get(saved.headers["location"])
    assert "Sync settings saved." in shown.text
    assert _checked(shown.text, "import-enabled")
    assert "Next run None: Periodic sync is off." in _text(shown.text)

    # And off again: the switch's own box unchecked.
    again = await client.post(
        f"/console/forms/{form_id}/settings",
        data={"csrf_token": csrf, "periodic_sync": "true", "sync_interval_hours": "24"},
    )
    assert again.status_code == 303
    assert await _settings_row(db, form_id) == (False, True, True, 24)


@pytest.mark.parametrize("typed", ["0", "1.5", "8761", "daily", "", "-3"])
async def test_an_interval_outside_the_apis_rule_shows_the_rule_and_saves_nothing(
    client: httpx.AsyncClient, csrf: str, db: Conn, typed: str
) -> None:
    form_id = await _form(db, enabled=False)
    response = await client.post(
        f"/console/forms/{form_id}/settings",
        data={"csrf_token": csrf, "import_enabled": "true", "sync_interval_hours": typed},
    )
    assert response.status_code == 422, response.text
    text = _text(response.text)
    assert "Nothing was saved: the interval is not valid." in text
    assert f"The interval must be a whole number of hours from 1 to 8760: “{typed}” is not." in text
    assert re.search(r'id="sync-interval"[^>]*aria-invalid="true"', response.text, re.DOTALL)
    # Nothing changed, the Import switch included; the page keeps what was typed.
    assert await _settings_row(db, form_id) == (False, False, True, 24)
    assert _checked(response.text, "import-enabled")


async def test_start_manual_import_creates_a_run_with_the_options_chosen(
    client: httpx.AsyncClient, csrf: str, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    response = await client.post(
        f"/console/forms/{form_id}/import",
        data={
            "csrf_token": csrf,
            "reimport_existing": "true",
            "restart_workflows": "true",
            "all_submissions": "true",
        },
    )
    assert response.status_code == 303, response.text
    ((run_id, status, *options, trigger, requested_by),) = await _runs(db, form_id)
    assert (status, options, trigger) == ("queued", [True, True, True], "manual")
    assert requested_by.startswith("console:")  # the user's run, not the API's
    assert "@" in requested_by
    # The page follows it: the run's card polls its fragment; another import must wait.
    page = (await client.get(response.headers["location"])).text
    assert "Manual import started" in page
    assert f'hx-get="/console/runs/{run_id}?' in page
    assert "A run is in progress: wait for it to end." in _text(page)
    refused = await client.post(f"/console/forms/{form_id}/import", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "a run of this form is already in progress" in _text(refused.text)
    assert len(await _runs(db, form_id)) == 1


async def test_the_second_option_counts_only_with_the_first(
    client: httpx.AsyncClient, csrf: str, db: Conn
) -> None:
    """A box checked and then hidden (the first option unchecked again) is not asked for."""
    form_id = await _form(db, enabled=True)
    response = await client.post(
        f"/console/forms/{form_id}/import",
        data={"csrf_token": csrf, "restart_workflows": "true"},
    )
    assert response.status_code == 303, response.text
    ((_id, _status, *options, _trigger, _by),) = await _runs(db, form_id)
    assert options == [False, False, False]


async def test_a_manual_import_of_a_form_whose_import_is_off_is_refused_and_resets_nothing(
    client: httpx.AsyncClient, csrf: str, db: Conn
) -> None:
    form_id = await _form(db, enabled=False)
    response = await client.post(f"/console/forms/{form_id}/import", data={"csrf_token": csrf})
    assert response.status_code == 409, response.text
    assert "Import is off for this form. Switch it on, then start the import." in response.text
    assert await _runs(db, form_id) == []


async def test_failing_scheduled_pulls_show_their_backoff_and_the_leads_at_risk(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    # The scheduled pulls failed twice in a row, the last pull long enough ago that LinkedIn
    # has begun deleting leads it did not bring.
    await db.execute(
        "UPDATE forms SET sync_failures = 2, sync_failed_at = now(),"
        " sync_retry_at = now() + interval '10 minutes', sync_last_error = 'LinkedIn answered 500',"
        " watermark = now() - interval '400 days'"
        " WHERE account_id = leadsync_account() AND id = %s",
        (form_id,),
    )
    text = _text((await client.get(f"/console/forms/{form_id}")).text)
    assert "The scheduled pulls failed 2 times in a row" in text
    assert "Last error: LinkedIn answered 500" in text
    assert "Leads at risk" in text
    assert "the scheduled pulls fail, and the leads since then are not imported." in text
    assert "LinkedIn has been deleting the first of them since" in text


async def _finished_run(db: Conn, form_id: int, *, published: int) -> UUID:
    """A manual import taken by the puller, which published ``published`` leads and ended."""
    run_id = await sync_runs.create_run(db, form_id, SyncTrigger.MANUAL, SyncOptions())
    now = datetime.now(UTC)
    await sync_runs.start_run(db, run_id, now - timedelta(days=1), now)
    await sync_runs.record_progress(db, run_id, 1, published, published)
    await sync_runs.finish_run(db, run_id)
    return run_id


async def test_the_run_fragment_is_polled_while_the_run_goes_on_and_answers_286_when_done(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    run_id = await sync_runs.create_run(db, form_id, SyncTrigger.MANUAL, SyncOptions())
    htmx = {"HX-Request": "true"}
    queued = await client.get(f"/console/runs/{run_id}", headers=htmx)
    assert queued.status_code == 200, queued.text
    assert 'data-phase="queued"' in queued.text
    assert f'hx-get="/console/runs/{run_id}?seen=0' in queued.text
    # The form's counters come along out of band.
    assert 'id="sync-counters" aria-labelledby="sync-counters-title" hx-swap-oob="true"' in (
        queued.text
    )

    now = datetime.now(UTC)
    await sync_runs.start_run(db, run_id, now - timedelta(days=1), now)
    await sync_runs.record_progress(db, run_id, 2, 0, 0)
    running = await client.get(f"/console/runs/{run_id}", headers=htmx)
    assert running.status_code == 200
    assert 'data-phase="running"' in running.text
    assert re.search(r'<dd data-figure="pages">2</dd>', running.text)

    await sync_runs.finish_run(db, run_id)
    done = await client.get(f"/console/runs/{run_id}", headers=htmx)
    assert done.status_code == 286, done.text  # htmx stops polling
    assert 'data-phase="done"' in done.text
    assert "hx-get" not in done.text.split('id="latest-run"')[1].split(">")[0]
    assert "Succeeded, ended" in done.text
    # The status, the action and the history are brought up to date, and it is read out.
    for part in (
        'id="sync-status"',
        'id="form-actions"',
        'id="run-history"',
        'id="reconciliation"',
    ):
        assert re.search(part + r'[^>]*hx-swap-oob="true"', done.text), part
    assert "The run is done: 0 imported, 0 updated, 0 errors." in _text(done.text)

    # A browser's own visit goes to the form's page, which shows the same.
    visit = await client.get(f"/console/runs/{run_id}")
    assert (visit.status_code, visit.headers["location"]) == (303, f"/console/forms/{form_id}")
    page = await client.get(f"/console/forms/{form_id}")
    assert "Succeeded, ended" in page.text
    assert 'data-phase="done"' in page.text


async def test_a_run_whose_leads_are_still_being_imported_is_followed_until_they_settle(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    run_id = await _finished_run(db, form_id, published=3)  # and no worker imports them
    htmx = {"HX-Request": "true"}
    importing = await client.get(f"/console/runs/{run_id}", headers=htmx)
    assert importing.status_code == 200
    assert "importing the leads: 0 of 3 done" in importing.text
    # Standing still for longer than the settle time: done.
    since = (datetime.now(UTC) - SETTLE_IDLE - timedelta(seconds=1)).isoformat()
    settled = await client.get(
        f"/console/runs/{run_id}", params={"seen": 0, "since": since}, headers=htmx
    )
    assert settled.status_code == 286


async def test_a_since_without_an_offset_is_read_as_utc(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    run_id = await _finished_run(db, form_id, published=3)  # and no worker imports them
    htmx = {"HX-Request": "true"}
    naive_now = datetime.now(UTC).replace(tzinfo=None)
    still = await client.get(
        f"/console/runs/{run_id}",
        params={"seen": 0, "since": naive_now.isoformat()},
        headers=htmx,
    )
    assert still.status_code == 200, still.text
    assert "importing the leads: 0 of 3 done" in still.text
    settled_since = naive_now - SETTLE_IDLE - timedelta(seconds=1)
    settled = await client.get(
        f"/console/runs/{run_id}",
        params={"seen": 0, "since": settled_since.isoformat()},
        headers=htmx,
    )
    assert settled.status_code == 286


async def test_the_history_shows_what_each_run_imported(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    first = await _finished_run(db, form_id, published=4)
    second = await _finished_run(db, form_id, published=1)
    for run_id, created, updated, errors in ((first, 2, 1, 1), (second, 1, 0, 0)):
        for event, times in (("created", created), ("updated", updated)):
            for _ in range(times):
                # Published already: a relay running in this session leaves them be.
                await db.execute(
                    "INSERT INTO outbox (contact_id, event_type, payload, published_at)"
                    " VALUES (gen_random_uuid(), %s, %s, now())",
                    (
                        f"com.leadsync.contact.{event}",
                        Jsonb({"data": {"sync_run_id": str(run_id)}}),
                    ),
                )
        for _ in range(errors):
            await db.execute(
                "INSERT INTO error_log (form_id, stage, code, message, sync_run_id)"
                " VALUES (%s, 'import', 'invalid_value', 'test', %s)",
                (form_id, run_id),
            )
    page = await client.get(f"/console/forms/{form_id}")
    assert page.status_code == 200

    def figures(run_id: UUID) -> dict[str, str]:
        row = re.search(rf'<tr data-run="{run_id}">(.*?)</tr>', page.text, re.S)
        assert row, f"no history row for {run_id}"
        return dict(re.findall(r'data-figure="(\w+)">(\d+)<', row[1]))

    assert figures(first) == {
        "pages": "1", "leads": "4", "imported": "2", "updated": "1", "errors": "1"
    }  # fmt: skip
    assert figures(second) == {
        "pages": "1", "leads": "1", "imported": "1", "updated": "0", "errors": "0"
    }  # fmt: skip
    # Newest first.
    assert page.text.index(f'data-run="{second}"') < page.text.index(f'data-run="{first}"')


def _run(status: str, published: int, finished_ago: timedelta | None = None) -> Run:
    now = datetime.now(UTC)
    return Run(
        id=uuid.uuid4(), form_id=1, trigger="manual", status=status,
        reimport_existing=False, restart_workflows=False, all_submissions=False,
        window_start=None, window_end=None, error=None, pages=1, leads_total=None,
        leads_published=published, requested_by=None, requested_at=now, started_at=now,
        finished_at=now - finished_ago if finished_ago is not None else None,
    )  # fmt: skip


def test_a_run_is_done_once_its_leads_are_all_dealt_with_or_the_count_stands_still() -> None:
    now = datetime.now(UTC)
    assert run_phase(_run("running", 5), 2, now, None, None)[0] == "running"
    assert run_phase(_run("succeeded", 5, timedelta(0)), 5, now, None, None)[0] == "done"
    # Ended a moment ago with leads on their way: followed; long ago: done.
    assert run_phase(_run("succeeded", 5, timedelta(0)), 2, now, None, None)[0] == "importing"
    assert run_phase(_run("failed", 5, RECENT * 2), 2, now, None, None)[0] == "done"
    # Moving: followed, the clock restarts; standing still past the settle time: done.
    assert run_phase(_run("succeeded", 5, timedelta(0)), 3, now, 2, now - SETTLE_IDLE) == (
        "importing",
        3,
        now,
    )
    assert run_phase(_run("succeeded", 5, timedelta(0)), 2, now, 2, now - SETTLE_IDLE)[0] == "done"


def test_the_next_run_follows_the_schedulers_rule() -> None:
    now = datetime.now(UTC)
    form = FormOut.model_validate(
        {
            "id": 1, "name": "F", "owner_urn": None, "owner_name": None, "state": None,
            "status": {"color": "green", "reason": "ok"}, "import_enabled": True,
            "import_enabled_at": now, "periodic_sync": True, "sync_interval_hours": 6,
            "counters": {
                "imported": 0, "updated": 0, "errors": 0, "skipped": 0, "reset_at": None,
                "errors_by_kind": dict.fromkeys(
                    ("configuration", "connection", "linkedin", "unreadable", "internal"), 0
                ),
            },
            "last_imported_at": None, "last_synced_at": now - timedelta(hours=1),
            "watermark": None, "connection_status": "active",
            "connection_refresh_expires_at": None, "sync_backoff": None,
            "retention_warning": None, "last_run": None,
        }
    )  # fmt: skip
    # The interval after the last successful run; a failing pull's backoff beyond it.
    assert next_scheduled_run(form, False, now).at == now + timedelta(hours=5)
    retry = now + timedelta(hours=7)
    backoff = SyncBackoff(
        consecutive_failures=1, last_failed_at=now, next_attempt_at=retry, last_error=None
    )
    assert next_scheduled_run(form.model_copy(update={"sync_backoff": backoff}), False, now).at == (
        retry
    )
    # Never synced: due at the scheduler's next check; a run going on, or no way to pull.
    never = form.model_copy(update={"last_synced_at": None})
    assert next_scheduled_run(never, False, now).note == "Due now: at the scheduler's next check."
    assert next_scheduled_run(form, True, now).note == "A run is in progress."
    revoked = form.model_copy(update={"connection_status": "revoked"})
    assert next_scheduled_run(revoked, False, now).note == "After LinkedIn is reconnected."
    unconnected = form.model_copy(update={"connection_status": None})
    assert next_scheduled_run(unconnected, False, now).at is None


async def test_state_changes_without_the_csrf_token_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=True)
    for token in ({}, {"csrf_token": "forged"}):
        saved = await client.post(
            f"/console/forms/{form_id}/settings",
            data={**token, "sync_interval_hours": "5"},
        )
        assert saved.status_code == 403, saved.text
        started = await client.post(f"/console/forms/{form_id}/import", data=token)
        assert started.status_code == 403, started.text
    assert await _settings_row(db, form_id) == (True, True, True, 24)
    assert await _runs(db, form_id) == []


async def test_another_accounts_form_and_run_are_not_found(
    client: httpx.AsyncClient, csrf: str, db: Conn, settings: Settings
) -> None:
    other = await new_account(settings, "formpage-other")
    await hold_for_session(db, other.id)
    form_id = await _form(db, enabled=True)
    run_id = await sync_runs.create_run(db, form_id, SyncTrigger.MANUAL, SyncOptions())

    assert (await client.get(f"/console/forms/{form_id}")).status_code == 404
    saved = await client.post(
        f"/console/forms/{form_id}/settings",
        data={"csrf_token": csrf, "sync_interval_hours": "5"},
    )
    assert saved.status_code == 404
    started = await client.post(f"/console/forms/{form_id}/import", data={"csrf_token": csrf})
    assert started.status_code == 404
    progress = await client.get(f"/console/runs/{run_id}", headers={"HX-Request": "true"})
    assert progress.status_code == 404
    assert (await _settings_row(db, form_id))[3] == 24
    assert len(await _runs(db, form_id)) == 1


async def test_the_page_in_italian(client: httpx.AsyncClient, db: Conn) -> None:
    form_id = await _form(db, enabled=True)
    page = (await client.get(f"/console/forms/{form_id}", params={"lang": "it"})).text
    for text in (
        "Avvia importazione manuale",
        "Sincronizzazione periodica",
        "Sincronizza anche i contatti già esistenti",
        "Riavvia i workflow per i contatti sincronizzati",
        "Sincronizza tutte le compilazioni del modulo",
        "Associazione campi",
    ):
        assert text in page.replace("&#39;", "'"), text


def test_every_text_of_the_form_pages_has_its_italian() -> None:
    """Every ``_("...")`` of the templates and every note of the page module is in the
    Italian catalog."""
    from pathlib import Path

    sources = [*Path(TEMPLATES).glob("*.html")]
    texts: set[str] = set()
    for source in sources:
        found = re.findall(r"""_\(\s*(["'])(.*?)(?<!\\)\1""", source.read_text(), flags=re.DOTALL)
        texts.update(text for _quote, text in found)
    texts.update(re.findall(r'NextRun\(\w+, "(.+?)"\)', Path(form_pages.__file__).read_text()))
    missing = sorted(t for t in texts if translate("it", t) == t and t != "LinkedIn")
    assert not missing, missing
