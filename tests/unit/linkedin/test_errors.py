"""LinkedIn's error shape turned into typed exceptions, and secrets kept out of all of it."""

from __future__ import annotations

import logging

import httpx
import pytest

from leadsync.errors import PermanentError, RetriableError
from leadsync.retry import RetryPolicy
from linkedin import (
    BadRequest,
    Forbidden,
    InMemoryTokenStore,
    LinkedInError,
    MalformedResponse,
    NotFound,
    Owner,
    ReconnectRequired,
    ServerError,
    Throttled,
    Unauthorized,
    Unavailable,
    UnexpectedStatus,
    VersionSunset,
)

from .fakes import (
    ACCESS,
    CLIENT_SECRET,
    NEW_ACCESS,
    REFRESH,
    FakeClock,
    Script,
    error,
    lead,
    make_client,
    ok,
    token_answer,
    tokens,
)

SECRETS = (ACCESS, REFRESH, NEW_ACCESS, CLIENT_SECRET)
NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.mark.parametrize(
    ("status", "expected", "retriable"),
    [
        (400, BadRequest, False),
        (403, Forbidden, False),
        (404, NotFound, False),
        (409, UnexpectedStatus, False),
        (426, VersionSunset, False),
        (429, Throttled, True),
        (500, ServerError, True),
        (501, UnexpectedStatus, False),
        (502, ServerError, True),
        (503, ServerError, True),
        (504, ServerError, True),
        (302, UnexpectedStatus, False),
    ],
)
async def test_each_status_becomes_its_exception(
    status: int, expected: type[LinkedInError], retriable: bool
) -> None:
    script = Script(error(status, f"message for {status}", 100 + status))
    async with make_client(script, retry=NO_RETRY) as linkedin:
        with pytest.raises(LinkedInError) as caught:
            await linkedin.get_form(1)
    exc = caught.value
    assert type(exc) is expected
    assert exc.retriable is retriable
    assert isinstance(exc, RetriableError if retriable else PermanentError)
    assert exc.status == status
    assert exc.service_error_code == 100 + status
    assert exc.message == f"message for {status}"
    assert f"message for {status}" in str(exc)
    assert "GET /rest/leadForms/1" in str(exc)


async def test_bad_request_points_at_the_encoding() -> None:
    async with make_client(Script(error(400, "Syntax exception in path variables"))) as linkedin:
        with pytest.raises(BadRequest, match=r"Rest\.li query encoding"):
            await linkedin.get_form(1)


async def test_sunset_version_says_what_to_change() -> None:
    async with make_client(Script(error(426, "Requested version 202401 is not active"))) as li:
        with pytest.raises(VersionSunset, match="LinkedIn-Version"):
            await li.get_form(1)


async def test_error_body_that_is_not_linkedins_shape() -> None:
    html = httpx.Response(502, text="<html>Bad gateway</html>")
    async with make_client(Script(html), retry=NO_RETRY) as linkedin:
        with pytest.raises(ServerError) as caught:
            await linkedin.get_form(1)
    assert caught.value.message is None
    assert caught.value.service_error_code is None


async def test_unauthorized_and_reconnect_are_one_family() -> None:
    assert issubclass(ReconnectRequired, Unauthorized)
    assert not ReconnectRequired("x").retriable
    assert issubclass(Unavailable, RetriableError)


@pytest.mark.parametrize(
    "reply", [httpx.Response(200, text="not json"), ok([1, 2])], ids=["text", "list"]
)
async def test_success_without_a_json_object_is_malformed(reply: httpx.Response) -> None:
    async with make_client(Script(reply)) as linkedin:
        with pytest.raises(MalformedResponse, match="GET /leadForms/1"):
            await linkedin.get_form(1)


async def test_lead_that_does_not_fit_names_fields_not_values() -> None:
    body = lead(submittedAt="kevin@example.com")
    async with make_client(Script(ok(body))) as linkedin:
        with pytest.raises(MalformedResponse, match="submittedAt") as caught:
            await linkedin.get_lead("x")
    assert "kevin@example.com" not in str(caught.value)


async def test_subscription_created_without_an_id_is_malformed() -> None:
    script = Script(ok({"elements": []}), ok(status=201))
    async with make_client(script) as linkedin:
        with pytest.raises(MalformedResponse, match="x-restli-id"):
            await linkedin.subscribe("https://h/p", Owner.sponsored_account(1), "SPONSORED")


async def test_linkedin_echoing_a_secret_is_redacted() -> None:
    echo = f"bad token {ACCESS} for app secret {CLIENT_SECRET}"
    async with make_client(Script(error(403, echo))) as linkedin:
        with pytest.raises(Forbidden) as caught:
            await linkedin.get_form(1)
    assert caught.value.message == "bad token [redacted] for app secret [redacted]"
    assert ACCESS not in str(caught.value)


async def test_refresh_error_echoing_the_refresh_token_is_redacted() -> None:
    refused = httpx.Response(400, json={"error_description": f"token {REFRESH} revoked"})
    store = InMemoryTokenStore(tokens(expires_in=0))
    async with make_client(Script(refused), store=store) as linkedin:
        with pytest.raises(ReconnectRequired) as caught:
            await linkedin.get_form(1)
    assert REFRESH not in str(caught.value)
    assert "[redacted]" in str(caught.value)


def scenarios() -> list[tuple[str, Script, InMemoryTokenStore]]:
    # What a careless server could echo back: everything the client may have sent it.
    echo = f"{ACCESS} {REFRESH} {CLIENT_SECRET}"
    return [
        ("throttled", Script(*[error(429, echo)] * 4), InMemoryTokenStore(tokens())),
        ("server", Script(*[error(503, echo)] * 4), InMemoryTokenStore(tokens())),
        ("network", Script(*[httpx.ConnectError(echo)] * 4), InMemoryTokenStore(tokens())),
        (
            "second-401",
            Script(error(401, echo), token_answer(), error(401, f"{echo} {NEW_ACCESS}")),
            InMemoryTokenStore(tokens()),
        ),
        (
            "revoked",
            Script(httpx.Response(400, json={"error": "invalid_request", "message": echo})),
            InMemoryTokenStore(tokens(expires_in=0)),
        ),
        ("forbidden", Script(error(403, echo)), InMemoryTokenStore(tokens())),
    ]


@pytest.mark.parametrize("name", [s[0] for s in scenarios()])
async def test_no_secret_in_any_exception_or_log_record(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    _, script, store = next(s for s in scenarios() if s[0] == name)
    async with make_client(script, store=store, clock=FakeClock()) as linkedin:
        with pytest.raises(LinkedInError) as caught:
            await linkedin.get_form(1)
    exc = caught.value
    texts = [str(exc), repr(exc), *map(str, exc.args), str(exc.message)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(exc.__cause__), str(exc.__context__)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{name}: secret leaked into {text!r}"
    assert exc.__cause__ is None  # raised "from None": no chained httpx error to echo
