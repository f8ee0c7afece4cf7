"""Request bodies read with a size limit: no route reads an unbounded body."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from leadsync.body_limit import BodyTooLarge, limit_receive, refuse_declared
from sandbox.errors import RestliError, bad_request

MAX_BODY = 64 * 1024


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refused with 413 past ``limit`` (leadsync's rule: a declared size before
    reading, a chunked one as it arrives)."""
    try:
        refuse_declared(request.scope, limit)
        return await Request(request.scope, limit_receive(request.receive, limit)).body()
    except BodyTooLarge:
        raise RestliError(413, f"request body over {limit} bytes", 413) from None


async def read_json(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await read_body(request)
    if not raw.strip() and allow_empty:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise bad_request("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise bad_request("the body must be a JSON object")
    return value


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the OAuth token endpoint's)."""
    raw = await read_body(request)
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
