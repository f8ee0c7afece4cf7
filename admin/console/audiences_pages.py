"""``/console/audiences``: the account's dynamic audiences (saved contact filters whose
members are the contacts matching them now), one audience's page with its live count and
members, its CSV export, and the forms that save, rename and delete one.

An audience is saved from the contacts page ("Save as audience" posts the page's filter
here). Its count is read again every few seconds (htmx), so a lead that arrives while the
page is open shows as it is imported. Everything goes through the JSON API's route
functions (:mod:`admin.audiences_routes`): another account's audience is the 404 page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from admin import audiences_routes
from admin.console.contact_filters import filter_choices, filter_context, parse_filter
from admin.console.contacts_pages import not_found, render_contacts
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from admin.contact_models import AudienceIn, AudienceOut, AudiencePatch
from admin.error_responses import ApiError

router = APIRouter(include_in_schema=False)

MEMBERS_PAGE_SIZE = 50
LIST_REFRESH_S = 10  # the list's counts (all in one statement)
COUNT_REFRESH_S = 3  # one audience's count
NAME_TAKEN = "An audience named “{name}” exists already: choose another name."
NAME_MISSING = "Give the audience a name (up to 200 characters)."
NAME_NUL = "A name cannot contain the NUL character (\\0): it was taken out, check the name."


@router.get("/console/audiences", response_class=HTMLResponse)
async def audiences_page(request: Request, page: AccountPageDep) -> HTMLResponse:
    """The list with each audience's count now; its rows are read again every few seconds
    (htmx asks for them alone)."""
    audiences = (await audiences_routes.list_audiences(page.scope)).audiences
    choices = await filter_choices(page)
    rows_only = request.headers.get("HX-Target") == "audience-rows"
    response = page.render(
        "audiences/_rows.html" if rows_only else "audiences/list.html",
        nav="audiences",
        audiences=audiences,
        deleted=request.query_params.get("deleted") == "1",
        refresh_s=LIST_REFRESH_S,
        **filter_context(page, choices),
    )
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.post("/console/audiences", response_class=HTMLResponse)
async def save_audience(request: Request, page: AccountPageDep) -> Response:
    """ "Save as audience" on the contacts page: the page's filter under a name."""
    form = await request.form()
    params = {name: value for name, value in form.items() if isinstance(value, str)}
    where, _left_out = parse_filter(params)
    name = params.get("name", "")
    try:
        audience = await audiences_routes.post_audience(
            AudienceIn(name=name, filter=where), page.scope
        )
    except ValidationError:
        return await render_contacts(
            page,
            where,
            problem=_name_problem(page, name),
            audience_name=name.replace("\x00", ""),
            status_code=422,
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        problem = _name_taken(page, name)
        return await render_contacts(
            page, where, problem=problem, audience_name=name, status_code=409
        )
    return RedirectResponse(f"/console/audiences/{audience.id}", status_code=303)


def _name_taken(page: AccountPage, name: str) -> str:
    return page.t(
        "An audience named “{name}” exists already: choose another name.", name=name.strip()
    )


# Declared before the audience's page: "{audience_id}" alone would also match "x.csv".
@router.get("/console/audiences/{audience_id}.csv", response_model=None)
async def audience_csv(audience_id: str, page: AccountPageDep) -> Response:
    """Every member now, as the API exports them (streamed)."""
    found = _uuid(audience_id)
    if found is None:
        return not_found(page)
    try:
        return await audiences_routes.members_csv(found, page.scope)
    except ApiError:
        return not_found(page)


@router.get("/console/audiences/{audience_id}", response_class=HTMLResponse)
async def audience_page(audience_id: str, request: Request, page: AccountPageDep) -> HTMLResponse:
    audience = await _audience(page, audience_id)
    if audience is None:
        return not_found(page)
    return await _render_audience(page, audience, request.query_params.get("cursor") or None)


@router.get("/console/audiences/{audience_id}/count", response_class=HTMLResponse)
async def audience_count(audience_id: str, page: AccountPageDep) -> HTMLResponse:
    """The live count's text (htmx polls it into the page)."""
    audience = await _audience(page, audience_id)
    if audience is None:
        # htmx stops polling on 286: the audience was deleted meanwhile.
        return HTMLResponse(page.t("Deleted"), status_code=286)
    return page.render("audiences/_count.html", count=audience.count)


@router.post("/console/audiences/{audience_id}/rename", response_class=HTMLResponse)
async def rename_audience(audience_id: str, request: Request, page: AccountPageDep) -> Response:
    audience = await _audience(page, audience_id)
    if audience is None:
        return not_found(page)
    name = str((await request.form()).get("name", ""))
    try:
        await audiences_routes.patch_audience(audience.id, AudiencePatch(name=name), page.scope)
    except ValidationError:
        return await _render_audience(
            page,
            audience,
            problem=_name_problem(page, name),
            new_name=name.replace("\x00", ""),
            status_code=422,
        )
    except ApiError as exc:
        if exc.status == 404:  # deleted meanwhile
            return not_found(page)
        if exc.status != 409:
            raise
        problem = _name_taken(page, name)
        return await _render_audience(
            page, audience, problem=problem, new_name=name, status_code=409
        )
    return RedirectResponse(f"/console/audiences/{audience.id}", status_code=303)


@router.post("/console/audiences/{audience_id}/delete", response_class=HTMLResponse)
async def delete_audience(audience_id: str, page: AccountPageDep) -> Response:
    found = _uuid(audience_id)
    if found is None:
        return not_found(page)
    try:
        await audiences_routes.remove_audience(found, page.scope)
    except ApiError:
        return not_found(page)
    return RedirectResponse("/console/audiences?deleted=1", status_code=303)


async def _render_audience(
    page: AccountPage,
    audience: AudienceOut,
    cursor: str | None = None,
    *,
    problem: str | None = None,
    new_name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The audience's page; ``problem`` says why the name ``new_name`` was refused (the
    rename dialog opens again with both)."""
    try:
        members = await audiences_routes.list_members(
            audience.id, page.scope, MEMBERS_PAGE_SIZE, cursor
        )
    except ApiError:  # a cursor this console did not make: from the start
        cursor = None
        members = await audiences_routes.list_members(audience.id, page.scope, MEMBERS_PAGE_SIZE)
    choices = await filter_choices(page)
    context: dict[str, Any] = filter_context(page, choices)
    return page.render(
        "audiences/detail.html",
        status_code=status_code,
        nav="audiences",
        audience=audience,
        contacts=members.contacts,
        next_cursor=members.next_cursor,
        cursor=cursor,
        problem=problem,
        new_name=new_name,
        refresh_s=COUNT_REFRESH_S,
        **context,
    )


async def _audience(page: AccountPage, audience_id: str) -> AudienceOut | None:
    """The account's audience of that id (with its count now), or None."""
    found = _uuid(audience_id)
    if found is None:
        return None
    try:
        return await audiences_routes.get_one_audience(found, page.scope)
    except ApiError:
        return None


def _name_problem(page: AccountPage, name: str) -> str:
    """Why the API's model refused ``name`` (its only rules: present, short, no NUL)."""
    return page.t(NAME_NUL if "\x00" in name else NAME_MISSING)


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
