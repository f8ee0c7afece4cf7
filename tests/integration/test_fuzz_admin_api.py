"""The admin API fuzzed from its own OpenAPI document (schemathesis), in-process on the real
database and broker, three ways: with an account's API token, with the operator token, and
with no token or one that opens nothing.

Whatever the request, valid or not: no answer is a server error, every status answered is
one the document lists for that operation, every body and header matches what it documents
there, a method it does not list is 405 with an ``Allow`` header naming the documented ones,
and without a valid token every ``/api`` operation is refused (401) before anything else.

The run is bounded for CI: a fixed seed, deterministic generation (the same requests on
every run), no example database (no failure of an earlier run replayed), a few examples per
operation beside schemathesis' coverage cases, no deadline (a request's time is PostgreSQL's
and Kafka's, not the code under test's).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from psycopg import AsyncConnection
from schemathesis import BaseSchema, Response
from schemathesis import Case as AnyCase
from schemathesis.python.asgi import shutdown_lifespans

from admin.app import create_app
from leadsync.api_tokens import new_token
from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.linkedin import Lead
from sinks.forms import register_from_leads
from tests.integration.admin_client import (
    AccountWithToken,
    admin_client,
    hold_for_session,
    new_account,
)
from tests.integration.produce import lead_for

pytestmark = pytest.mark.integration

# Typed by its operation's class, which the tests do not need.
Case = AnyCase[Any]

# What schemathesis.toml would say; given here so that no file elsewhere changes the run.
FUZZ_CONFIG = {
    "seed": 15,
    "generation": {
        "max-examples": 8,
        "deterministic": True,
        "database": "none",
        "mode": "all",  # valid requests and invalid ones
    },
    # Operations one at a time: chaining them (stateful) would multiply the run.
    "phases": {"stateful": {"enabled": False}},
    # What the API promises, checked on every answer. Left out: the checks that expect every
    # schema-valid body to be accepted (a mapping to a field the account lacks is valid JSON
    # and a documented 422) or reason about resources made by earlier requests.
    "checks": {
        "enabled": False,
        **{
            name: {"enabled": True}
            for name in (
                "not_a_server_error",
                "status_code_conformance",
                "content_type_conformance",
                "response_schema_conformance",
                "response_headers_conformance",
                "unsupported_method",
                "allow_header_conformance",
                "ignored_auth",
            )
        },
    },
}

schema = schemathesis.pytest.from_fixture("admin_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis' fixture-loaded tests (4.32) read and rename ``item._nodeid`` to name
    each operation's subtest; pytest 9.2 keeps the node id elsewhere (``nodeid`` is
    read-only, no ``_nodeid``). Given back as a plain attribute, it does what it did: the
    subtests are reported by operation either way (their label). A no-op once either side
    has the attribute again."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture
def admin_app(settings: Settings) -> Iterator[FastAPI]:
    """The admin app, one per test: schemathesis runs it (and its lifespan) on an event loop
    of its own and ends that lifespan after each test (closing the app's database pool and
    Kafka producer, which cannot be opened again)."""
    app = create_app(settings)
    yield app
    shutdown_lifespans()


@pytest.fixture
def admin_schema(admin_app: FastAPI) -> BaseSchema:
    config = schemathesis.Config.from_dict(FUZZ_CONFIG)
    return schemathesis.openapi.from_asgi("/openapi.json", admin_app, config=config)


@pytest.fixture(scope="module")
async def fuzzed_account(settings: Settings) -> AccountWithToken:
    """An account with one form (predefined questions mapped), whose id the fuzzing uses
    beside generated ones, so that valid bodies reach a form that exists."""
    return await new_account(settings, prefix="fuzz")


@pytest.fixture(scope="module")
async def known_form_id(settings: Settings, fuzzed_account: AccountWithToken) -> int:
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("fuzz", "fuzz@example.com", form_id=form_id))
    async with await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as db:
        await hold_for_session(db, fuzzed_account.id)
        await register_from_leads(db, [lead], auto_mappings)
    return form_id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _without_authorization(case: Case) -> None:
    """Drop whatever ``Authorization`` schemathesis generated from the security schemes."""
    if case.headers:
        for name in [n for n in case.headers if n.lower() == "authorization"]:
            del case.headers[name]


def _documented_methods(case: Case) -> set[str]:
    return {m.upper() for m in case.operation.schema.raw_schema["paths"][case.operation.path]}


def _sent_method(response: Response) -> str:
    return str(response.request.method).upper()


@schema.parametrize()
def test_an_account_token_gets_only_documented_answers(
    case: Case, fuzzed_account: AccountWithToken, known_form_id: int
) -> None:
    form_id = case.path_parameters.get("form_id") if case.path_parameters else None
    # Half the valid form ids become the account's form: a generated id names no form, and
    # every request for it ends at the same 404.
    if isinstance(form_id, int) and form_id % 2 == 0:
        case.path_parameters["form_id"] = known_form_id
    _without_authorization(case)
    case.call_and_validate(headers=_bearer(fuzzed_account.token))


@schema.parametrize()
def test_the_operator_token_gets_only_documented_answers(case: Case, settings: Settings) -> None:
    _without_authorization(case)
    case.call_and_validate(headers=_bearer(settings.admin_token.get_secret_value()))


@schema.parametrize()
def test_without_a_valid_token_every_api_operation_is_refused(case: Case) -> None:
    _without_authorization(case)
    for headers in ({}, _bearer("not-a-token"), _bearer(new_token())):
        assert_refused(case, case.call_and_validate(headers=headers))


def assert_refused(case: Case, response: Response) -> None:
    """401 for every ``/api`` operation; the OAuth pages are the member's browser's, opened
    by single-use states instead. Two answers come before the token is looked at, and give
    nothing away: 405 for a method the path does not have, and 422 for a body that is not
    JSON text at all (FastAPI reads the body before it resolves the route's dependencies)."""
    method = _sent_method(response)
    if not case.operation.path.startswith("/api/") or method not in _documented_methods(case):
        return
    if response.status_code == 422 and not _is_json_text(response.request.body):
        return
    assert response.status_code == 401, (
        f"{method} {case.formatted_path} answered {response.status_code} without a valid"
        f" token: {response.text[:300]}"
    )
    assert response.headers.get("www-authenticate", [""])[0].startswith("Bearer")


def _is_json_text(body: object) -> bool:
    """Whether a request's body (as requests prepared it: bytes here) parses as JSON."""
    if not body:
        return True
    if not isinstance(body, bytes | str):
        return False
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


# What the fuzzing found once, kept as plain examples that say what a client sees.


async def test_a_wrong_method_is_405_naming_every_method_of_the_path(settings: Settings) -> None:
    async with admin_client(settings) as client:
        for method in ("OPTIONS", "PUT", "DELETE"):
            answer = await client.request(method, "/api/forms/1")
            assert answer.status_code == 405
            assert answer.headers["allow"] == "GET, PATCH"
            assert answer.json()["error"] == "method_not_allowed"


async def test_a_json_body_that_is_not_utf8_is_the_documented_422(
    settings: Settings, fuzzed_account: AccountWithToken, known_form_id: int
) -> None:
    async with admin_client(settings, fuzzed_account.token) as client:
        answer = await client.patch(
            f"/api/forms/{known_form_id}",
            content=b'{"import_enabled": "\xff"}',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


async def test_nul_in_a_filter_or_an_account_name_is_refused_not_a_server_error(
    settings: Settings, fuzzed_account: AccountWithToken
) -> None:
    async with admin_client(settings, fuzzed_account.token) as client:
        contacts = await client.get("/api/contacts", params={"form_name": "a\x00b"})
    async with admin_client(settings) as operator:
        disable = await operator.post("/api/accounts/a%00b/disable")
    assert (contacts.status_code, contacts.json()["error"]) == (422, "invalid_request")
    assert (disable.status_code, disable.json()["error"]) == (422, "invalid_request")


async def test_a_numeric_id_too_long_for_its_urn_is_refused_not_stored(
    settings: Settings, fuzzed_account: AccountWithToken
) -> None:
    """A numeric ad account or campaign id is kept as its URN, longer than the id: within
    the field's 200 characters as given, past them as kept. The contacts list answered 500,
    and an audience saved so would have broken every later read of the account's audiences."""
    digits = "9" * 190
    async with admin_client(settings, fuzzed_account.token) as client:
        contacts = await client.get("/api/contacts", params={"ad_account": digits})
        created = await client.post(
            "/api/audiences", json={"name": "too long", "filter": {"campaign": digits}}
        )
        audiences = await client.get("/api/audiences")
    assert (contacts.status_code, contacts.json()["error"]) == (422, "invalid_request")
    assert (created.status_code, created.json()["error"]) == (422, "invalid_request")
    assert audiences.status_code == 200
    assert "too long" not in [a["name"] for a in audiences.json()["audiences"]]
