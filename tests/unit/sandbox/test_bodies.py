"""The sandbox reads bodies with leadsync's size rule: too large is a 413 in Rest.li's shape,
declared or counted as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.bodies import read_body
from sandbox.errors import RestliError

LIMIT = 16


async def _echo(request: Request) -> Response:
    try:
        body = await read_body(request, LIMIT)
    except RestliError as exc:
        return JSONResponse({"status": exc.status, "message": exc.message}, exc.status)
    return Response(body)


def _client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def test_a_body_of_the_limit_is_read_whole() -> None:
    async with _client() as client:
        answer = await client.post("/echo", content=b"x" * LIMIT)
    assert (answer.status_code, answer.content) == (200, b"x" * LIMIT)


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_is_413(chunked: bool) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(LIMIT + 1):
            yield b"x"

    async with _client() as client:
        body: bytes | AsyncIterator[bytes] = chunks() if chunked else b"x" * (LIMIT + 1)
        answer = await client.post("/echo", content=body)
    assert answer.status_code == 413
    assert answer.json() == {"status": 413, "message": f"request body over {LIMIT} bytes"}
