"""The console's pages fuzzed (hypothesis), signed in, on the real database and broker: any
``GET`` of a console page, with any path id and any query string a hand-edited or
bookmarked URL can carry, answers a page (HTML, or the CSV it offers), never a server error.

The pages are not in the OpenAPI document, so schemathesis cannot drive them: the requests
are drawn here from the pages' own routes and the query parameters they read, plus
parameters no page knows. Bounded for CI like the API's fuzzing: deterministic, no example
database, no deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg import AsyncConnection

from leadsync.settings import Settings
from mapping.apply import auto_mappings
from schemas.linkedin import Lead
from sinks.contacts_query import ContactFilter
from sinks.forms import register_from_leads
from tests.integration.admin_client import AccountWithToken, hold_for_session, new_account
from tests.integration.console_client import (
    browser,
    console_app,
    console_client,
    new_console_user,
)
from tests.integration.produce import lead_for

pytestmark = pytest.mark.integration

FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,  # a page's time is PostgreSQL's
    derandomize=True,  # the same requests on every run: CI stays stable
    database=None,  # no failure of an earlier run replayed
    suppress_health_check=[HealthCheck.too_slow],
)

# An account user's pages; ``{id}`` is a form, run, contact or audience id.
ACCOUNT_PAGES = (
    "/console/",
    "/console/sign-in",
    "/console/forms",
    "/console/forms/{id}",
    "/console/forms/{id}/mapping",
    "/console/forms/{id}/errors",
    "/console/forms/{id}/errors.csv",
    "/console/runs/{id}",
    "/console/contacts",
    "/console/contacts/{id}",
    "/console/audiences",
    "/console/audiences/{id}",
    "/console/audiences/{id}.csv",
    "/console/audiences/{id}/count",
    "/console/linkedin",
    "/console/users",
    "/console/operator",  # the 403 page for an account's user
    "/console/no-such-page/{id}",
)
OPERATOR_PAGES = ("/console/", "/console/operator", "/console/forms", "/console/users")
# What the pages read from the query string, and some they do not.
QUERY_NAMES = (
    *ContactFilter.model_fields,
    "cursor",
    "owner",
    "state",
    "status",
    "notice",
    "kind",
    "seen",
    "since",
    "added",
    "disabled",
    "connected",
    "next",
    "lang",
    "csrf_token",
    "unknown",
)

# Text a URL can carry (UTF-8: no lone surrogates), NUL and control characters included.
_text = st.text(st.characters(codec="utf-8"), max_size=40)
_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([0, -1, 2**31, 2**63])
).map(str)
_value = st.one_of(
    _text,
    _number,
    # A numeric id near a field's length limit: its URN is longer than the id.
    st.integers(min_value=170, max_value=230).map(lambda n: "9" * n),
    st.sampled_from(["true", "false", "", "2026-13-40", "2026-01-01", "0001-01-01T00:00:00Z"]),
    st.uuids().map(str),
)
_path_id = st.one_of(_number, st.uuids().map(str), _text.filter(bool))


def _url(template: str, path_id: str, query: dict[str, str]) -> str:
    path = template.replace("{id}", quote(path_id, safe=""))
    return f"{path}?{urlencode(query)}" if query else path


def _page_requests(
    pages: tuple[str, ...], known_ids: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    return st.builds(
        _url,
        st.sampled_from(pages),
        st.one_of(_path_id, known_ids),
        st.dictionaries(st.sampled_from(QUERY_NAMES), _value, max_size=4),
    )


async def _assert_a_page(client: httpx.AsyncClient, url: str, htmx: bool) -> None:
    headers = {"HX-Request": "true"} if htmx else {}
    answer = await client.get(url, headers=headers)
    assert answer.status_code < 500, f"GET {url} answered {answer.status_code}: {answer.text}"
    if answer.status_code in (200, 400, 403, 404):
        kind = answer.headers.get("content-type", "")
        assert kind.startswith(("text/html", "text/csv")), f"GET {url}: {kind}"


@pytest.fixture(scope="module")
async def account(settings: Settings) -> AccountWithToken:
    return await new_account(settings, prefix="fuzz-console")


@pytest.fixture(scope="module")
async def known_form_id(settings: Settings, account: AccountWithToken) -> int:
    """A form of the account, so that some drawn requests reach a page with content."""
    form_id = int(uuid.uuid4().int % 900_000_000) + 100_000_000
    lead = Lead.model_validate(lead_for("fuzz", "fuzz@example.com", form_id=form_id))
    async with await AsyncConnection.connect(settings.database_conninfo(), autocommit=True) as db:
        await hold_for_session(db, account.id)
        await register_from_leads(db, [lead], auto_mappings)
    return form_id


@pytest.fixture(scope="module")
async def admin_browser(
    settings: Settings, account: AccountWithToken
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as an admin of the account, through the sign-in form."""
    user = await new_console_user(settings, account.id)
    async with console_client(settings, user.email, user.password) as console:
        yield console.http


@pytest.fixture(scope="module")
async def operator_browser(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    user = await new_console_user(settings, None)
    async with console_client(settings, user.email, user.password) as console:
        yield console.http


@pytest.fixture(scope="module")
async def signed_out_browser(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with console_app(settings) as app, browser(app) as http:
        yield http


def _known_ids(form_id: int) -> st.SearchStrategy[str]:
    return st.sampled_from([str(form_id), str(uuid.UUID(int=0))])


@FUZZ
@given(data=st.data(), htmx=st.booleans())
async def test_an_account_users_pages_answer_any_url_without_a_server_error(
    admin_browser: httpx.AsyncClient, known_form_id: int, data: st.DataObject, htmx: bool
) -> None:
    url = data.draw(_page_requests(ACCOUNT_PAGES, _known_ids(known_form_id)))
    await _assert_a_page(admin_browser, url, htmx)


@hypothesis_settings(FUZZ, max_examples=40)
@given(url=_page_requests(OPERATOR_PAGES, st.just("0")), htmx=st.booleans())
async def test_the_operators_pages_answer_any_url_without_a_server_error(
    operator_browser: httpx.AsyncClient, url: str, htmx: bool
) -> None:
    await _assert_a_page(operator_browser, url, htmx)


@hypothesis_settings(FUZZ, max_examples=40)
@given(url=_page_requests(ACCOUNT_PAGES, st.just("0")), htmx=st.booleans())
async def test_signed_out_any_page_url_answers_without_a_server_error(
    signed_out_browser: httpx.AsyncClient, url: str, htmx: bool
) -> None:
    await _assert_a_page(signed_out_browser, url, htmx)
