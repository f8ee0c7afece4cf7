"""The error log's JSON pages (``GET /api/errors``, ``GET /api/forms/{id}/errors``) on the
real database: following ``next_before`` walks the whole log once, newest first, with the
kind filter, lines of the same second included; lines written between two page reads are
neither shown twice nor lost; a cursor the API did not give is a 422 in the API's error
shape; another account's cursor or form shows nothing of that account; the OpenAPI document
says how to page."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg import AsyncConnection

from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.events import ErrorEvent
from schemas.linkedin import Lead
from sinks.database import Database
from sinks.error_log import record_errors
from sinks.forms import register_from_leads
from tests.integration.admin_client import (
    AccountWithToken,
    admin_client,
    hold_for_session,
    new_account,
)
from tests.integration.produce import lead_for

# When this module's lines happened (the error agent writes the event's time, not now()).
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _form_id() -> int:
    return int(uuid.uuid4().int % 900_000_000) + 100_000_000


def _line(
    account_id: int, form_id: int, lead: str, at: datetime, code: str = "invalid_value"
) -> ErrorEvent:
    """A line as the error agent writes it (an ``ErrorEvent`` through ``record_errors``)."""
    return ErrorEvent(
        error_id=uuid.uuid4(),
        occurred_at=at,
        stage="map",
        code=code,
        message=f"{code} of {lead}",
        account_id=account_id,
        form_id=form_id,
        lead_id=f"urn:li:leadFormResponse:{lead}",
        origin="push",
    )


async def _new_form(settings: Settings, account_id: int) -> int:
    form_id = _form_id()
    lead = Lead.model_validate(lead_for(f"lead-{form_id}", "a@example.com", form_id=form_id))
    async with await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as db:
        await hold_for_session(db, account_id)
        await register_from_leads(db, [lead], auto_mappings)
    return form_id


async def _record(settings: Settings, account_id: int, events: list[ErrorEvent]) -> None:
    async with Database.from_settings(settings, max_size=1) as db, db.account(account_id) as conn:
        assert await record_errors(conn, events) == len(events)


async def _in_order(
    settings: Settings, account_id: int, form_id: int | None = None, kind: str | None = None
) -> list[str]:
    """The account's lead ids as the database orders its log, newest first."""
    async with Database.from_settings(settings, max_size=1) as db, db.account(account_id) as conn:
        cur = await conn.execute(
            "SELECT lead_id FROM error_log"
            " WHERE (%(form)s::bigint IS NULL OR form_id = %(form)s)"
            "   AND (%(kind)s::text IS NULL OR kind = %(kind)s)"
            " ORDER BY occurred_at DESC, id DESC",
            {"form": form_id, "kind": kind},
        )
        return [lead for (lead,) in await cur.fetchall()]


async def _walk(client: httpx.AsyncClient, path: str, **params: Any) -> tuple[list[str], list[int]]:
    """Every page from the newest, following ``next_before``: the lead ids in the order
    shown, and each page's size."""
    leads: list[str] = []
    sizes: list[int] = []
    before: str | None = None
    while True:
        query = params | ({"before": before} if before is not None else {})
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        leads += [line["lead_id"] for line in body["errors"]]
        sizes.append(len(body["errors"]))
        before = body["next_before"]
        if before is None:
            return leads, sizes
        assert len(sizes) < 100, "the pages never end"


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, "errorpages")


@pytest.fixture(scope="module")
async def client(settings: Settings, account: AccountWithToken) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings, account.token) as http:
        yield http


