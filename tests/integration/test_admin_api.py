"""The admin API on the real database and broker, as an account sees it through its API token:
auth, validation, imports, CSV, contacts; another account's data, which it never reaches;
tokens, which no log holds."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from admin import forms_routes
from admin.app import create_app
from harness.children import free_port
from harness.processes import Admin
from ingest.sync_requests import QUEUE_WITHIN_S, RequestNotQueued, request_manual_import_once
from leadsync.api_tokens import token_hash
from leadsync.settings import DEMO_ACCOUNT_TOKEN, Settings
from mapping.apply import auto_mappings
from schemas.envelopes import SyncOptions
from schemas.linkedin import Lead
from sinks.database import Database
from sinks.forms import register_from_leads
from tests.integration.admin_client import (
    AccountWithToken,
    admin_client,
    hold_for_session,
    new_account,
)
from tests.integration.kafka_proxy import KafkaProxy
from tests.integration.produce import lead_for
from tests.integration.topics import read_topic

Conn = AsyncConnection[tuple[Any, ...]]
# The example form's questions (tests/data/lead_example.json).
EMAIL_QUESTION, COLOUR_QUESTION = "307234246", "707234246"


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    """The account whose API token the tests' client sends."""
    return await new_account(settings)


@pytest.fixture(scope="module")
async def client(settings: Settings, account: AccountWithToken) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings, account.token) as http:
        yield http


@pytest.fixture
async def db(db: Conn, account: AccountWithToken) -> Conn:
    """The test's connection (a superuser's: it sees every account), with the client's account
    in hand for the session, so the rows it inserts without an account are that account's."""
    await hold_for_session(db, account.id)
    return db


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _form(
    db: Conn, *, enabled: bool = True, name: str | None = None, form_id: int | None = None
) -> int:
    """A form discovered from the example lead (predefined questions mapped), Import set, in
    the account ``db`` holds."""
    form_id = form_id or int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("seed", "seed@example.com", form_id=form_id))
    await register_from_leads(db, [lead], auto_mappings)
    await db.execute(
        "UPDATE forms SET name = %s, import_enabled = %s,"
        " import_enabled_at = CASE WHEN %s THEN now() END"
        " WHERE id = %s AND account_id = leadsync_account()",
        (name or f"Form {form_id}", enabled, enabled, form_id),
    )
    return form_id


async def _one(db: Conn, query: str, *params: Any) -> tuple[Any, ...]:
    cur = await db.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return row


# Every route acting on an account's data (the ids need not exist: the token is refused first).
ACCOUNT_ROUTES = (
    ("GET", "/api/forms"),
    ("GET", "/api/forms/1"),
    ("PATCH", "/api/forms/1"),
    ("GET", "/api/fields"),
    ("GET", "/api/forms/1/mappings"),
    ("PUT", "/api/forms/1/mappings"),
    ("POST", "/api/forms/1/imports"),
    ("GET", "/api/forms/1/runs"),
    ("GET", f"/api/runs/{uuid.UUID(int=1)}"),
    ("GET", "/api/errors.csv"),
    ("GET", "/api/forms/1/errors.csv"),
    ("GET", "/api/errors"),
    ("GET", "/api/forms/1/errors"),
    ("GET", "/api/contacts"),
    ("GET", f"/api/contacts/{uuid.UUID(int=1)}"),
    ("GET", "/api/contacts/filter-choices"),
    ("GET", "/api/audiences"),
    ("POST", "/api/audiences"),
    ("GET", f"/api/audiences/{uuid.UUID(int=1)}"),
    ("PATCH", f"/api/audiences/{uuid.UUID(int=1)}"),
    ("DELETE", f"/api/audiences/{uuid.UUID(int=1)}"),
    ("GET", f"/api/audiences/{uuid.UUID(int=1)}/members"),
    ("GET", f"/api/audiences/{uuid.UUID(int=1)}/members.csv"),
    ("POST", "/api/linkedin/authorization"),
)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["message"]
    return body


# -- authentication, limits, the document ------------------------------------------------


