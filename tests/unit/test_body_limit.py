"""The one body-size rule (:mod:`leadsync.body_limit`) and the two apps that apply it: the
declared size refused before reading, a chunked body counted as it arrives, one
:class:`BodyTooLarge`, and each app's 413 answer."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import Message, Scope

import admin.limits
import ingest.webhook.app
from admin.error_responses import install_error_handlers
from admin.limits import BodySizeLimit
from ingest.webhook.app import WEBHOOK_PATH
from leadsync.body_limit import BodyTooLarge, declared_size, limit_receive, refuse_declared
from leadsync.errors import LeadsyncError, PermanentError
from leadsync.retry import is_retriable
from leadsync.settings import load_settings

# -- BodyTooLarge ---------------------------------------------------------------------------


def test_body_too_large_is_the_one_permanent_error_carrying_its_limit() -> None:
    exc = BodyTooLarge(2048)
    assert exc.limit == 2048
    assert str(exc) == "the request body is larger than 2048 bytes"
    assert isinstance(exc, PermanentError)
    assert isinstance(exc, LeadsyncError)
    assert not isinstance(exc, HTTPException)
    assert not is_retriable(exc)
    # The webhook and the admin middleware use this class; neither has one of its own.
    assert vars(ingest.webhook.app)["BodyTooLarge"] is BodyTooLarge
    assert vars(admin.limits)["BodyTooLarge"] is BodyTooLarge


def test_no_other_module_defines_a_body_too_large() -> None:
    root = Path(__file__).resolve().parents[2]
    packages = ["cli", "admin", "sandbox", "ingest", "streams", "sinks", "linkedin", "mapping"]
    packages += ["schemas", "leadsync"]
    defining = [
        str(path.relative_to(root))
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "class BodyTooLarge" in path.read_text(encoding="utf-8")
    ]
    assert defining == ["leadsync/body_limit.py"]


# -- the declared size ----------------------------------------------------------------------


def headers(*pairs: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"example.com"), *pairs, (b"content-type", b"application/json")]


@pytest.mark.parametrize(
    ("value", "size"),
    [(b"0", 0), (b"123", 123), (b"007", 7), (b"1048577", 1048577)],
)
def test_declared_size_reads_a_decimal_content_length(value: bytes, size: int) -> None:
    assert declared_size(headers((b"content-length", value))) == size


@pytest.mark.parametrize(
    "value",
    [b"", b" 12", b"12 ", b"+12", b"-12", b"1_000", b"12a", b"0x10", b"1e3", "١٢".encode()],
)
def test_a_content_length_that_is_not_plain_digits_declares_nothing(value: bytes) -> None:
    assert declared_size(headers((b"content-length", value))) is None


def test_declared_size_without_the_header_or_beyond_int_is_none() -> None:
    assert declared_size(headers()) is None
    assert declared_size([]) is None
    assert declared_size(headers((b"content-length", b"9" * 5000))) is None


def test_the_first_content_length_counts() -> None:
    pairs = headers((b"content-length", b"10"), (b"content-length", b"999999"))
    assert declared_size(pairs) == 10


def _scope(*pairs: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/", "headers": headers(*pairs)}


def test_refuse_declared_refuses_only_above_the_limit() -> None:
    with pytest.raises(BodyTooLarge) as raised:
        refuse_declared(_scope((b"content-length", b"1025")), 1024)
    assert raised.value.limit == 1024
    refuse_declared(_scope((b"content-length", b"1024")), 1024)  # exactly the limit
    refuse_declared(_scope(), 1024)  # none declared: counted as it arrives instead
    refuse_declared(_scope((b"content-length", b"lots")), 1024)
    refuse_declared({"type": "http"}, 1024)  # a scope without headers


# -- counting as it arrives -----------------------------------------------------------------


class Receiver:
    """An ASGI ``receive`` that hands out ``messages`` in turn and counts the calls."""

    def __init__(self, *messages: Message) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> Message:
        self.calls += 1
        return self.messages.pop(0)


def chunk(size: int, more: bool = True) -> Message:
    return {"type": "http.request", "body": b"x" * size, "more_body": more}


async def test_a_body_of_exactly_the_limit_passes_through_unchanged() -> None:
    messages = [chunk(400), chunk(400), chunk(224, more=False)]
    receive = limit_receive(Receiver(*messages), 1024)
    assert [await receive() for _ in range(3)] == messages


async def test_the_chunk_that_passes_the_limit_raises_and_nothing_more_is_read() -> None:
    receiver = Receiver(chunk(600), chunk(600), chunk(600), chunk(1, more=False))
    receive = limit_receive(receiver, 1024)
    assert (await receive())["body"] == b"x" * 600
    with pytest.raises(BodyTooLarge) as raised:
        await receive()
    assert raised.value.limit == 1024
    assert receiver.calls == 2


async def test_one_oversized_chunk_is_refused() -> None:
    receiver = Receiver(chunk(1025, more=False))
    with pytest.raises(BodyTooLarge):
        await limit_receive(receiver, 1024)()
    assert receiver.calls == 1


async def test_other_messages_pass_through_uncounted() -> None:
    disconnect: Message = {"type": "http.disconnect"}
    empty: Message = {"type": "http.request"}  # "body" is optional in ASGI
    receive = limit_receive(Receiver(chunk(1024), empty, disconnect), 1024)
    assert (await receive())["body"] == b"x" * 1024
    assert await receive() == empty
    assert await receive() == disconnect


async def test_each_wrapped_receive_counts_its_own_body() -> None:
    first = limit_receive(Receiver(chunk(1000), chunk(1000)), 1024)
    second = limit_receive(Receiver(chunk(1000)), 1024)
    await first()
    await second()  # not 2000 together
    with pytest.raises(BodyTooLarge):
        await first()


# -- the webhook receiver's 413 -------------------------------------------------------------

LIMIT = 1024


class Chunks:
    """A request body sent without a Content-Length, counting what the server pulled."""

    def __init__(self, count: int, size: int = 256) -> None:
        self.count = count
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.sent += self.size
            yield b" " * self.size


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> httpx.AsyncClient:
    for name in list(os.environ):
        if name.startswith("LEADSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    settings = load_settings(demo=True, ingress_max_body_bytes=LIMIT)
    # No lifespan: the answers tested here come before anything is published.
    app = ingest.webhook.app.create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingress")


async def test_the_webhook_refuses_a_declared_body_over_the_limit(
    webhook: httpx.AsyncClient,
) -> None:
    body = Chunks(8)
    declared = {"Content-Type": "application/json", "Content-Length": str(LIMIT + 1)}
    async with webhook:
        response = await webhook.post(WEBHOOK_PATH, content=body, headers=declared)
    assert response.status_code == 413
    assert response.json() == {"error": "too_large", "message": f"body over {LIMIT} bytes"}
    assert body.sent == 0  # refused on the header alone


async def test_the_webhook_refuses_a_chunked_body_once_past_the_limit(
    webhook: httpx.AsyncClient,
) -> None:
    body = Chunks(40)
    async with webhook:
        response = await webhook.post(
            WEBHOOK_PATH, content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json() == {"error": "too_large", "message": f"body over {LIMIT} bytes"}
    assert LIMIT < body.sent <= LIMIT + 256


async def test_the_webhook_reads_a_body_of_exactly_the_limit(webhook: httpx.AsyncClient) -> None:
    async with webhook:
        response = await webhook.post(
            WEBHOOK_PATH, content=b" " * LIMIT, headers={"Content-Type": "text/plain"}
        )
    assert response.status_code == 415  # past the size check, stopped at the next one


# -- the admin API's middleware -------------------------------------------------------------


class Payload(BaseModel):
    text: str


@pytest.fixture
def admin_api() -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=LIMIT)

    @app.put("/echo")
    async def echo(payload: Payload) -> dict[str, int]:
        return {"length": len(payload.text)}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin")


def _json_of_size(size: int) -> bytes:
    body = b'{"text": ""}'
    return body[:-2] + b"x" * (size - len(body)) + b'"}'


async def test_the_admin_api_refuses_a_declared_body_over_the_limit(
    admin_api: httpx.AsyncClient,
) -> None:
    async with admin_api:
        response = await admin_api.put("/echo", content=_json_of_size(LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {
        "error": "content_too_large",
        "message": f"the request body is larger than {LIMIT} bytes",
        "details": [],
    }


async def test_the_admin_api_refuses_a_chunked_body_with_413_not_400(
    admin_api: httpx.AsyncClient,
) -> None:
    # FastAPI turns any exception but an HTTPException raised while it reads the body into a
    # 400: the middleware must translate BodyTooLarge on its way out.
    body = Chunks(40)
    async with admin_api:
        response = await admin_api.put(
            "/echo", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": "content_too_large",
        "message": f"the request body is larger than {LIMIT} bytes",
        "details": [],
    }
    assert LIMIT < body.sent <= LIMIT + 256


async def test_the_admin_api_takes_a_body_of_exactly_the_limit(
    admin_api: httpx.AsyncClient,
) -> None:
    async with admin_api:
        response = await admin_api.put(
            "/echo", content=_json_of_size(LIMIT), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"length": LIMIT - len(b'{"text": ""}')}
