"""A sandbox app on a frozen clock, driven in-process over ASGI (no server, no lifespan)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.guard import live_versions
from sandbox.members import Member
from sandbox.state import SandboxState

NOW_MS = 1_790_000_000_000
VERSION = live_versions(NOW_MS, 12)[1]


@dataclass
class World:
    state: SandboxState
    http: httpx.AsyncClient

    @property
    def members(self) -> list[Member]:
        """Demo member, Priya Raman, Jonas Weber, Lucia Fernandez."""
        return list(self.state.catalog.members.values())

    @property
    def accounts(self) -> list[int]:
        """The four ad account ids in the catalog's order (1234567 first)."""
        return list(self.state.catalog.accounts)

    async def control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(method, f"/sandbox{path}", json=body)

    async def token(self, member: Member | None = None, scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {}
        if member is not None:
            body["member"] = member.urn
        if scopes is not None:
            body["scopes"] = scopes
        answer = await self.control("POST", "/tokens", body)
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["access_token"]
        return token

    async def rest(self, path_and_query: str, token: str, method: str = "GET") -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        return await self.http.request(method, f"/rest/{path_and_query}", headers=headers)


def make_state(config: SandboxConfig | None = None, preload: int = 0) -> SandboxState:
    state = SandboxState(config or SandboxConfig(), Clock(frozen_at_ms=NOW_MS))
    if preload:
        state.preload(preload, 30)
    return state


@pytest.fixture
async def world() -> AsyncIterator[World]:
    state = make_state(preload=400)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield World(state, http)