async def test_every_account_route_needs_a_token(client: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-token"}):
        for method, path in ACCOUNT_ROUTES:
            response = await client.request(method, path, headers=headers, json={})
            body = _error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Bearer" in body["message"]
    basic = await client.get("/api/forms", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    _error(basic, 401, "unauthorized")
    assert (await client.get("/api/forms")).status_code == 200


async def test_the_operator_token_opens_no_account_route(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The operator manages accounts; it reads and changes no account's data."""
    operator = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    for method, path in ACCOUNT_ROUTES:
        response = await client.request(method, path, headers=operator, json={})
        body = _error(response, 403, "account_token_required")
        assert "account's API token" in body["message"], (method, path)
        assert "LEADSYNC_ADMIN_TOKEN" in body["message"]


async def test_the_demo_account_token_opens_nothing_outside_demo_mode(
    settings: Settings, db: Conn
) -> None:
    # `leadsync accounts create --demo-token` (test_accounts.py) may have made it already.
    cur = await db.execute(
        "SELECT 1 FROM account_tokens WHERE token_sha256 = %s", (token_hash(DEMO_ACCOUNT_TOKEN),)
    )
    made = None if await cur.fetchone() else await new_account(settings, token=DEMO_ACCOUNT_TOKEN)
    try:
        async with admin_client(settings, DEMO_ACCOUNT_TOKEN) as in_demo:
            assert (await in_demo.get("/api/forms")).status_code == 200  # as `make run` has it
        production = settings.model_copy(update={"demo": False})
        async with admin_client(production, DEMO_ACCOUNT_TOKEN) as outside:
            _error(await outside.get("/api/forms"), 401, "unauthorized")
    finally:
        if made is not None:  # the demo token is unique among tokens: it is not ours to keep
            await db.execute("DELETE FROM accounts WHERE id = %s", (made.id,))


async def test_the_openapi_document_is_public_and_declares_bearer_auth(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 200
    document = response.json()
    schemes = document["components"]["securitySchemes"]
    assert (schemes["AccountToken"]["scheme"], schemes["OperatorToken"]["scheme"]) == (
        "bearer",
        "bearer",
    )
    imports = document["paths"]["/api/forms/{form_id}/imports"]["post"]
    assert imports["security"] == [{"AccountToken": []}]
    assert document["paths"]["/api/accounts"]["post"]["security"] == [{"OperatorToken": []}]
    assert (await client.get("/docs", headers={"Authorization": ""})).status_code == 200


async def test_a_body_over_the_limit_is_refused_with_413(client: httpx.AsyncClient) -> None:
    huge = json.dumps({"mappings": [], "padding": "x" * (1024 * 1024 + 1)}).encode()
    response = await client.put(
        "/api/forms/1/mappings", content=huge, headers={"Content-Type": "application/json"}
    )
    _error(response, 413, "content_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b" " * (300 * 1024)

    streamed = await client.put(
        "/api/forms/1/mappings", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _error(streamed, 413, "content_too_large")


async def test_unknown_routes_answer_in_the_error_shape(client: httpx.AsyncClient) -> None:
    _error(await client.get("/api/nothing-here"), 404, "not_found")
    _error(await client.delete("/api/forms"), 405, "method_not_allowed")


# -- forms: status indicator and settings --------------------------------------------------


async def test_the_forms_list_shows_the_four_status_colours(
    client: httpx.AsyncClient, db: Conn, settings: Settings
) -> None:
    grey = await _form(db, enabled=False)
    green = await _form(db)
    await db.execute(
        "UPDATE form_counters SET imported = 3, updated = 1, last_imported_at = now()"
        " WHERE form_id = %s",
        (green,),
    )
    yellow = await _form(db)
    long_ago = datetime.now(UTC) - timedelta(hours=settings.status_stale_hours + 5)
    await db.execute("UPDATE forms SET import_enabled_at = %s WHERE id = %s", (long_ago, yellow))
    await db.execute(
        "UPDATE form_counters SET last_imported_at = %s WHERE form_id = %s", (long_ago, yellow)
    )
    red = await _form(db)
    (connection_id,) = await _one(
        db,
        "INSERT INTO linkedin_connections (access_token, access_expires_at, status, status_reason)"
        " VALUES ('\\x00', now(), 'revoked', 'the member revoked the app') RETURNING id",
    )
    await db.execute("UPDATE forms SET connection_id = %s WHERE id = %s", (connection_id, red))

    response = await client.get("/api/forms")
    assert response.status_code == 200
    forms = {form["id"]: form for form in response.json()["forms"]}
    colours = {form_id: forms[form_id]["status"]["color"] for form_id in (grey, green, yellow, red)}
    assert colours == {grey: "grey", green: "green", yellow: "yellow", red: "red"}
    assert forms[grey]["status"]["reason"] == "Import is off for this form: nothing is imported."
    assert forms[red]["status"]["reason"] == (
        "The LinkedIn connection behind this form is revoked (the member revoked the app)."
        " Reconnect LinkedIn to resume the periodic sync."
    )
    assert forms[yellow]["status"]["reason"] == (
        "No contact imported for 3 days 5 hours (threshold 3 days)."
    )
    assert forms[green]["counters"] | {"reset_at": None} == {
        "imported": 3,
        "updated": 1,
        "errors": 0,
        "errors_by_kind": {
            "configuration": 0,
            "connection": 0,
            "linkedin": 0,
            "unreadable": 0,
            "internal": 0,
        },
        "skipped": 0,
        "reset_at": None,
    }
    assert (forms[green]["sync_backoff"], forms[green]["retention_warning"]) == (None, None)
    assert forms[red]["connection_refresh_expires_at"] is None
    # The trigger on form_counters: a counted import is the form's last import, just now.
    last_imported = datetime.fromisoformat(forms[green]["last_imported_at"])
    assert timedelta(0) <= datetime.now(UTC) - last_imported < timedelta(minutes=5)
    assert forms[grey]["last_imported_at"] is None
    assert (forms[green]["import_enabled"], forms[grey]["import_enabled"]) == (True, False)
    assert (forms[green]["periodic_sync"], forms[green]["sync_interval_hours"]) == (True, 24)


async def test_settings_change_and_import_on_starts_the_watermark(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, enabled=False)
    response = await client.patch(
        f"/api/forms/{form_id}",
        json={"import_enabled": True, "periodic_sync": False, "sync_interval_hours": 6},
    )
    assert response.status_code == 200, response.text
    form = response.json()
    assert (form["import_enabled"], form["periodic_sync"], form["sync_interval_hours"]) == (
        True,
        False,
        6,
    )
    # The watermark starts when Import goes on: the scheduled pull covers what comes after.
    enabled_at = datetime.fromisoformat(form["import_enabled_at"])
    assert datetime.fromisoformat(form["watermark"]) == enabled_at
    assert timedelta(0) <= datetime.now(UTC) - enabled_at < timedelta(minutes=5)
    row = await _one(
        db,
        "SELECT import_enabled, periodic_sync, sync_interval_hours, watermark"
        " FROM forms WHERE id = %s",
        form_id,
    )
    assert row == (True, False, 6, enabled_at)

    off = await client.patch(f"/api/forms/{form_id}", json={"import_enabled": False})
    assert off.json()["import_enabled"] is False
    assert off.json()["watermark"] == form["watermark"]  # kept for when Import is on again
    assert off.json()["sync_interval_hours"] == 6


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"sync_interval_hours": 0}, "sync_interval_hours"),
        ({"sync_interval_hours": 1.5}, "sync_interval_hours"),
        ({"sync_interval_hours": "24"}, "sync_interval_hours"),
        ({"sync_interval_hours": 8761}, "sync_interval_hours"),
        ({"import_enabled": "yes"}, "import_enabled"),
        ({"paused": True}, "paused"),
    ],
)
async def test_invalid_settings_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: Conn, body: dict[str, Any], where: str
) -> None:
    form_id = await _form(db)
    response = await client.patch(f"/api/forms/{form_id}", json=body)
    error = _error(response, 422, "invalid_request")
    assert any(detail["location"].endswith(where) for detail in error["details"]), error
    assert where in error["message"]
    assert await _one(db, "SELECT sync_interval_hours FROM forms WHERE id = %s", form_id) == (24,)


async def test_an_unknown_form_is_404_everywhere(client: httpx.AsyncClient) -> None:
    missing = 1
    for method, path, body in (
        ("GET", f"/api/forms/{missing}", None),
        ("PATCH", f"/api/forms/{missing}", {"import_enabled": True}),
        ("GET", f"/api/forms/{missing}/mappings", None),
        ("PUT", f"/api/forms/{missing}/mappings", {"mappings": []}),
        ("POST", f"/api/forms/{missing}/imports", {}),
        ("GET", f"/api/forms/{missing}/runs", None),
        ("GET", f"/api/forms/{missing}/errors.csv", None),
        ("GET", f"/api/forms/{missing}/errors", None),
        ("GET", f"/api/runs/{uuid.uuid4()}", None),
        ("GET", f"/api/contacts/{uuid.uuid4()}", None),
    ):
        response = await client.request(method, path, json=body)
        _error(response, 404, "not_found")


# -- mappings ----------------------------------------------------------------------------


async def test_the_mapping_page_has_the_form_content_and_the_field_registry(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db)
    response = await client.get(f"/api/forms/{form_id}/mappings")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["version_id"] == 1
    sources = {(q["source_kind"], q["source_key"]): q for q in page["questions"]}
    assert sources[("predefined", "EMAIL")]["label"] == "Indirizzo email"
    colour = sources[("question", COLOUR_QUESTION)]
    assert [o["label"] for o in colour["options"]] == ["Rosso", "Blu"]
    assert page["consents"][0]["source_key"] == "0"
    assert page["hidden_fields"] == [
        {
            "name": "utm_source",
            "value": "linkedin",
            "source_kind": "hidden",
            "source_key": "utm_source",
        }
    ]
    assert {(m["source_key"], m["field_key"], m["automatic"]) for m in page["mappings"]} == {
        ("EMAIL", "email", True),
        ("FIRST_NAME", "first_name", True),
    }
    assert page["problems"] == []

    fields = (await client.get("/api/fields")).json()["fields"]
    by_key = {f["key"]: f for f in fields}
    assert by_key["email"]["type"] == "email"
    assert by_key["linkedin_imported"]["system"] is True


async def test_a_valid_mapping_set_replaces_the_old_one(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db)
    wanted = [
        {"source_kind": "predefined", "source_key": "EMAIL", "field_key": "email"},
        {"source_kind": "question", "source_key": COLOUR_QUESTION, "field_key": "industry"},
        {"source_kind": "hidden", "source_key": "utm_source", "field_key": "company"},
    ]
    response = await client.put(f"/api/forms/{form_id}/mappings", json={"mappings": wanted})
    assert response.status_code == 200, response.text
    stored = {
        (m["source_key"], m["field_key"], m["automatic"]) for m in response.json()["mappings"]
    }
    assert stored == {
        ("EMAIL", "email", True),
        (COLOUR_QUESTION, "industry", False),
        ("utm_source", "company", False),
    }
    cur = await db.execute(
        "SELECT source_key, field_key FROM field_mappings WHERE form_id = %s ORDER BY 1", (form_id,)
    )
    assert set(await cur.fetchall()) == {
        ("EMAIL", "email"),
        (COLOUR_QUESTION, "industry"),
        ("utm_source", "company"),
    }


async def test_each_mapping_problem_is_refused_with_its_code_and_nothing_changes(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db)
    deleted = _unique("gone").replace("-", "_")
    await db.execute(
        "INSERT INTO contact_fields (key, label, type, deleted_at)"
        " VALUES (%s, 'Gone', 'text', now())",
        (deleted,),
    )
    email = {"source_kind": "predefined", "source_key": "EMAIL", "field_key": "email"}
    cases: list[tuple[list[dict[str, str]], str, str]] = [
        (
            [
                email,
                {
                    "source_kind": "question",
                    "source_key": COLOUR_QUESTION,
                    "field_key": "shoe_size",
                },
            ],
            "field_missing",
            "does not exist",
        ),
        (
            [
                email,
                {"source_kind": "question", "source_key": COLOUR_QUESTION, "field_key": deleted},
            ],
            "field_missing",
            "was deleted",
        ),
        (
            [{"source_kind": "predefined", "source_key": "FIRST_NAME", "field_key": "first_name"}],
            "identity_not_mapped",
            "identity",
        ),
        (
            [email, {"source_kind": "question", "source_key": "999", "field_key": "company"}],
            "source_missing",
            "is not on form",
        ),
        (
            [
                email,
                {"source_kind": "consent", "source_key": "0", "field_key": "linkedin_imported"},
            ],
            "field_not_mappable",
            "written by leadsync",
        ),
    ]
    for mappings, code, words in cases:
        response = await client.put(f"/api/forms/{form_id}/mappings", json={"mappings": mappings})
        error = _error(response, 422, "invalid_mappings")
        assert [d["code"] for d in error["details"]] == [code], error
        assert words in error["details"][0]["message"]
        assert words in error["message"]
    cur = await db.execute("SELECT count(*) FROM field_mappings WHERE form_id = %s", (form_id,))
    assert await cur.fetchone() == (2,)  # the automatic mappings, untouched


async def test_every_mapping_problem_is_listed_at_once(client: httpx.AsyncClient, db: Conn) -> None:
    form_id = await _form(db)
    mappings = [
        {"source_kind": "question", "source_key": COLOUR_QUESTION, "field_key": "shoe_size"},
        {"source_kind": "hidden", "source_key": "utm_campaign", "field_key": "company"},
    ]
    response = await client.put(f"/api/forms/{form_id}/mappings", json={"mappings": mappings})
    error = _error(response, 422, "invalid_mappings")
    assert [(d["code"], d["field"], d["source"]) for d in error["details"]] == [
        ("identity_not_mapped", "email", None),
        ("field_missing", "shoe_size", f"question:{COLOUR_QUESTION}"),
        ("source_missing", "company", "hidden:utm_campaign"),
    ]
    assert "3 problems" in error["message"]


async def test_a_malformed_mapping_is_a_request_error(client: httpx.AsyncClient, db: Conn) -> None:
    form_id = await _form(db)
    bad = {"source_kind": "label", "source_key": "Email", "field_key": "email"}
    response = await client.put(f"/api/forms/{form_id}/mappings", json={"mappings": [bad]})
    error = _error(response, 422, "invalid_request")
    assert error["details"][0]["location"] == "body.mappings.0.source_kind"


# -- manual imports and runs -------------------------------------------------------------


def _sync_requests(settings: Settings, account_id: int, form_id: int) -> list[dict[str, Any]]:
    """The SyncRequests on the sync-requests topic keyed by the account's form, in order."""
    records = read_topic(settings.kafka_bootstrap_servers, settings.topics.sync_requests)
    return [
        json.loads(value) for key, value in records if key == f"{account_id}:{form_id}".encode()
    ]


async def test_a_manual_import_records_the_run_and_publishes_the_request(
    client: httpx.AsyncClient, db: Conn, settings: Settings, account: AccountWithToken
) -> None:
    form_id = await _form(db)
    await db.execute(
        "UPDATE form_counters SET imported = 5, updated = 2, errors = 1 WHERE form_id = %s",
        (form_id,),
    )
    options = {"reimport_existing": True, "restart_workflows": True, "all_submissions": True}
    response = await client.post(f"/api/forms/{form_id}/imports", json=options)
    assert response.status_code == 202, response.text
    run = response.json()
    assert response.headers["Location"] == f"/api/runs/{run['id']}"
    assert (run["status"], run["trigger"], run["form_id"]) == ("queued", "manual", form_id)
    assert all(run[name] for name in options)
    # The counters reset when the puller takes the run (test_counters.py), not before.
    assert await _one(
        db, "SELECT imported, updated, errors FROM form_counters WHERE form_id = %s", form_id
    ) == (5, 2, 1)
    assert await _one(db, "SELECT status FROM sync_runs WHERE id = %s", uuid.UUID(run["id"])) == (
        "queued",
    )
    (request,) = _sync_requests(settings, account.id, form_id)
    assert (
        request["run_id"],
        request["account_id"],
        request["form_id"],
        request["trigger"],
        request["options"],
    ) == (run["id"], account.id, form_id, "manual", options)

    followed = await client.get(response.headers["Location"])
    assert followed.status_code == 200
    assert followed.json() == run
    assert (run["imported"], run["updated"], run["errors"]) == (0, 0, 0)
    runs = (await client.get(f"/api/forms/{form_id}/runs")).json()["runs"]
    assert runs == [run | {"imported": None, "updated": None, "errors": None}]  # not counted
    listed = (await client.get(f"/api/forms/{form_id}")).json()
    assert listed["last_run"] == {
        "id": run["id"],
        "trigger": "manual",
        "status": "queued",
        "requested_at": run["requested_at"],
        "finished_at": None,
        "error": None,
    }

    again = await client.post(f"/api/forms/{form_id}/imports", json={})
    error = _error(again, 409, "run_active")
    assert run["id"] in error["message"]
    assert error["details"] == [{"run_id": run["id"], "location": f"/api/runs/{run['id']}"}]
    assert [r["run_id"] for r in _sync_requests(settings, account.id, form_id)] == [run["id"]]


async def test_restart_workflows_without_reimport_is_refused(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db)
    await db.execute("UPDATE form_counters SET imported = 4 WHERE form_id = %s", (form_id,))
    response = await client.post(f"/api/forms/{form_id}/imports", json={"restart_workflows": True})
    error = _error(response, 422, "invalid_request")
    assert "restart_workflows is only allowed together with reimport_existing" in error["message"]
    assert await _one(db, "SELECT count(*) FROM sync_runs WHERE form_id = %s", form_id) == (0,)
    assert await _one(db, "SELECT imported FROM form_counters WHERE form_id = %s", form_id) == (4,)


async def test_a_manual_import_of_a_form_with_import_off_is_refused(
    client: httpx.AsyncClient, db: Conn, settings: Settings, account: AccountWithToken
) -> None:
    form_id = await _form(db, enabled=False)
    error = _error(await client.post(f"/api/forms/{form_id}/imports"), 409, "import_disabled")
    assert error["message"].startswith(f"Import is off for form {form_id}: switch it on first")
    assert await _one(db, "SELECT count(*) FROM sync_runs WHERE form_id = %s", form_id) == (0,)
    assert _sync_requests(settings, account.id, form_id) == []


async def test_a_request_kafka_does_not_take_fails_the_run_and_answers_503(
    db: Conn, settings: Settings, account: AccountWithToken
) -> None:
    # The admin API's Kafka connections go through a proxy that refuses them, then lets
    # them through: the shared broker keeps running for everyone else.
    with KafkaProxy.for_bootstrap(settings.kafka_bootstrap_servers) as proxy:
        proxy.outage()
        through_proxy = settings.model_copy(
            update={"kafka_bootstrap_servers": f"127.0.0.1:{proxy.port}"}
        )
        async with admin_client(through_proxy, account.token) as client:
            form_id = await _form(db)
            await db.execute(
                "UPDATE form_counters SET imported = 6, errors = 2 WHERE form_id = %s", (form_id,)
            )
            started = time.monotonic()
            response = await client.post(f"/api/forms/{form_id}/imports", json={})
            assert time.monotonic() - started <= QUEUE_WITHIN_S + 0.5
            error = _error(response, 503, "kafka_unavailable")
            assert response.headers["Retry-After"] == "10"
            run_id = uuid.UUID(error["details"][0]["run_id"])
            status, reason = await _one(
                db, "SELECT status, error FROM sync_runs WHERE id = %s", run_id
            )
            assert (status, reason) == (
                "failed",
                "not queued: Kafka did not acknowledge the record: Local: Message timed out",
            )
            # Refused (503): the counters stand, and no backoff (a manual run).
            assert await _one(
                db,
                "SELECT c.imported, c.errors, f.sync_failures FROM form_counters c"
                " JOIN forms f ON f.account_id = c.account_id AND f.id = c.form_id"
                " WHERE c.form_id = %s",
                form_id,
            ) == (6, 2, 0)

            # Failed, not active: the next request may go ahead once Kafka is back, and only
            # it reaches the topic (librdkafka gave up on the first before the 503).
            proxy.recover()
            deadline = time.monotonic() + 30
            while (
                retried := await client.post(f"/api/forms/{form_id}/imports")
            ).status_code != 202:
                assert retried.status_code == 503, retried.text
                assert time.monotonic() < deadline, "Kafka never took a request after recovering"
            sync_requests_ = _sync_requests(settings, account.id, form_id)
            assert [r["run_id"] for r in sync_requests_] == [retried.json()["id"]]


async def test_a_cli_import_kafka_does_not_take_fails_its_run_instead_of_blocking_the_form(
    db: Conn, settings: Settings, account: AccountWithToken
) -> None:
    """The command line's ``sync`` starts its run as the API does (one home, with the
    publisher the command makes): a request Kafka did not take fails the run."""
    form_id = await _form(db)
    with KafkaProxy.for_bootstrap(settings.kafka_bootstrap_servers) as proxy:
        proxy.outage()
        through_proxy = settings.model_copy(
            update={"kafka_bootstrap_servers": f"127.0.0.1:{proxy.port}"}
        )
        async with Database.from_settings(settings) as pool:
            with pytest.raises(RequestNotQueued, match="Message timed out") as caught:
                await request_manual_import_once(
                    through_proxy,
                    pool,
                    form_id,
                    SyncOptions(),
                    "cli",
                    account_id=account.id,
                    queue_within_s=QUEUE_WITHIN_S,
                )
            assert await _one(db, "SELECT count(*) FROM sync_runs WHERE form_id = %s", form_id) == (
                1,
            )
            run_id, status, reason = await _one(
                db, "SELECT id, status, error FROM sync_runs WHERE form_id = %s", form_id
            )
            assert (run_id, status) == (caught.value.run_id, "failed")
            assert reason == (
                "not queued: Kafka did not acknowledge the record: Local: Message timed out"
            )
            # Not left queued: the next import of the form goes ahead.
            retried = await request_manual_import_once(
                settings, pool, form_id, SyncOptions(), "cli", account_id=account.id
            )
    assert [r["run_id"] for r in _sync_requests(settings, account.id, form_id)] == [str(retried)]


# -- error log CSV -----------------------------------------------------------------------


async def test_the_error_log_downloads_as_injection_safe_csv(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form_id = await _form(db, name="=Evil Form")
    run_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO error_log (occurred_at, form_id, lead_id, stage, code, message, field,"
        " origin, sync_run_id) VALUES"
        " ('2026-11-01T10:00:00Z', %(f)s, 'lead-1', 'mapping', 'identity_missing',"
        "  'the lead has no email, \"quoted\"', 'email', 'push', NULL),"
        " ('2026-11-01T11:00:00Z', %(f)s, '-2+3', 'mapping', 'invalid_value',"
        "  '=HYPERLINK(\"http://evil\")', '@company', 'manual', %(r)s)",
        {"f": form_id, "r": run_id},
    )
    response = await client.get(f"/api/forms/{form_id}/errors.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="leadsync-errors-form-{form_id}-')
    assert disposition.endswith('.csv"')
    lines = response.text.split("\r\n")
    assert lines[0] == (
        "time,form id,form name,lead id,stage,kind,code,message,field,origin,sync run"
    )
    assert lines[1] == (
        f"2026-11-01T10:00:00+00:00,{form_id},'=Evil Form,lead-1,mapping,configuration,"
        'identity_missing,"the lead has no email, ""quoted""",email,push,'
    )
    assert lines[2] == (
        f"2026-11-01T11:00:00+00:00,{form_id},'=Evil Form,'-2+3,mapping,configuration,"
        f'invalid_value,"\'=HYPERLINK(""http://evil"")",\'@company,manual,{run_id}'
    )
    assert lines[3:] == [""]

    everything = await client.get("/api/errors.csv")
    assert everything.status_code == 200
    assert 'filename="leadsync-errors-all-forms-' in everything.headers["content-disposition"]
    assert lines[1] in everything.text.split("\r\n")


# -- contacts ----------------------------------------------------------------------------


async def _contact(
    db: Conn,
    form_id: int,
    form_name: str,
    *,
    test_lead: bool,
    owner: str = "urn:li:sponsoredAccount:1234567",
    campaign: str = "urn:li:sponsoredCampaign:198356826",
    import_date: datetime | None = None,
) -> str:
    (contact_id,) = await _one(
        db,
        "INSERT INTO contacts (email, linkedin_imported, linkedin_import_date, sources)"
        " VALUES (%s, true, %s, '{linkedin}') RETURNING id",
        f"{_unique('contact')}@example.com",
        import_date or datetime.now(UTC),
    )
    await db.execute(
        "INSERT INTO form_submissions (contact_id, form_id, lead_id, form_name, form_version,"
        " owner_urn, campaign_urn, lead_type, test_lead, submitted_at, raw_lead)"
        " VALUES (%s, %s, %s, %s, 1, %s, %s, 'SPONSORED', %s, now(), %s)",
        (contact_id, form_id, _unique("lead"), form_name, owner, campaign, test_lead, Jsonb({})),
    )
    return str(contact_id)


async def _ids(client: httpx.AsyncClient, **params: Any) -> set[str]:
    response = await client.get("/api/contacts", params=params)
    assert response.status_code == 200, response.text
    return {contact["id"] for contact in response.json()["contacts"]}


async def test_contacts_are_filtered_by_their_linkedin_fields(
    client: httpx.AsyncClient, db: Conn
) -> None:
    name = _unique("Test Form")
    form, other = await _form(db, name=name), await _form(db)
    test_of_form = await _contact(db, form, name, test_lead=True)
    real_of_form = await _contact(
        db,
        form,
        name,
        test_lead=False,
        owner="urn:li:sponsoredAccount:7654321",
        campaign="urn:li:sponsoredCampaign:42",
        import_date=datetime(2026, 1, 15, tzinfo=UTC),
    )
    test_of_other = await _contact(db, other, "Other", test_lead=True)

    # "contacts whose submissions are test leads of form Test Form": one submission, both.
    assert await _ids(client, form_name=name.upper(), test_lead=True) == {test_of_form}
    assert await _ids(client, form_id=form) == {test_of_form, real_of_form}
    assert await _ids(client, form_id=form, test_lead=False) == {real_of_form}
    assert await _ids(client, form_id=other, test_lead=True) == {test_of_other}
    assert await _ids(client, form_id=form, ad_account="7654321") == {real_of_form}
    assert await _ids(client, form_id=form, ad_account="urn:li:sponsoredAccount:1234567") == {
        test_of_form
    }
    assert await _ids(client, form_id=form, campaign="42") == {real_of_form}
    assert await _ids(
        client, form_id=form, imported_from="2026-01-01T00:00:00Z", imported_to="2026-02-01"
    ) == {real_of_form}
    assert await _ids(client, form_id=form, imported=False) == set()

    page = (await client.get("/api/contacts", params={"form_id": form})).json()["contacts"]
    listed = next(c for c in page if c["id"] == test_of_form)
    submission = listed["submissions"][0]
    assert (submission["form_name"], submission["test_lead"]) == (name, True)
    one = await client.get(f"/api/contacts/{test_of_form}")
    assert one.status_code == 200, one.text
    assert one.json() == listed


async def test_contacts_come_in_pages_that_never_repeat(
    client: httpx.AsyncClient, db: Conn
) -> None:
    form = await _form(db)
    created = {await _contact(db, form, "Paged", test_lead=False) for _ in range(5)}
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"form_id": form, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/contacts", params=params)).json()
        pages.append([contact["id"] for contact in page["contacts"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(ids) for ids in pages] == [2, 2, 1]
    seen = [contact_id for ids in pages for contact_id in ids]
    assert sorted(seen) == sorted(created)
    _error(
        await client.get("/api/contacts", params={"cursor": "not-a-cursor"}), 400, "invalid_cursor"
    )
    _error(await client.get("/api/contacts", params={"limit": 0}), 422, "invalid_request")


async def test_an_unexpected_failure_keeps_the_error_shape(
    settings: Settings, account: AccountWithToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> list[dict[str, Any]]:
        raise RuntimeError("relation does not exist")

    monkeypatch.setattr(forms_routes, "list_form_rows", broken)
    app = create_app(settings)
    token = account.token
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as http:
        response = await http.get("/api/forms", headers={"Authorization": f"Bearer {token}"})
    body = _error(response, 500, "internal_error")
    assert "relation" not in body["message"]
    await app.state.database.close()


# -- another account's data ----------------------------------------------------------------


@pytest.fixture
async def other(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "other")


@pytest.fixture
async def other_db(settings: Settings, other: AccountWithToken) -> AsyncIterator[Conn]:
    """A connection inserting the other account's rows."""
    async with await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as conn:
        await hold_for_session(conn, other.id)
        yield conn


async def _all_contacts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 500}
    while True:
        page = await client.get("/api/contacts", params=params)
        assert page.status_code == 200, page.text
        contacts += page.json()["contacts"]
        if page.json()["next_cursor"] is None:
            return contacts
        params["cursor"] = page.json()["next_cursor"]


async def test_another_accounts_form_contact_run_and_error_log_are_404_and_never_listed(
    client: httpx.AsyncClient,
    db: Conn,
    settings: Settings,
    account: AccountWithToken,
    other: AccountWithToken,
    other_db: Conn,
) -> None:
    secret = _unique("other-secret")
    form = await _form(other_db, name=f"Form {secret}")
    contact = await _contact(other_db, form, f"Form {secret}", test_lead=False)
    (email,) = await _one(db, "SELECT email FROM contacts WHERE id = %s", uuid.UUID(contact))
    await other_db.execute(
        "INSERT INTO error_log (form_id, lead_id, stage, code, message, origin)"
        " VALUES (%s, 'lead-of-other', 'mapping', 'identity_missing', %s, 'push')",
        (form, f"the lead has no email ({secret})"),
    )
    field = f"shoe_size_{uuid.uuid4().hex[:8]}"
    await other_db.execute(
        "INSERT INTO contact_fields (key, label, type) VALUES (%s, %s, 'text')", (field, secret)
    )
    async with admin_client(settings, other.token) as own:
        started = await own.post(f"/api/forms/{form}/imports", json={})
        assert started.status_code == 202, started.text
        run = started.json()["id"]
        # Its own token reads every one of them: the 404s below are the token's doing.
        for path in (
            f"/api/forms/{form}",
            f"/api/forms/{form}/mappings",
            f"/api/forms/{form}/runs",
            f"/api/forms/{form}/errors.csv",
            f"/api/runs/{run}",
            f"/api/contacts/{contact}",
        ):
            response = await own.get(path)
            assert response.status_code == 200, (path, response.text)
        assert secret in (await own.get("/api/errors.csv")).text
    settings_before = await _one(
        db,
        "SELECT import_enabled, periodic_sync, sync_interval_hours FROM forms WHERE id = %s",
        form,
    )
    mappings_before = await _one(db, "SELECT count(*) FROM field_mappings WHERE form_id = %s", form)

    for method, path, body in (
        ("GET", f"/api/forms/{form}", None),
        ("PATCH", f"/api/forms/{form}", {"import_enabled": False, "sync_interval_hours": 1}),
        ("GET", f"/api/forms/{form}/mappings", None),
        ("PUT", f"/api/forms/{form}/mappings", {"mappings": []}),
        ("POST", f"/api/forms/{form}/imports", {}),
        ("GET", f"/api/forms/{form}/runs", None),
        ("GET", f"/api/forms/{form}/errors.csv", None),
        ("GET", f"/api/runs/{run}", None),
        ("GET", f"/api/contacts/{contact}", None),
    ):
        response = await client.request(method, path, json=body)
        _error(response, 404, "not_found")
        assert secret not in response.text
        assert email not in response.text
    # Nothing of it changed, no run was added, no request published for it.
    assert (
        await _one(
            db,
            "SELECT import_enabled, periodic_sync, sync_interval_hours FROM forms WHERE id = %s",
            form,
        )
        == settings_before
    )
    assert (
        await _one(db, "SELECT count(*) FROM field_mappings WHERE form_id = %s", form)
        == mappings_before
    )
    assert await _one(db, "SELECT count(*) FROM sync_runs WHERE form_id = %s", form) == (1,)
    assert [r["run_id"] for r in _sync_requests(settings, other.id, form)] == [run]
    assert _sync_requests(settings, account.id, form) == []

    # Nor does any of it appear in the account's lists.
    mine = await _form(db)
    forms = (await client.get("/api/forms")).json()["forms"]
    assert mine in {f["id"] for f in forms}
    assert form not in {f["id"] for f in forms}
    assert secret not in json.dumps(forms)
    contacts = await _all_contacts(client)
    assert contact not in {c["id"] for c in contacts}
    assert email not in {c["email"] for c in contacts}
    assert await _ids(client, form_id=form) == set()
    errors = await client.get("/api/errors.csv")
    assert errors.status_code == 200
    assert secret not in errors.text
    assert "lead-of-other" not in errors.text
    fields = (await client.get("/api/fields")).json()["fields"]
    assert field not in {f["key"] for f in fields}
    assert "email" in {f["key"] for f in fields}  # the account's own registry is there


async def test_a_form_both_accounts_hold_shows_each_its_own_copy(
    client: httpx.AsyncClient,
    db: Conn,
    settings: Settings,
    account: AccountWithToken,
    other: AccountWithToken,
    other_db: Conn,
) -> None:
    """Two accounts connected to one ad account each hold the form, with its own settings
    and counters: neither sees or changes the other's."""
    form = await _form(db, name="Ours")
    await _form(other_db, form_id=form, name="Theirs", enabled=False)
    await other_db.execute(
        "UPDATE form_counters SET imported = 7 WHERE form_id = %s AND account_id = %s",
        (form, other.id),
    )
    ours = (await client.get(f"/api/forms/{form}")).json()
    assert (ours["name"], ours["import_enabled"], ours["counters"]["imported"]) == (
        "Ours",
        True,
        0,
    )
    assert [f["id"] for f in (await client.get("/api/forms")).json()["forms"]].count(form) == 1

    changed = await client.patch(f"/api/forms/{form}", json={"sync_interval_hours": 6})
    assert changed.json()["sync_interval_hours"] == 6
    cur = await db.execute(
        "SELECT a.name, f.name, f.sync_interval_hours FROM forms f"
        " JOIN accounts a ON a.id = f.account_id WHERE f.id = %s ORDER BY f.name",
        (form,),
    )
    assert set(await cur.fetchall()) == {(account.name, "Ours", 6), (other.name, "Theirs", 24)}
    async with admin_client(settings, other.token) as theirs:
        seen = (await theirs.get(f"/api/forms/{form}")).json()
    assert (seen["name"], seen["import_enabled"], seen["counters"]["imported"]) == (
        "Theirs",
        False,
        7,
    )


# -- tokens in logs ------------------------------------------------------------------------


async def test_no_token_reaches_the_admin_process_log(
    settings: Settings, account: AccountWithToken, other: AccountWithToken
) -> None:
    served = settings.model_copy(update={"admin_port": free_port(), "log_level": "debug"})
    operator = settings.admin_token.get_secret_value()
    wrong = "lsk_" + uuid.uuid4().hex
    with Admin(served) as admin:
        async with httpx.AsyncClient(base_url=admin.url) as http:
            for token, method, path, status in (
                (account.token, "GET", "/api/forms", 200),
                (account.token, "GET", "/api/accounts", 403),
                (operator, "GET", "/api/contacts", 403),
                (operator, "GET", "/api/accounts", 200),
                (wrong, "GET", "/api/forms", 401),
                (other.token, "GET", f"/api/runs/{uuid.uuid4()}", 404),
                (account.token, "GET", "/api/contacts?cursor=not-a-cursor", 400),
            ):
                answer = await http.request(
                    method, path, headers={"Authorization": f"Bearer {token}"}
                )
                assert answer.status_code == status, (path, answer.text)
        raw = admin.log_tail(10_000)
    # One JSON object per line (leadsync.logs); the tokens are looked for everywhere in it.
    log = "\n".join(json.loads(line)["message"] for line in raw.splitlines())
    assert '"GET /api/forms HTTP/1.1" 200' in log  # the access log is on, and read here
    assert '"GET /api/accounts HTTP/1.1" 403' in log
    for token in (account.token, other.token, operator, wrong):
        assert token not in raw
    assert token_hash(account.token).hex() not in raw
