"""The admin API's one error shape, and how every failure becomes it.

Every error answer is JSON ``{"error": code, "message": sentence, "details": [...]}``:
``error`` is a stable machine code, ``message`` a sentence for a person, ``details`` the
individual problems (validation errors, mapping problems) when there are several.

Exception tree::

    ApiError                 raised by routes: status, code, message, details (a
                             leadsync.errors.PermanentError: the same request fails the same way)
    fastapi.HTTPException    starlette's (unknown route, wrong method: 405 with an ``Allow``
                             naming every method of the path), FastAPI's 400 for a JSON body it
                             cannot read (-> 422, as for a body that is not JSON), and
                             admin.limits' translation of leadsync.body_limit.BodyTooLarge
    RequestValidationError   a request that does not match its schema -> 422
    psycopg.OperationalError, PoolTimeout
                             PostgreSQL unreachable -> 503 (retrying later can help)
    Exception                anything else: a bug -> 500, logged with its traceback
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from leadsync.errors import PermanentError

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What every error answer of the admin API looks like."""

    error: str = Field(description="Stable machine-readable code, e.g. `invalid_mappings`.")
    message: str = Field(description="What went wrong, in one sentence.")
    details: list[dict[str, Any]] = Field(
        default_factory=list, description="The individual problems, when there are several."
    )


class ApiError(PermanentError):
    """An answer other than success, raised by a route."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[dict[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers


def not_found(what: str, key: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {key} does not exist")


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[dict[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=code, message=message, details=list(details))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


# Stable codes for the statuses starlette raises itself (phrases differ between Pythons).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "content_too_large"}
# The methods an ``Allow`` header can name (OPTIONS is answered by no route).
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types a handler as taking any Exception; each of these takes the one class
    # it is registered for, which is what Starlette calls it with.
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]  # narrower type
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]  # as above
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]  # as above
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    # Anything else is a bug: the answer keeps the shape and says nothing of the internals.
    app.add_exception_handler(Exception, _internal_error)


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400 and _declares_json(request):
        return _unreadable_json()
    headers = exc.headers
    allowed = _allowed_methods(request) if exc.status_code == 405 else []
    if allowed:  # none: a mount's own 405 (static files), which says what it allows itself
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    phrase = HTTPStatus(exc.status_code).phrase
    code = _HTTP_CODES.get(exc.status_code) or phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else phrase
    return error_response(exc.status_code, code, message, headers=headers)


def _declares_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _unreadable_json() -> JSONResponse:
    """FastAPI's 400 for a JSON body it could not even decode (not UTF-8, nested past
    Python's recursion limit): the routes raise no HTTPException of their own, and a body
    that decodes but is not JSON is already a 422, so both get that one documented answer."""
    detail = {"location": "body", "message": "not JSON text in UTF-8", "type": "json_invalid"}
    return error_response(422, "invalid_request", "body: not JSON text in UTF-8", [detail])


def _allowed_methods(request: Request) -> list[str]:
    """Every method the request's path has. Starlette's 405 names the methods of the first
    route matching the path only, and each method of a path is a route of its own here (GET
    and PATCH ``/api/forms/{form_id}``), so its ``Allow`` left out methods the API documents.
    Asked of the routes themselves (their ``matches``), so included routers count too."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [_validation_detail(error) for error in exc.errors()]
    message = "; ".join(f"{d['location']}: {d['message']}" for d in details) or "invalid request"
    return error_response(422, "invalid_request", message, details)


def _validation_detail(error: Any) -> dict[str, Any]:
    location = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid"))
    # pydantic prefixes the text of a validator's ValueError; the sentence stands alone.
    message = message.removeprefix("Value error, ")
    return {"location": location, "message": message, "type": error.get("type")}


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("admin API: database unavailable: %s", exc)
    return error_response(
        503,
        "database_unavailable",
        "the database is unreachable; try again shortly",
        headers={"Retry-After": "5"},
    )


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("admin API: unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred; see the logs")
