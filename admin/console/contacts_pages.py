"""``/console/contacts``: the account's contacts filtered by their LinkedIn fields, and one
contact's page (its fields with where each value came from, and its submissions).

The filters are a plain GET form (:mod:`admin.console.contact_filters`), so a filtered list
is a URL that can be bookmarked and works without JavaScript; htmx (when loaded) refreshes
the results only as a filter changes. The seed's example, "contacts from test submissions of
Test Form", is two clicks: the form's quick filter, then "Test leads". Paging follows the
API's keyset cursor.

Data comes through the JSON API's route functions and the sinks functions they use, with
the signed-in user's :class:`~admin.dependencies.AccountScope`: another account's contact
is not found (404), and its contacts are in no list or count.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from admin import contacts_routes, mappings_routes
from admin.console.contact_filters import (
    FIELD_LABELS,
    filter_choices,
    filter_context,
    parse_filter,
    shown,
    when,
)
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from admin.error_responses import ApiError
from sinks.contacts_query import ContactFilter, count_contacts

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/console/contacts", response_class=HTMLResponse)
async def contacts_page(request: Request, page: AccountPageDep) -> HTMLResponse:
    """The filtered list; the filter form's htmx requests get the results part only."""
    where, left_out = parse_filter(request.query_params)
    cursor = request.query_params.get("cursor") or None
    return await render_contacts(page, where, left_out, cursor, fragment=_from_htmx(request))


async def render_contacts(
    page: AccountPage,
    where: ContactFilter,
    left_out: list[str] | None = None,
    cursor: str | None = None,
    *,
    fragment: bool = False,
    problem: str | None = None,
    audience_name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The contacts page for ``where`` (a page of it after ``cursor``); ``problem`` (in
    the user's language) shows beside "Save as audience", which it is about."""
    choices = await filter_choices(page)
    if where.consent_id is not None and where.consent_id not in {
        c.id for c in choices.consents(where.form_id)
    }:
        # The form changed under a consent of the previous one: that consent is gone.
        where = where.model_copy(update={"consent_id": None})
    try:
        found = await contacts_routes.contacts_page(page.scope, where, PAGE_SIZE, cursor)
    except ApiError:  # a cursor this console did not make: from the start
        cursor = None
        found = await contacts_routes.contacts_page(page.scope, where, PAGE_SIZE)
    async with page.scope.connection() as conn:
        count = await count_contacts(conn, where)
    response = page.render(
        "contacts/_results.html" if fragment else "contacts/list.html",
        status_code=status_code,
        nav="contacts",
        where=where,
        left_out=", ".join(dict.fromkeys(page.t(FIELD_LABELS[name]) for name in left_out or ())),
        contacts=found.contacts,
        count=count,
        next_cursor=found.next_cursor,
        cursor=cursor,
        oob=fragment,
        problem=problem,
        audience_name=audience_name,
        **filter_context(page, choices),
    )
    # One URL, two bodies (the page or its results part): caches must tell them apart.
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get("/console/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_page(contact_id: str, page: AccountPageDep) -> HTMLResponse:
    if not _is_uuid(contact_id):
        return not_found(page)
    try:
        contact = await contacts_routes.get_contact(UUID(contact_id), page.scope)
    except ApiError:  # not this account's contact
        return not_found(page)
    labels = {f.key: f.label for f in (await mappings_routes.list_fields(page.scope)).fields}
    form_names = {s.form_id: s.form_name for s in contact.submissions}

    def form_label(form_id: int | None) -> str:
        if form_id is None:
            return ""
        return f"“{form_names[form_id]}”" if form_id in form_names else f"#{form_id}"

    return page.render(
        "contacts/detail.html",
        nav="contacts",
        contact=contact,
        labels=labels,
        form_label=form_label,
        when=when,
        shown=lambda value: shown(value, page.t),
    )


def not_found(page: AccountPage) -> HTMLResponse:
    """The console's 404 page: the same for an id that never existed and another account's."""
    return page.render("not_found.html", status_code=404)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _from_htmx(request: Request) -> bool:
    # Only the filter form's own requests get the fragment; a history restore wants the page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == "results"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )
