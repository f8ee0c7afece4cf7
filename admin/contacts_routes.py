"""``/api/contacts``: the account's contacts by their LinkedIn fields (row-level security
keeps every other account's contacts out of the pages), each with ``field_sources``: where
each of its values came from (form, lead, mapping version, time; or "other" for a value
leadsync did not write or that changed since). ``/api/contacts/filter-choices``: what the
filters can be set to (the account's forms with their consents, ad accounts, campaigns).

The filter is :class:`sinks.contacts_query.ContactFilter`, the one the dynamic audiences
keep (:mod:`admin.audiences_routes`) and the console's contacts page submits.

Example: the test leads of form "Test Form" are
``GET /api/contacts?form_name=Test%20Form&test_lead=true``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from admin.contact_models import (
    ContactDetail,
    ContactDetailPage,
    ContactFilterChoices,
    ContactsQuery,
)
from admin.dependencies import AccountScope, AccountScopeDep
from admin.error_responses import ApiError, ErrorBody, not_found
from admin.models import Contact
from sinks.contacts_query import (
    ContactFilter,
    PageAfter,
    filter_choices,
    find_contact,
    find_contacts,
)

router = APIRouter(tags=["contacts"])


@router.get(
    "/contacts",
    summary="Contacts by their LinkedIn fields (filters combine with AND)",
    responses={
        400: {"model": ErrorBody, "description": "A cursor this API did not give."},
        422: {"model": ErrorBody, "description": "A filter that cannot be (the message says why)."},
    },
)
async def list_contacts(
    scope: AccountScopeDep, query: Annotated[ContactsQuery, Query()]
) -> ContactDetailPage:
    """Submission filters (form, ad account, campaign, test lead, consent) hold on one
    submission. Another parameter than these is refused (422)."""
    return await contacts_page(scope, query.contact_filter(), query.limit, query.cursor)


@router.get(
    "/contacts/filter-choices",
    summary="What the contact filters can be set to in the account",
)
async def get_filter_choices(scope: AccountScopeDep) -> ContactFilterChoices:
    async with scope.connection() as conn:
        choices = await filter_choices(conn)
    return ContactFilterChoices.model_validate(choices)


@router.get(
    "/contacts/{contact_id}",
    summary="One contact with its LinkedIn submissions and where each value came from",
    responses={404: {"model": ErrorBody}},
)
async def get_contact(contact_id: UUID, scope: AccountScopeDep) -> ContactDetail:
    async with scope.connection() as conn:
        row = await find_contact(conn, contact_id, with_sources=True)
    if row is None:
        raise not_found("contact", contact_id)
    return ContactDetail.model_validate(row)


async def contacts_page(
    scope: AccountScope, where: ContactFilter, limit: int = 100, cursor: str | None = None
) -> ContactDetailPage:
    """A page of the contacts matching ``where`` (the API's and the console's)."""
    after = decode_cursor(cursor) if cursor else None
    async with scope.connection() as conn:
        rows = await find_contacts(conn, where, limit + 1, after, with_sources=True)
    return detail_page(rows, limit)


def detail_page(rows: list[dict[str, object]], limit: int) -> ContactDetailPage:
    """A page of ``limit`` contacts out of ``limit + 1`` rows (the extra one says there is
    a next page)."""
    page = [ContactDetail.model_validate(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ContactDetailPage(contacts=page, next_cursor=encode_cursor(page[-1]) if more else None)


def encode_cursor(last: Contact) -> str:
    raw = json.dumps([last.created_at.isoformat(), str(last.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> PageAfter:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, contact_id = json.loads(raw)
        return PageAfter(datetime.fromisoformat(created_at), UUID(contact_id))
    except (binascii.Error, ValueError, TypeError):
        raise ApiError(
            400, "invalid_cursor", "the cursor is not one this API gave; start again without it"
        ) from None
