"""The sandbox's ASGI application: LinkedIn's paths, the control API, and the background.

Routes: ``/rest/...`` (Rest.li, strict; see :mod:`sandbox.guard`), ``/v2/userinfo`` (OpenID
Connect), ``/oauth/v2/...`` and ``/sandbox/...`` (control). Every error on a ``/rest`` path,
including unknown paths and methods, is answered in LinkedIn's JSON shape. In the
background, once a second: leads past retention are dropped, due webhook re-validations run,
and (if configured) the demo trickle adds a lead. When started with a state file, the state
is saved there on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import (
    account_api,
    control,
    lead_api,
    notification_api,
    oauth_api,
    organization_api,
    userinfo_api,
)
from sandbox.errors import SERVER_ERROR, RestliError
from sandbox.restli import RestliSyntaxError
from sandbox.state import SandboxState

log = logging.getLogger("sandbox")
TICK_S = 1.0

routes = [
    Route("/rest/leadFormResponses", lead_api.find_leads, methods=["GET"]),
    Route("/rest/leadFormResponses/{lead_id}", lead_api.get_lead, methods=["GET"]),
    Route("/rest/leadForms", lead_api.find_forms, methods=["GET"]),
    Route("/rest/leadForms/{form_id}", lead_api.get_form, methods=["GET"]),
    Route("/rest/adAccountUsers", account_api.find_account_users, methods=["GET"]),
    Route("/rest/adAccounts/{account_id}", account_api.get_account, methods=["GET"]),
    Route(
        "/rest/organizations/{organization_id}",
        organization_api.get_organization,
        methods=["GET"],
    ),
    Route("/rest/leadNotifications", notification_api.create_subscription, methods=["POST"]),
    Route("/rest/leadNotifications", notification_api.find_subscriptions, methods=["GET"]),
    Route(
        "/rest/leadNotifications/{subscription_id}",
        notification_api.get_subscription,
        methods=["GET"],
    ),
    Route(
        "/rest/leadNotifications/{subscription_id}",
        notification_api.delete_subscription,
        methods=["DELETE"],
    ),
    Route("/v2/userinfo", userinfo_api.userinfo, methods=["GET"]),
    Route("/oauth/v2/authorization", oauth_api.authorize, methods=["GET"]),
    Route("/oauth/v2/accessToken", oauth_api.access_token, methods=["POST"]),
    Route("/oauth/v2/revoke", oauth_api.revoke, methods=["POST"]),
    *control.routes,
]


async def _restli_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RestliError)
    return exc.response()


async def _syntax_error(request: Request, exc: Exception) -> Response:
    return RestliError(400, str(exc), 400).response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Resource not found" if exc.status_code == 404 else str(exc.detail)
    return RestliError(exc.status_code, message, exc.status_code).response()


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return RestliError(500, "Internal Server Error", SERVER_ERROR).response()


async def _background(state: SandboxState) -> None:
    """Once a second: retention, due re-validations, the demo trickle."""
    loop = asyncio.get_running_loop()
    next_lead = loop.time()
    while True:
        await asyncio.sleep(TICK_S)
        try:
            state.prune()
            await state.revalidate()
            every = state.config.generation.trickle_every_s
            if every > 0 and loop.time() >= next_lead:
                lead = state.add_lead()
                next_lead = loop.time() + every
                log.info("trickle: lead %s (%s)", lead.id, lead.form_urn)
        except Exception:
            log.exception("sandbox background tick failed")


def create_app(state: SandboxState, *, state_file: Path | None = None) -> Starlette:
    """The ASGI app serving ``state``; saves to ``state_file`` (if any) on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.start()
        background = asyncio.create_task(_background(state))
        try:
            yield
        finally:
            background.cancel()
            for task in list(app.state.tasks):
                task.cancel()
            await state.stop()
            if state_file is not None:
                leads = state.save(state_file)
                log.info("saved %d leads to %s", leads, state_file)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            RestliError: _restli_error,
            RestliSyntaxError: _syntax_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.sandbox = state
    app.state.state_file = state_file
    app.state.jobs = {}
    app.state.tasks = set()
    return app
