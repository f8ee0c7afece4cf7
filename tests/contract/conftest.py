"""A real sandbox on a free loopback port, a real webhook receiver, and httpx clients.

The ``sandbox`` fixture is shared by the read-only tests (2,000 preloaded leads); tests that
move the clock, change the config or subscribe get a ``fresh`` one of their own. Requests
are written as URL strings so the bytes on the wire are exactly the reference page's
(httpx sends a URL string's query as given; its ``params=`` would re-encode it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadsync.settings import DEMO_CLIENT_SECRET
from sandbox.app import create_app
from sandbox.server import ThreadedServer
from sandbox.state import SandboxState

# The current month is always live; the suite moves the sandbox clock at most ~a year ahead.
VERSION = datetime.now(UTC).strftime("%Y%m")
ACCOUNT = "urn%3Ali%3AsponsoredAccount%3A1234567"
REFERENCE_FIELDS = (
    "ownerInfo,associatedEntityInfo,leadMetadataInfo,owner,leadType,versionedLeadGenFormUrn,"
    "id,submittedAt,testLead,formResponse,form:(hiddenFields,creationLocale,name,id,content)"
)


@dataclass
class Hook:
    """One webhook endpoint: how it answers challenges, and what reached it."""

    # ok | fail (HTTP 500) | wrong (bad HMAC) | plain (right answer, text/plain) | slow (1 s)
    mode: str = "ok"
    challenges: list[str] = field(default_factory=list)
    posts: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


class Receiver:
    """A webhook receiver app serving any number of hooks at ``/hooks/{name}``."""

    def __init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self.url = ""

    def hook(self, name: str) -> tuple[str, Hook]:
        hook = self.hooks[name] = Hook()
        return f"{self.url}/hooks/{name}", hook

    async def challenge(self, request: Request) -> Response:
        hook = self.hooks[request.path_params["name"]]
        code = request.query_params["challengeCode"]
        hook.challenges.append(code)
        if hook.mode == "fail":
            return Response("down", status_code=500)
        if hook.mode == "slow":
            await asyncio.sleep(1)
        key = "not-the-secret" if hook.mode == "wrong" else DEMO_CLIENT_SECRET
        answer = hmac.new(key.encode(), code.encode(), hashlib.sha256).hexdigest()
        body = {"challengeCode": code, "challengeResponse": answer}
        if hook.mode == "plain":
            return Response(json.dumps(body), media_type="text/plain")
        return JSONResponse(body)

    async def notification(self, request: Request) -> Response:
        hook = self.hooks[request.path_params["name"]]
        hook.posts.append((await request.body(), dict(request.headers)))
        return Response(status_code=200)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hooks/{name}", self.challenge, methods=["GET"]),
                Route("/hooks/{name}", self.notification, methods=["POST"]),
            ]
        )


@dataclass
class Sandbox:
    url: str
    state: SandboxState
    http: httpx.Client

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/sandbox{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def token(self, scopes: list[str] | None = None) -> str:
        body = {"scopes": scopes} if scopes is not None else {}
        token: str = self.control("POST", "/tokens", body)["access_token"]
        return token

    def rest(
        self,
        method: str,
        path_and_query: str,
        token: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """A LinkedIn call with the three documented headers (overridable)."""
        sent = {
            "Authorization": f"Bearer {token or self.token()}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v}
        return self.http.request(method, f"/rest/{path_and_query}", headers=sent, json=json)

    def flush(self) -> None:
        self.control("POST", "/pushes/flush")


def _start(state: SandboxState) -> tuple[ThreadedServer, Sandbox]:
    server = ThreadedServer(create_app(state))
    url = server.start()
    return server, Sandbox(url, state, httpx.Client(base_url=url, timeout=120))


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    state = SandboxState()
    state.preload(2000, 60)
    server, running = _start(state)
    yield running
    running.http.close()
    server.stop()


@pytest.fixture
def fresh() -> Iterator[Callable[[], Sandbox]]:
    """A factory of private sandboxes (stopped after the test)."""
    started: list[tuple[ThreadedServer, Sandbox]] = []

    def make() -> Sandbox:
        started.append(_start(SandboxState()))
        return started[-1][1]

    yield make
    for server, running in started:
        running.http.close()
        server.stop()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadedServer(receiver.app())
    receiver.url = server.start()
    yield receiver
    server.stop()


def leads_query(owner: str = f"(sponsoredAccount:{ACCOUNT})", **extra: str) -> str:
    """The reference page's finder request, parameter for parameter."""
    params = {
        "q": "owner",
        "owner": owner,
        "leadType": "(leadType:SPONSORED)",
        "limitedToTestLeads": "false",
        "submittedAtTimeRange": "(start:0,end:4102444800000)",
        "fields": REFERENCE_FIELDS,
        "count": "100",
        "start": "0",
    }
    params.update(extra)
    return "leadFormResponses?" + "&".join(f"{k}={v}" for k, v in params.items() if v)
