"""``/api/contacts``: the account's contacts by their LinkedIn fields, for filters and
audiences (row-level security keeps every other account's contacts out of the pages), each
with ``field_sources``: where each of its values came from (form, lead, mapping version,
time; or "other" for a value leadsync did not write or that changed since).

Example: the test leads of form "Test Form" are
``GET /api/contacts?form_name=Test%20Form&test_lead=true``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from admin.contact_models import ContactDetail, ContactDetailPage
from admin.dependencies import AccountScopeDep
from admin.error_responses import ApiError, ErrorBody, not_found
from admin.models import Contact
from sinks.contacts_query import ContactFilter, PageAfter, find_contacts

router = APIRouter(tags=["contacts"])
_AD_ACCOUNT = "urn:li:sponsoredAccount:"
_CAMPAIGN = "urn:li:sponsoredCampaign:"


@router.get(
    "/contacts",
    summary="Contacts by their LinkedIn fields (filters combine with AND)",
    responses={400: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def list_contacts(
    scope: AccountScopeDep,
    imported: Annotated[bool | None, Query(description="LinkedIn - Imported.")] = None,
    imported_from: Annotated[
        datetime | None, Query(description="LinkedIn - Import date on or after (UTC if naive).")
    ] = None,
    imported_to: Annotated[
        datetime | None, Query(description="LinkedIn - Import date before (UTC if naive).")
    ] = None,
    form_id: Annotated[int | None, Query(description="A submission of this form.")] = None,
    form_name: Annotated[
        str | None, Query(max_length=500, description="Form name, case-insensitive.")
    ] = None,
    ad_account: Annotated[
        str | None,
        Query(max_length=200, description="Ad account URN or numeric id (the lead's owner)."),
    ] = None,
    campaign: Annotated[
        str | None, Query(max_length=200, description="Campaign URN or numeric id.")
    ] = None,
    test_lead: Annotated[bool | None, Query(description="Submitted as a test lead.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor`.")] = None,
) -> ContactDetailPage:
    """Submission filters (form, ad account, campaign, test lead) hold on one submission."""
    where = ContactFilter(
        imported=imported,
        imported_from=_utc(imported_from),
        imported_to=_utc(imported_to),
        form_id=form_id,
        form_name=form_name,
        ad_account=_urn(ad_account, _AD_ACCOUNT),
        campaign=_urn(campaign, _CAMPAIGN),
        test_lead=test_lead,
    )
    after = decode_cursor(cursor) if cursor else None
    async with scope.connection() as conn:
        rows = await find_contacts(conn, where, limit + 1, after, with_sources=True)
    page = [ContactDetail.model_validate(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ContactDetailPage(contacts=page, next_cursor=encode_cursor(page[-1]) if more else None)


@router.get(
    "/contacts/{contact_id}",
    summary="One contact with its LinkedIn submissions and where each value came from",
    responses={404: {"model": ErrorBody}},
)
async def get_contact(contact_id: UUID, scope: AccountScopeDep) -> ContactDetail:
    async with scope.connection() as conn:
        rows = await find_contacts(conn, ContactFilter(contact_id=contact_id), 1, with_sources=True)
    if not rows:
        raise not_found("contact", contact_id)
    return ContactDetail.model_validate(rows[0])


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


def _urn(value: str | None, prefix: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return f"{prefix}{value}" if value.isdigit() else value


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
