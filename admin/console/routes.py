"""The console's routers, one per page module (``admin/console/<page>_pages.py``), and what
every console answer shares: its headers (:mod:`admin.console.headers`), the refusals the
session dependencies raise, the 404 page for a console URL that does not exist, and the 400
page for one whose query holds a value the page cannot use.

The pages are not part of the API: none of them is in ``/openapi.json``."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from admin.console import (
    assets,
    audiences_pages,
    auth_pages,
    contacts_pages,
    errors_pages,
    form_pages,
    forms_pages,
    linkedin_pages,
    mapping_pages,
    operator_pages,
    users_pages,
)
from admin.console.headers import ConsoleHeaders
from admin.console.session import (
    COOKIE_PATH,
    PageRefused,
    current_session,
    language,
    page_for,
)
from admin.console.templating import render

ROUTERS: tuple[APIRouter, ...] = (
    auth_pages.router,
    users_pages.router,
    mapping_pages.router,
    forms_pages.router,
    errors_pages.router,
    form_pages.router,
    contacts_pages.router,
    audiences_pages.router,
    linkedin_pages.router,
    operator_pages.router,
)


def install(app: FastAPI) -> None:
    assets.install(app)
    for router in ROUTERS:
        # Each page module's router says so too; this holds for any page added later.
        app.include_router(router, include_in_schema=False)
    app.add_middleware(ConsoleHeaders)
    app.add_exception_handler(PageRefused, _refused)  # type: ignore[arg-type]  # narrower type
    _console_not_found(app)


async def _refused(_request: Request, exc: PageRefused) -> Response:
    return exc.response


def _console_not_found(app: FastAPI) -> None:
    """A console URL that matches no page, or names no page with a malformed id (say
    ``/console/forms/abc``), answers the 404 page; one with a query value its page cannot
    read (``/console/users?added=x``) the 400 page. Everything else keeps the API's JSON
    error shape (the handlers installed before, by admin.error_responses)."""
    api_http_handler = app.exception_handlers.get(HTTPException)
    api_validation_handler = app.exception_handlers.get(RequestValidationError)

    async def error_page(request: Request, template: str, status_code: int) -> Response:
        found = await current_session(request)
        if found is not None:  # signed in: the page with their menu
            return page_for(request, found).render(template, status_code=status_code)
        return render(request, template, status_code=status_code, lang=language(request))

    async def not_found(request: Request) -> Response:
        return await error_page(request, "not_found.html", 404)

    async def handle(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and _in_console(request):
            return await not_found(request)
        assert api_http_handler is not None, "admin.error_responses installs its handlers first"
        response = api_http_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Console pages read their forms themselves (and say what is wrong beside the
        # field): what FastAPI refuses here is a path id that cannot be one (nothing is
        # there, whatever the query says), or a query value that cannot be one (a link
        # edited by hand).
        if _in_console(request):
            if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
                return await not_found(request)
            return await error_page(request, "bad_request.html", 400)
        assert api_validation_handler is not None, "admin.error_responses installs it first"
        response = api_validation_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(HTTPException, handle)  # type: ignore[arg-type]  # as above
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]


def _in_console(request: Request) -> bool:
    path = request.url.path
    return path == COOKIE_PATH or path.startswith(COOKIE_PATH + "/")
