"""An account connects its own LinkedIn member: the authorization link, and the callback
LinkedIn redirects the member to.

The link is asked for by the account itself (``POST /api/linkedin/authorization`` with its
API token) or by the operator for a named account (``POST
/api/accounts/{name}/linkedin/authorization`` with the operator token).

The callback is ``LEADSYNC_OAUTH_REDIRECT_URL``, registered exactly so in the LinkedIn app.
Its ``state`` is what binds it to the account that asked: made here, kept as a hash, used
once and within ``STATE_TTL_S``; a callback with a state unknown, replayed or expired is
refused and changes nothing. The connection is stored under the member LinkedIn names
(OpenID Connect), for that account, and the member's ad accounts and forms are discovered.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter
from pydantic import BaseModel, Field

from admin.dependencies import AccountScopeDep, DatabaseDep, SettingsDep
from admin.error_responses import ApiError, ErrorBody, not_found
from ingest.connect import ConnectFailed, authorization_url, complete_authorization
from ingest.discovery import discover
from leadsync.api_tokens import token_hash
from leadsync.settings import Settings
from sinks.accounts import UnknownAccount, account_by_name
from sinks.connections import TokenCipher, save_connection
from sinks.database import Database
from sinks.oauth_states import STATE_TTL_S, remember_state, take_state

log = logging.getLogger(__name__)
operator_router = APIRouter(tags=["LinkedIn connection"])  # /api: the operator token
account_router = APIRouter(tags=["LinkedIn connection"])  # /api: the account's token
callback_router = APIRouter(tags=["LinkedIn connection"])  # LinkedIn's redirect: no token


class Authorization(BaseModel):
    url: str = Field(description="Send the member here to approve leadsync on LinkedIn.")
    expires_in_s: int = Field(description="The link works once, within this time.")


class Connected(BaseModel):
    account: str
    member_urn: str
    member_name: str | None
    connection_id: int
    ad_accounts: int
    organizations: int
    forms: int = Field(description="Forms found; new ones start with Import off.")


@operator_router.post(
    "/accounts/{name}/linkedin/authorization",
    status_code=201,
    summary="A link where a LinkedIn member approves leadsync for this account",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def post_authorization(name: str, db: DatabaseDep, settings: SettingsDep) -> Authorization:
    async with db.connection() as conn:
        try:
            account = await account_by_name(conn, name)
        except UnknownAccount:
            raise not_found("account", name) from None
    if account.status != "active":
        raise ApiError(409, "account_disabled", f"account {name} is disabled")
    return await _authorization(db, settings, account.id)


@account_router.post(
    "/linkedin/authorization",
    status_code=201,
    summary="A link where a LinkedIn member approves leadsync for the token's account",
)
async def post_own_authorization(scope: AccountScopeDep, settings: SettingsDep) -> Authorization:
    # The token's account is active (a disabled account's token is refused before this).
    return await _authorization(scope.db, settings, scope.id)


async def _authorization(db: Database, settings: Settings, account_id: int) -> Authorization:
    state = secrets.token_urlsafe(32)
    async with db.connection() as conn:  # oauth_states is a global table
        await remember_state(conn, token_hash(state), account_id)
    return Authorization(url=await authorization_url(settings, state), expires_in_s=STATE_TTL_S)


@callback_router.get(
    "/oauth/linkedin/callback",
    summary="Where LinkedIn sends the member back (LEADSYNC_OAUTH_REDIRECT_URL)",
    responses={400: {"model": ErrorBody}},
)
async def oauth_callback(
    db: DatabaseDep,
    settings: SettingsDep,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
) -> Connected:
    async with db.connection() as conn:
        taken = await take_state(conn, token_hash(state)) if state else None
    if taken is None:
        raise ApiError(
            400,
            "state_invalid",
            "this LinkedIn sign-in is unknown, already used or expired: start it again",
        )
    account_id, account = taken
    if not code:
        reason = error_description or error or "LinkedIn sent no authorization code"
        raise ApiError(400, "not_connected", f"LinkedIn did not authorize leadsync: {reason}")
    try:
        tokens, member = await complete_authorization(settings, code)
    except ConnectFailed as exc:
        raise ApiError(400, "not_connected", str(exc)) from None
    async with db.account(account_id) as conn:
        connection_id = await save_connection(
            conn, TokenCipher(settings), tokens, member.urn, member.name, account_id
        )
    found = await discover(settings, db, account_id, connection_id)
    log.info("account %s connected LinkedIn member %s", account, member.urn)
    return Connected(
        account=account,
        member_urn=member.urn,
        member_name=member.name,
        connection_id=connection_id,
        ad_accounts=len(found.ad_accounts),
        organizations=len(found.organizations),
        forms=found.forms,
    )
