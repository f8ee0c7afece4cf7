"""A form's error log: ``/console/forms/{id}/errors`` shows its newest lines (time, lead,
kind, message), filtered by kind (``?kind=``), and its older ones a page at a time ("Older
lines", ``?before=``: the API's keyset cursor; ``?limit=`` sets the page's size within the
API's bounds); ``/console/forms/{id}/errors.csv`` downloads them all. The paging links are
plain links that keep the filter: no JavaScript. A ``before`` or ``limit`` the page cannot
use (a link edited by hand) is the console's 400 page.

Both call the JSON API's own routes (:mod:`admin.error_log_routes`): the download is the
same CSV as ``GET /api/forms/{id}/errors.csv``, streamed from a server-side cursor. Another
account's form is the console's 404 page, as an id that never existed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from admin import error_log_routes, forms_routes
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from admin.error_responses import ApiError
from admin.models import ErrorKind

router = APIRouter(include_in_schema=False)

# How many lines a page shows unless ``?limit=`` says otherwise; the download has them all.
PAGE_LINES = 200
# The kinds as the page names them, with what each means (sinks.error_log: only
# "configuration" counts in the form's total errors).
KIND_LABELS: dict[ErrorKind, str] = {
    "configuration": "Configuration",
    "connection": "Connection",
    "linkedin": "LinkedIn",
    "unreadable": "Unreadable",
    "internal": "Internal",
}
KIND_HINTS: dict[ErrorKind, str] = {
    "configuration": "Identity not mapped or missing, a value invalid for its field, or a"
    " mapping to a field that no longer exists: the form's total errors.",
    "connection": "The LinkedIn connection was missing, expired, revoked, or may not read the"
    " lead's owner.",
    "linkedin": "LinkedIn answered with an error or lost the lead.",
    "unreadable": "A lead or record leadsync could not read.",
    "internal": "leadsync failed on the lead.",
}


def _kind(value: str) -> ErrorKind | None:
    """The kind asked for, or every kind when none or an unknown one is asked."""
    return next((kind for kind in KIND_LABELS if kind == value), None)


def moment(at: datetime) -> str:
    """A time as the CSV's readers will compare it: UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _not_found(page: AccountPage) -> HTMLResponse:
    return page.render("not_found.html", status_code=404)


def log_url(
    form_id: int, kind: ErrorKind | None, limit: int = PAGE_LINES, before: str | None = None
) -> str:
    """The error log page's address with these choices (the defaults left out)."""
    query = {"kind": kind, "limit": limit if limit != PAGE_LINES else None, "before": before}
    params = urlencode({name: value for name, value in query.items() if value is not None})
    return f"/console/forms/{form_id}/errors" + (f"?{params}" if params else "")


@router.get("/console/forms/{form_id}/errors", response_class=HTMLResponse)
async def error_log(
    form_id: int,
    page: AccountPageDep,
    kind: str = "",
    limit: error_log_routes.Limit = PAGE_LINES,
    before: error_log_routes.Before = None,
) -> HTMLResponse:
    chosen = _kind(kind)
    try:
        form = await forms_routes.get_form(form_id, page.scope, page.settings)
        lines = await error_log_routes.form_errors(form_id, page.scope, chosen, limit, before)
    except ApiError as exc:
        if exc.status == 404:
            return _not_found(page)
        raise
    csv_url = f"/console/forms/{form_id}/errors.csv" + (f"?kind={chosen}" if chosen else "")
    # Where this page starts: the previous page's last line (already valid: FastAPI read it).
    older_than = error_log_routes.read_cursor(before).occurred_at if before else None
    return page.render(
        "errors/log.html",
        nav="forms",
        form=form,
        lines=lines.errors,
        kind=chosen,
        kinds=KIND_LABELS,
        hints=KIND_HINTS,
        kind_url=lambda k: log_url(form_id, k, limit),
        older_than=older_than,
        newest_url=log_url(form_id, chosen, limit),
        older_url=log_url(form_id, chosen, limit, lines.next_before) if lines.next_before else None,
        csv_url=csv_url,
        moment=moment,
    )


@router.get("/console/forms/{form_id}/errors.csv", response_class=Response)
async def error_log_csv(form_id: int, page: AccountPageDep, kind: str = "") -> Response:
    try:
        return await error_log_routes.form_errors_csv(form_id, page.scope, _kind(kind))
    except ApiError as exc:
        if exc.status == 404:
            return _not_found(page)
        raise