@pytest.fixture(scope="module")
async def logged_form(settings: Settings, account: AccountWithToken) -> int:
    """A form with 23 lines, two kinds, several of them written at the same instant (one
    batch), so that pages end between lines of the same time."""
    form_id = await _new_form(settings, account.id)
    events = []
    for n in range(23):
        at = START + timedelta(minutes=n // 4)  # four lines a minute: ties on the time
        code = "connection_revoked" if n % 3 == 0 else "invalid_value"
        events.append(_line(account.id, form_id, f"walk-{n}", at, code))
    await _record(settings, account.id, events)
    return form_id


async def test_the_pages_walk_the_whole_log_once_newest_first(
    settings: Settings, account: AccountWithToken, client: httpx.AsyncClient, logged_form: int
) -> None:
    path = f"/api/forms/{logged_form}/errors"
    expected = await _in_order(settings, account.id, logged_form)
    assert len(expected) == 23
    for limit in (1, 4, 5, 22, 23, 24):
        leads, sizes = await _walk(client, path, limit=limit)
        assert leads == expected, limit
        assert all(size == limit for size in sizes[:-1]), (limit, sizes)
        assert 0 < sizes[-1] <= limit, (limit, sizes)
    # The default page holds them all: no next page.
    whole = (await client.get(path)).json()
    assert [line["lead_id"] for line in whole["errors"]] == expected
    assert whole["next_before"] is None


async def test_the_pages_keep_the_kind_filter(
    settings: Settings, account: AccountWithToken, client: httpx.AsyncClient, logged_form: int
) -> None:
    for kind in ("connection", "configuration"):
        expected = await _in_order(settings, account.id, logged_form, kind)
        assert len(expected) == (8 if kind == "connection" else 15)
        leads, sizes = await _walk(client, f"/api/forms/{logged_form}/errors", kind=kind, limit=3)
        assert leads == expected
        assert len(sizes) == -(-len(expected) // 3)
    # The account's whole log pages the same way (this form's lines among the others).
    expected = await _in_order(settings, account.id, None, "connection")
    leads, _sizes = await _walk(client, "/api/errors", kind="connection", limit=2)
    assert leads == expected
    assert {f"urn:li:leadFormResponse:walk-{n}" for n in range(0, 23, 3)} <= set(leads)


async def test_lines_written_between_two_page_reads_are_neither_repeated_nor_lost(
    settings: Settings, account: AccountWithToken, client: httpx.AsyncClient
) -> None:
    form_id = await _new_form(settings, account.id)
    path = f"/api/forms/{form_id}/errors"
    at = START - timedelta(days=1)
    await _record(
        settings,
        account.id,
        [_line(account.id, form_id, f"before-{n}", at + timedelta(minutes=n)) for n in range(12)],
    )
    first = (await client.get(path, params={"limit": 5})).json()
    shown = [line["lead_id"] for line in first["errors"]]
    reached = datetime.fromisoformat(first["errors"][-1]["occurred_at"])  # before-7

    # Meanwhile: newer lines (the walk has passed them: the next walk's first page), lines
    # older than where the walk is (ahead of it: shown once, in their place), and one of the
    # very time it reached (written after that line: passed, as the newer ones).
    newer = [_line(account.id, form_id, f"newer-{n}", at + timedelta(hours=1)) for n in range(2)]
    older = [
        _line(account.id, form_id, "older-a", at + timedelta(minutes=2, seconds=30)),
        _line(account.id, form_id, "older-b", at - timedelta(minutes=5)),
    ]
    same_time = [_line(account.id, form_id, "same-time", reached)]
    await _record(settings, account.id, newer + older + same_time)

    before = first["next_before"]
    while before is not None:
        page = (await client.get(path, params={"limit": 5, "before": before})).json()
        shown += [line["lead_id"] for line in page["errors"]]
        before = page["next_before"]

    def urn(lead: str) -> str:
        return f"urn:li:leadFormResponse:{lead}"

    assert shown == [
        urn(lead)
        for lead in [f"before-{n}" for n in range(11, 2, -1)]
        + ["older-a"]
        + [f"before-{n}" for n in range(2, -1, -1)]
        + ["older-b"]
    ]
    # A new walk has every line once, the ones written meanwhile included.
    leads, _sizes = await _walk(client, path, limit=5)
    assert leads == await _in_order(settings, account.id, form_id)
    assert len(leads) == len(set(leads)) == 17


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "before",
    [
        "",
        "abc",
        "not base64 at all!",
        "%00",
        _cursor(["not a time", 1]),
        _cursor(["2026-03-01T09:00:00", 1]),  # no time zone
        _cursor(["2026-03-01T09:00:00+00:00", "1"]),
        _cursor(["2026-03-01T09:00:00+00:00", 1.5]),
        _cursor(["2026-03-01T09:00:00+00:00", True]),
        _cursor(["2026-03-01T09:00:00+00:00", 0]),
        _cursor(["2026-03-01T09:00:00+00:00", 2**63]),  # past a bigint
        _cursor(["9999-12-31T23:00:00-05:00", 1]),  # past Python's year 9999 in UTC
        _cursor(["2026-03-01T09:00:00+00:00", 1, 2]),
        _cursor({"at": "2026-03-01T09:00:00+00:00", "id": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * 201,
    ],
)
async def test_a_cursor_the_api_did_not_give_is_a_422(
    client: httpx.AsyncClient, logged_form: int, before: str
) -> None:
    for path in ("/api/errors", f"/api/forms/{logged_form}/errors"):
        response = await client.get(path, params={"before": before})
        assert response.status_code == 422, (path, response.text)
        body = response.json()
        assert body["error"] == "invalid_request"
        assert body["message"].startswith("query.before: ")
        assert [d["location"] for d in body["details"]] == ["query.before"]


async def test_another_account_s_cursor_or_form_shows_nothing_of_it(
    settings: Settings, account: AccountWithToken, client: httpx.AsyncClient, logged_form: int
) -> None:
    theirs = await client.get(f"/api/forms/{logged_form}/errors", params={"limit": 3})
    cursor = theirs.json()["next_before"]
    assert cursor is not None
    mine = [line["lead_id"] for line in theirs.json()["errors"]]

    other = await new_account(settings, "othererrors")
    other_form = await _new_form(settings, other.id)
    # A line older than where the cursor points: the other account's cursor reaches it.
    await _record(settings, other.id, [_line(other.id, other_form, "other-1", START)])
    async with admin_client(settings, other.token) as stranger:
        refused = await stranger.get(f"/api/forms/{logged_form}/errors", params={"before": cursor})
        assert refused.status_code == 404
        assert refused.json()["error"] == "not_found"
        for path in ("/api/errors", f"/api/forms/{other_form}/errors"):
            leads, _sizes = await _walk(stranger, path, before=cursor, limit=1)
            assert leads == ["urn:li:leadFormResponse:other-1"], path
    everything, _sizes = await _walk(client, "/api/errors", limit=50)
    assert "urn:li:leadFormResponse:other-1" not in everything
    assert set(mine) <= set(everything)


async def test_the_openapi_document_says_how_to_page(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path in ("/api/errors", "/api/forms/{form_id}/errors"):
        operation = document["paths"][path]["get"]
        assert "next_before" in operation["description"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert "next_before" in params["before"]["description"]
        assert params["limit"]["schema"]["maximum"] == 1000
        assert "422" in operation["responses"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[1]
        fields = document["components"]["schemas"][name]["properties"]
        assert {"errors", "next_before"} <= set(fields)
        assert "before" in fields["next_before"]["description"]
