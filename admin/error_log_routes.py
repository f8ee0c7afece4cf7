"""The account's error log: ``/api/errors.csv`` and ``/api/forms/{id}/errors.csv`` as a
download, ``/api/errors`` and ``/api/forms/{id}/errors`` as JSON (the newest lines). Another
account's form is 404; its lines are never in the account's log.

Every line shows its kind (configuration, connection, linkedin, unreadable, internal: see
:mod:`sinks.error_log`) and every route filters by it (``?kind=connection``).

The CSV is streamed line by line from a server-side cursor, so the size of the log does not
matter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from admin.csv_export import HEADER, csv_line, filename
from admin.dependencies import AccountScope, AccountScopeDep
from admin.error_responses import ErrorBody, not_found
from admin.models import ErrorKind, ErrorLine, ErrorLines
from sinks.error_log import iter_errors, latest_errors
from sinks.forms import form_exists

router = APIRouter(tags=["error log"])
_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "Columns: " + ", ".join(HEADER) + ".",
    }
}
KindFilter = Annotated[ErrorKind | None, Query(description="Only the lines of this kind.")]
Limit = Annotated[int, Query(ge=1, le=1000)]


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
    summary="The newest lines of the error log",
    responses={422: {"model": ErrorBody}},
)
async def all_errors(
    scope: AccountScopeDep, kind: KindFilter = None, limit: Limit = 100
) -> ErrorLines:
    return await _latest(scope, None, kind, limit)


@router.get(
    "/forms/{form_id}/errors",
    summary="The newest lines of a form's error log",
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def form_errors(
    form_id: int, scope: AccountScopeDep, kind: KindFilter = None, limit: Limit = 100
) -> ErrorLines:
    await _form_or_404(scope, form_id)
    return await _latest(scope, form_id, kind, limit)


async def _form_or_404(scope: AccountScope, form_id: int) -> None:
    async with scope.connection() as conn:
        if not await form_exists(conn, form_id):
            raise not_found("form", form_id)


async def _latest(
    scope: AccountScope, form_id: int | None, kind: str | None, limit: int
) -> ErrorLines:
    async with scope.connection() as conn:
        rows = await latest_errors(conn, form_id, kind, limit)
    return ErrorLines(errors=[ErrorLine.model_validate(row) for row in rows])


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
