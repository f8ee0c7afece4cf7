"""``/api/errors.csv`` and ``/api/forms/{id}/errors.csv``: the account's error log as a
download (another account's form is 404; its lines are never in the account's log).

Streamed line by line from a server-side cursor, so the size of the log does not matter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from admin.csv_export import HEADER, csv_line, filename
from admin.dependencies import AccountScope, AccountScopeDep
from admin.error_responses import ErrorBody, not_found
from sinks.error_log import iter_errors
from sinks.forms import form_exists

router = APIRouter(tags=["error log"])
_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "Columns: " + ", ".join(HEADER) + ".",
    }
}


@router.get(
    "/errors.csv",
    summary="The whole error log as CSV",
    response_class=StreamingResponse,
    responses=_CSV,
)
async def all_errors_csv(scope: AccountScopeDep) -> StreamingResponse:
    return _download(scope, None)


@router.get(
    "/forms/{form_id}/errors.csv",
    summary="A form's error log as CSV",
    response_class=StreamingResponse,
    responses={**_CSV, 404: {"model": ErrorBody}},
)
async def form_errors_csv(form_id: int, scope: AccountScopeDep) -> StreamingResponse:
    async with scope.connection() as conn:
        if not await form_exists(conn, form_id):
            raise not_found("form", form_id)
    return _download(scope, form_id)


def _download(scope: AccountScope, form_id: int | None) -> StreamingResponse:
    name = filename(form_id, datetime.now(UTC))
    return StreamingResponse(
        _lines(scope, form_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _lines(scope: AccountScope, form_id: int | None) -> AsyncIterator[str]:
    yield csv_line(HEADER)
    async with scope.connection() as conn:
        async for row in iter_errors(conn, form_id):
            yield csv_line(row)
