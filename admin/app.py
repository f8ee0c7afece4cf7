"""The admin API application: routers, authentication, limits and the error shape.

``/api/*`` needs a token (:mod:`admin.auth`): an account's API token for the routes acting
on its data (forms, mappings, runs, the error log, contacts, audiences, its LinkedIn
link), the operator token for ``/api/accounts`` (accounts only). ``/openapi.json`` and ``/docs`` do
not: they describe the API's shape, which is public in this repository anyway, hold no data,
and Swagger UI must load the document before a token can be entered ("Authorize"). ``/docs``
is served from this origin only (:mod:`admin.api_docs`); the console's pages are not in the
document.
``/oauth/linkedin/*`` are the member's browser's pages (a LinkedIn authorization), opened by
single-use states instead of a token. The server listens on 127.0.0.1 only
(:mod:`admin.server`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from starlette.middleware.gzip import GZipMiddleware

from admin import (
    accounts_routes,
    api_docs,
    audiences_routes,
    contacts_routes,
    error_log_routes,
    forms_routes,
    linkedin_routes,
    mappings_routes,
    metrics_routes,
    reconciliation_routes,
    runs_routes,
)
from admin.auth import require_account, require_operator
from admin.console import install_console
from admin.error_responses import ErrorBody, install_error_handlers
from admin.limits import MAX_BODY_BYTES, BodySizeLimit
from admin.request_publisher import RequestPublisher
from leadsync.settings import Settings
from sinks.database import Database

_COMMON: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No token, or one that opens nothing."},
    413: {"model": ErrorBody, "description": f"Body larger than {MAX_BODY_BYTES} bytes."},
    503: {"model": ErrorBody, "description": "The database is unreachable."},
}
_OPERATOR_TOKEN_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "The operator token: send an account's token."}
}
_ACCOUNT_TOKEN_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "An account's token: send the operator token."}
}


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """The admin API for ``settings``; connections open on first use, close on shutdown."""
    db = database or Database.from_settings(settings)
    request_publisher = RequestPublisher(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(request_publisher.close)  # waits up to 2 s for Kafka
        await db.close()

    app = FastAPI(
        title="leadsync admin API",
        version="1",
        summary=(
            "An account's forms, field mappings, manual imports, error log and contacts;"
            " the operator's accounts."
        ),
        description=(
            "Every `/api` route needs `Authorization: Bearer <token>`: an account's API token"
            " (`lsk_...`) for the routes acting on that account's data, the operator token"
            " (`LEADSYNC_ADMIN_TOKEN`) for `/api/accounts`, which manages accounts only."
            " Another account's form, run or contact is 404 (it does not exist for this"
            " token). Errors are JSON `{error, message, details}`."
        ),
        lifespan=lifespan,
        # FastAPI's /docs and /redoc load unpinned scripts from a CDN (admin.api_docs serves
        # Swagger UI from here instead); no OAuth2 flow, so no redirect page either.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.request_publisher = request_publisher
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    # Compressed answers for browsers that ask (the forms list of 500 forms: 322 kB of HTML,
    # 11 kB gzipped). The console masks its CSRF tokens afresh in every page, so compression
    # gives away no secret's size (admin.console.csrf); small answers are not worth it.
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    account_api = APIRouter(
        prefix="/api",
        dependencies=[Depends(require_account)],
        responses={**_COMMON, **_OPERATOR_TOKEN_REFUSED},
    )
    for router in (
        forms_routes.router,
        mappings_routes.router,
        runs_routes.router,
        error_log_routes.router,
        contacts_routes.router,
        audiences_routes.router,
        linkedin_routes.account_router,
        reconciliation_routes.router,
    ):
        account_api.include_router(router)
    operator_api = APIRouter(
        prefix="/api",
        dependencies=[Depends(require_operator)],
        responses={**_COMMON, **_ACCOUNT_TOKEN_REFUSED},
    )
    for router in (accounts_routes.router, linkedin_routes.operator_router):
        operator_api.include_router(router)
    app.include_router(account_api)
    app.include_router(operator_api)
    # The member's browser brings no token: on the start page and LinkedIn's callback the
    # single-use states, and the cookie binding that browser, authorize (admin.linkedin_routes).
    app.include_router(linkedin_routes.callback_router)
    # Prometheus reads the connections' lifetime here, without a token (bounded labels).
    app.include_router(metrics_routes.router)
    app.include_router(api_docs.router)
    # The console: pages for the accounts' users and the operator, signed in by session.
    install_console(app)
    return app
