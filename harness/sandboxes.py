"""The LinkedIn sandbox for tests and benchmarks: served from a thread of this process, with
its state at hand, or preloaded with leads in a child process of its own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from harness.children import serve_in_child
from leadsync.settings import Settings
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.server import ThreadedServer
from sandbox.state import SandboxState

PRELOADED_FORM_ID = 7234246  # the reference form: ad account 1234567, created 200 days ago
PRELOADED_SPREAD_DAYS = 150  # within the form's lifetime and LinkedIn's retention


class Sandbox:
    """A sandbox served on a free loopback port, with its state at hand for assertions."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.server = ThreadedServer(create_app(state))
        self.url = self.server.start()
        self.control = httpx.Client(base_url=f"{self.url}/sandbox", timeout=60)

    def lead_ids(self, form_ids: set[int]) -> set[str]:
        return {
            lead.id
            for lead in self.state.store.all()
            if int(lead.form_urn.split(":")[-1].split(",")[0]) in form_ids
        }

    def close(self) -> None:
        self.control.close()
        self.server.stop()


@contextlib.contextmanager
def serving(settings: Settings, **config: Any) -> Iterator[Sandbox]:
    """A sandbox of seed 7 (unless ``config`` says otherwise) whose app is the one these
    settings name, served in a thread for the block."""
    state = SandboxState(
        SandboxConfig(
            **{
                "seed": 7,
                "client_id": settings.linkedin_client_id,
                "client_secret": settings.linkedin_client_secret,
                **config,
            }
        )
    )
    running = Sandbox(state)
    try:
        yield running
    finally:
        running.close()


def _serve_preloaded(port: int, leads: int, seed: int) -> None:
    """The child process: a sandbox preloaded with ``leads`` leads on PRELOADED_FORM_ID."""
    import uvicorn

    state = SandboxState(SandboxConfig(seed=seed))
    state.preload(leads, PRELOADED_SPREAD_DAYS, form_id=PRELOADED_FORM_ID)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def preloaded_sandbox(leads: int, seed: int, start_timeout_s: float) -> Iterator[str]:
    """A sandbox preloaded with ``leads`` leads on PRELOADED_FORM_ID, in a child process (so
    it never shares the GIL with the caller); yields its base URL."""
    with serve_in_child(
        _serve_preloaded, leads, seed, ready_path="/sandbox/status", timeout_s=start_timeout_s
    ) as base:
        yield base


def sandbox_token(base: str) -> str:
    """An access token of the sandbox's member, without the OAuth dance."""
    token: str = httpx.post(f"{base}/sandbox/tokens", json={}, timeout=30).json()["access_token"]
    return token
