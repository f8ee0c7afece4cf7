"""Test doubles for the LinkedIn client: a fake clock and a scripted MockTransport."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from leadsync.retry import RetryPolicy
from linkedin import InMemoryTokenStore, LinkedInClient, TokenPair

API = "https://api.linkedin.com/rest"
OAUTH = "https://www.linkedin.com/oauth/v2"
CLIENT_ID = "client-id-77"
CLIENT_SECRET = "client-secret-s3cr3t-value"
ACCESS = "AQV-access-token-" + "a" * 40
REFRESH = "AQX-refresh-token-" + "r" * 40
NEW_ACCESS = "AQV-new-access-token-" + "n" * 40
T0 = 1_700_000_000.0

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """Time moves only when the code under test sleeps."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.mono = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.mono += seconds


class Script:
    """Answers requests in order from a queue of replies and records every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.requests: list[httpx.Request] = []

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        reply = self.replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def raw_targets(self) -> list[bytes]:
        """Path plus query of every request, exactly as the bytes sent."""
        return [r.url.raw_path for r in self.requests]


def ok(
    body: Any = None, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def error(
    status: int,
    message: str = "",
    code: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if code is not None:
        body["serviceErrorCode"] = code
    return httpx.Response(status, json=body, headers=headers)


def collection(
    elements: list[Any], start: int = 0, count: int = 10, total: int | None = None
) -> httpx.Response:
    paging: dict[str, Any] = {"start": start, "count": count, "links": []}
    if total is not None:
        paging["total"] = total
    return ok({"elements": elements, "paging": paging})


def token_answer(
    access: str = NEW_ACCESS, expires_in: int = 5_184_000, **extra: Any
) -> httpx.Response:
    return ok({"access_token": access, "expires_in": expires_in, **extra})


def tokens(
    *,
    access: str = ACCESS,
    expires_in: float = 86_400.0,
    refresh: str | None = REFRESH,
    refresh_expires_in: float | None = 300 * 86_400.0,
) -> TokenPair:
    return TokenPair(
        access_token=SecretStr(access),
        access_expires_at=T0 + expires_in,
        refresh_token=SecretStr(refresh) if refresh is not None else None,
        refresh_expires_at=T0 + refresh_expires_in if refresh_expires_in is not None else None,
        scope="r_ads,r_marketing_leadgen_automation",
    )


def make_client(
    script: Script,
    *,
    store: InMemoryTokenStore | None = None,
    clock: FakeClock | None = None,
    retry: RetryPolicy | None = None,
    requests_per_second: float | None = None,
) -> LinkedInClient:
    return LinkedInClient(
        api_url=API,
        oauth_url=OAUTH,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        version="202611",
        token_store=store if store is not None else InMemoryTokenStore(tokens()),
        transport=script.transport,
        retry=retry or RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=8.0),
        requests_per_second=requests_per_second,
        clock=clock or FakeClock(),
    )


def lead(lead_id: str = "249592fc-d272-44ba-a7db-c2bdce579507-6", **extra: Any) -> dict[str, Any]:
    return {
        "id": lead_id,
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"},
        "leadType": "SPONSORED",
        "versionedLeadGenFormUrn": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
        "submittedAt": 1689894599288,
        "testLead": True,
        **extra,
    }


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)
