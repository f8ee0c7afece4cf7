"""``/api/audiences``: the account's dynamic audiences, saved contact filters whose members
are the contacts matching them now (:mod:`sinks.audiences`): a lead imported a second ago is
already counted, listed and exported.

Another account's audience is 404, as an id that never existed; its contacts are never
counted, listed or exported (row-level security). The members CSV is streamed from a
server-side cursor, so the size of the audience does not matter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from psycopg import AsyncConnection

from admin.contact_models import (
    AudienceIn,
    AudienceList,
    AudienceOut,
    AudiencePatch,
    ContactDetailPage,
)
from admin.contacts_routes import decode_cursor, detail_page
from admin.csv_export import csv_line
from admin.dependencies import AccountScope, AccountScopeDep
from admin.error_responses import ApiError, ErrorBody, not_found
from sinks.audiences import (
    Audience,
    AudienceNameTaken,
    count_members,
    create_audience,
    delete_audience,
    get_audience,
    list_audiences_with_counts,
    member_page,
    member_rows,
    update_audience,
)

router = APIRouter(tags=["audiences"])
# An audience's filter shows the conditions it has (as it was given), not every one unset;
# nothing else of an audience is ever None.
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such audience in the account."}
}
_NAME_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The account has an audience of that name."}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorBody,
        "description": "A name or filter that cannot be (or an id that is not a UUID);"
        " `message` says which and why.",
    }
}
_BAD_ID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "An audience id that is not a UUID."}
}


@router.get(
    "/audiences",
    summary="The account's audiences, each with its members' count now",
    response_model_exclude_none=True,
)
async def list_audiences(scope: AccountScopeDep) -> AudienceList:
    async with scope.connection() as conn:
        found = await list_audiences_with_counts(conn)
    return AudienceList(audiences=[_out(audience, count) for audience, count in found])


@router.post(
    "/audiences",
    summary="Save a contact filter as a dynamic audience",
    response_model_exclude_none=True,
    status_code=201,
    responses={**_NAME_TAKEN, **_INVALID},
)
async def post_audience(body: AudienceIn, scope: AccountScopeDep) -> AudienceOut:
    async with scope.connection() as conn:
        try:
            audience = await create_audience(conn, body.name, body.filter)
        except AudienceNameTaken as exc:
            raise _name_taken(exc) from None
        return _out(audience, await count_members(conn, audience))


@router.get(
    "/audiences/{audience_id}",
    summary="One audience, with its members' count now",
    response_model_exclude_none=True,
    responses={**_NOT_FOUND, **_BAD_ID},
)
async def get_one_audience(audience_id: UUID, scope: AccountScopeDep) -> AudienceOut:
    async with scope.connection() as conn:
        audience = await _audience_or_404(conn, audience_id)
        return _out(audience, await count_members(conn, audience))


@router.patch(
    "/audiences/{audience_id}",
    summary="Rename an audience, or replace its filter",
    response_model_exclude_none=True,
    responses={**_NOT_FOUND, **_NAME_TAKEN, **_INVALID},
)
async def patch_audience(
    audience_id: UUID, body: AudiencePatch, scope: AccountScopeDep
) -> AudienceOut:
    async with scope.connection() as conn:
        try:
            audience = await update_audience(conn, audience_id, body.name, body.filter)
        except AudienceNameTaken as exc:
            raise _name_taken(exc) from None
        if audience is None:
            raise not_found("audience", audience_id)
        return _out(audience, await count_members(conn, audience))


@router.delete(
    "/audiences/{audience_id}",
    summary="Delete an audience (its contacts stay)",
    status_code=204,
    response_class=Response,
    responses={**_NOT_FOUND, **_BAD_ID},
)
async def remove_audience(audience_id: UUID, scope: AccountScopeDep) -> Response:
    async with scope.connection() as conn:
        if not await delete_audience(conn, audience_id):
            raise not_found("audience", audience_id)
    return Response(status_code=204)


@router.get(
    "/audiences/{audience_id}/members",
    summary="The audience's members now, a page at a time (as /api/contacts)",
    responses={
        **_NOT_FOUND,
        400: {"model": ErrorBody, "description": "A cursor this API did not give."},
        422: {"model": ErrorBody, "description": "A limit out of range, or an id not a UUID."},
    },
)
async def list_members(
    audience_id: UUID,
    scope: AccountScopeDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Contacts per page.")] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor`.")] = None,
) -> ContactDetailPage:
    after = decode_cursor(cursor) if cursor else None
    async with scope.connection() as conn:
        audience = await _audience_or_404(conn, audience_id)
        rows = await member_page(conn, audience, limit + 1, after, with_sources=True)
    return detail_page(rows, limit)


@router.get(
    "/audiences/{audience_id}/members.csv",
    summary="Every member of the audience now, as CSV",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "Columns: id, email, the standard fields, the account's custom"
            " fields (by key), linkedin_imported, linkedin_import_date,"
            " linkedin_forms_filled (form names, newest first), created_at, updated_at.",
        },
        **_NOT_FOUND,
        **_BAD_ID,
    },
)
async def members_csv(audience_id: UUID, scope: AccountScopeDep) -> StreamingResponse:
    async with scope.connection() as conn:
        audience = await _audience_or_404(conn, audience_id)
    name = f"leadsync-audience-{audience.id}-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        _lines(scope, audience),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _lines(scope: AccountScope, audience: Audience) -> AsyncIterator[str]:
    async with scope.connection() as conn:
        async for row in member_rows(conn, audience):
            yield csv_line(row)


async def _audience_or_404(conn: AsyncConnection[Any], audience_id: UUID) -> Audience:
    audience = await get_audience(conn, audience_id)
    if audience is None:
        raise not_found("audience", audience_id)
    return audience


def _name_taken(exc: AudienceNameTaken) -> ApiError:
    return ApiError(409, "name_taken", str(exc), [{"location": "body.name", "name": exc.name}])


def _out(audience: Audience, count: int) -> AudienceOut:
    return AudienceOut(
        id=audience.id,
        name=audience.name,
        filter=audience.filter,
        count=count,
        created_at=audience.created_at,
        updated_at=audience.updated_at,
    )
