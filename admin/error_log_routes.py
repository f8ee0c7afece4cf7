"""The account's error log: ``/api/errors.csv`` and ``/api/forms/{id}/errors.csv`` as a
download, ``/api/errors`` and ``/api/forms/{id}/errors`` as JSON, a page at a time from the
newest line back. Another account's form is 404; its lines are never in the account's log.

Every line shows its kind (configuration, connection, linkedin, unreadable, internal: see
:mod:`sinks.error_log`) and every route filters by it (``?kind=connection``).

The JSON pages are keyset pages: ``before`` (the previous page's ``next_before``, an opaque
cursor naming its last line by time and id) asks for the lines older than that line, so a
walk from the newest page to the last shows each line once, in order, however many lines are
written meanwhile. A cursor this API did not give is a 422, as any other invalid parameter.

The CSV is streamed line by line from a server-side cursor, so the size of the log does not
matter.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, Field

from admin.csv_export import HEADER, csv_line, filename
from admin.dependencies import AccountScope, AccountScopeDep
from admin.error_responses import ErrorBody, not_found
from admin.models import ErrorKind, ErrorLine, ErrorLines
from sinks.error_log import PageBefore, iter_errors, latest_errors
from sinks.forms import form_exists

router = APIRouter(tags=["error log"])
_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "Columns: " + ", ".join(HEADER) + ".",
    }
}
_PAGED = (
    "Newest first, `limit` lines a page. For the lines older than a page's, pass its"
    " `next_before` as `before` (null: that page held the oldest line). Paging is by the"
    " lines' time and id, not by position: a walk from the newest page to the last shows"
    " every line once, in order, whatever is written meanwhile (a line newer than the walk's"
    " start is in the next walk's first page). A `before` this API did not give is a 422."
)
# PostgreSQL's bigint: a line id past it cannot be one, and must not reach the query.
_MAX_ID = 2**63 - 1


class ErrorLinePage(ErrorLines):
    """A page of the error log."""

    next_before: str | None = Field(
        description="Pass as `before` for the lines older than this page's (null: none)."
    )


def page_cursor(last: PageBefore) -> str:
    """The opaque cursor naming a page's last line (``next_before``)."""
    raw = json.dumps([last.occurred_at.isoformat(), last.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str) -> PageBefore:
    """The line a cursor of :func:`page_cursor` names; ValueError for any other text."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        occurred_at, line_id = json.loads(raw)
        at = datetime.fromisoformat(occurred_at)
        # A time with its offset (PostgreSQL would read a naive one in the session's time
        # zone) and an id a bigint holds (not a bool, a float or a string of digits).
        if at.utcoffset() is None or type(line_id) is not int or not 0 < line_id <= _MAX_ID:
            raise ValueError(cursor)
        at = at.astimezone(UTC)  # OverflowError past year 9999 there
    except (binascii.Error, ValueError, TypeError, OverflowError):  # UnicodeDecodeError too
        raise ValueError(
            "not a cursor this API gave (a `next_before`); start again without it"
        ) from None
    return PageBefore(at, line_id)


def _valid_cursor(cursor: str | None) -> str | None:
    if cursor is not None:
        read_cursor(cursor)
    return cursor


KindFilter = Annotated[ErrorKind | None, Query(description="Only the lines of this kind.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many lines a page holds at most.")]
Before = Annotated[
    str | None,
    Query(
        max_length=200,
        description="A previous page's `next_before`: only the lines older than its last."
        " Without it, the newest lines.",
    ),
    AfterValidator(_valid_cursor),
]


@router.get(
    "/errors.csv",
    summary="The whole error log as CSV",
    response_class=StreamingResponse,
    responses={**_CSV, 422: {"model": ErrorBody}},
)
async def all_errors_csv(scope: AccountScopeDep, kind: KindFilter = None) -> StreamingResponse:
    return _download(scope, None, kind)


@router.get(
    "/forms/{form_id}/errors.csv",
    summary="A form's error log as CSV",
    response_class=StreamingResponse,
    responses={**_CSV, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def form_errors_csv(
    form_id: int, scope: AccountScopeDep, kind: KindFilter = None
) -> StreamingResponse:
    await _form_or_404(scope, form_id)
    return _download(scope, form_id, kind)


@router.get(
    "/errors",
    summary="The error log, a page at a time from the newest line",
    description=_PAGED,
    responses={422: {"model": ErrorBody, "description": "An invalid parameter or `before`."}},
)
async def all_errors(
    scope: AccountScopeDep, kind: KindFilter = None, limit: Limit = 100, before: Before = None
) -> ErrorLinePage:
    return await _page(scope, None, kind, limit, before)


@router.get(
    "/forms/{form_id}/errors",
    summary="A form's error log, a page at a time from the newest line",
    description=_PAGED,
    responses={
        404: {"model": ErrorBody},
        422: {"model": ErrorBody, "description": "An invalid parameter or `before`."},
    },
)
async def form_errors(
    form_id: int,
    scope: AccountScopeDep,
    kind: KindFilter = None,
    limit: Limit = 100,
    before: Before = None,
) -> ErrorLinePage:
    await _form_or_404(scope, form_id)
    return await _page(scope, form_id, kind, limit, before)


async def _form_or_404(scope: AccountScope, form_id: int) -> None:
    async with scope.connection() as conn:
        if not await form_exists(conn, form_id):
            raise not_found("form", form_id)


async def _page(
    scope: AccountScope, form_id: int | None, kind: str | None, limit: int, before: str | None
) -> ErrorLinePage:
    older_than = read_cursor(before) if before is not None else None
    async with scope.connection() as conn:
        # One line more than the page: whether there is a next page, without counting.
        rows = await latest_errors(conn, form_id, kind, limit + 1, older_than)
    page, more = rows[:limit], len(rows) > limit
    last = PageBefore(page[-1]["occurred_at"], page[-1]["id"]) if more else None
    return ErrorLinePage(
        errors=[ErrorLine.model_validate(row) for row in page],
        next_before=page_cursor(last) if last else None,
    )


def _download(scope: AccountScope, form_id: int | None, kind: str | None) -> StreamingResponse:
    name = filename(form_id, datetime.now(UTC), kind)
    return StreamingResponse(
        _lines(scope, form_id, kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _lines(scope: AccountScope, form_id: int | None, kind: str | None) -> AsyncIterator[str]:
    yield csv_line(HEADER)
    async with scope.connection() as conn:
        async for row in iter_errors(conn, form_id, kind):
            yield csv_line(row)
