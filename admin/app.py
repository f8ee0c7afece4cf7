"""The admin API application: routers, authentication, limits and the error shape.

``/api/*`` needs the admin token (:mod:`admin.auth`). ``/openapi.json`` and ``/docs`` do
not: they describe the API's shape, which is public in this repository anyway, hold no data,
and Swagger UI must load the document before a token can be entered ("Authorize"). The
server listens on 127.0.0.1 only (:mod:`admin.server`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from admin import (
    accounts_routes,
    contacts_routes,
    error_log_routes,
    forms_routes,
    linkedin_routes,
    mappings_routes,
    runs_routes,
)
from admin.auth import require_admin_token
from admin.error_responses import ErrorBody, install_error_handlers
from admin.limits import MAX_BODY_BYTES, BodySizeLimit
from admin.request_publisher import RequestPublisher
from leadsync.settings import Settings
from sinks.database import Database

_COMMON: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No or wrong admin token."},
    413: {"model": ErrorBody, "description": f"Body larger than {MAX_BODY_BYTES} bytes."},
    503: {"model": ErrorBody, "description": "The database is unreachable."},
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
        summary="Forms, field mappings, manual imports, the error log and contacts.",
        description=(
            "Every `/api` route needs `Authorization: Bearer <LEADSYNC_ADMIN_TOKEN>`."
            " Errors are JSON `{error, message, details}`."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.request_publisher = request_publisher
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)

    api = APIRouter(prefix="/api", dependencies=[Depends(require_admin_token)], responses=_COMMON)
    for module in (
        forms_routes,
        mappings_routes,
        runs_routes,
        error_log_routes,
        contacts_routes,
        accounts_routes,
        linkedin_routes,
    ):
        api.include_router(module.router)
    app.include_router(api)
    # LinkedIn's redirect brings no token: the single-use state is what authorizes it.
    app.include_router(linkedin_routes.callback_router)
    return app
