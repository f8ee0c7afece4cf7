"""An account connects its own LinkedIn member: the authorization link, the page where the
member confirms the account, and the callback LinkedIn redirects the member to.

The link is asked for by the account itself (``POST /api/linkedin/authorization`` with its
API token) or by the operator for a named account (``POST
/api/accounts/{name}/linkedin/authorization`` with the operator token). It leads to
``GET /oauth/linkedin/start``, a page naming the account: whoever was sent the link sees
which account their LinkedIn member would feed before anything happens. Its Continue
(``POST``, CSRF-protected) spends the link's state, gives this browser a secret in a cookie
and sends it to LinkedIn with a second state derived from that secret.

The callback is ``LEADSYNC_OAUTH_REDIRECT_URL``, registered exactly so in the LinkedIn app.
It takes LinkedIn's state only from the browser that holds the secret it was derived from:
a code and state copied out of one browser (history, a shared screen, a proxy log) cannot be
completed in another. A state unknown, replayed, expired or of an account disabled since is
refused, each with its own message, and changes nothing. The connection is stored under
the member LinkedIn names (OpenID Connect), for that account, the member's ad accounts and
forms are discovered, and the push subscriptions of the account's forms with Import on are
made again at once (a member reconnecting after an expiry gets its pushes back now, not at
the scheduler's next round).

``GET /api/linkedin/connections`` (the account's token) lists the account's connections
with their health and lifetime: status, when the refresh token ends, the days left and the
warning level (30, 7, 1 days before; see :mod:`sinks.token_expiry`), and the organizations
whose forms each one's last discovery read, by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from admin.accounts_routes import AccountName
from admin.dependencies import AccountScopeDep, DatabaseDep, SettingsDep
from admin.error_responses import ApiError, ErrorBody, not_found
from admin.oauth_pages import (
    CSRF_COOKIE,
    confirmation_page,
    connected_page,
    csrf_proves,
    csrf_token,
    delete_cookie,
    public_origin,
    refusal,
    set_cookie,
    to_linkedin,
    wants_html,
)
from ingest.connect import ConnectFailed, authorization_url, complete_authorization
from ingest.discovery import discover
from ingest.subscriptions import SubscribeResult, resubscribe_account
from leadsync.api_tokens import token_hash
from leadsync.errors import LeadsyncError
from leadsync.settings import Settings
from sinks.accounts import UnknownAccount, account_by_name
from sinks.connection_reach import ConnectionReach, connection_reach
from sinks.connections import TokenCipher, save_connection
from sinks.console_users import ConsoleUserRow
from sinks.database import Database
from sinks.oauth_states import (
    STATE_TTL_S,
    OAuthState,
    StateProblem,
    find_state,
    remember_state,
    spend_state,
)
from sinks.token_expiry import ConnectionLifetime, connection_lifetimes

log = logging.getLogger(__name__)
operator_router = APIRouter(tags=["LinkedIn connection"])  # /api: the operator token
account_router = APIRouter(tags=["LinkedIn connection"])  # /api: the account's token
callback_router = APIRouter(tags=["LinkedIn connection"])  # LinkedIn's redirect: no token


class Authorization(BaseModel):
    url: str = Field(description="Send the member here: a page naming the account, then LinkedIn.")
    expires_in_s: int = Field(description="The link works once, within this time.")


class Connected(BaseModel):
    account: str
    member_urn: str
    member_name: str | None
    connection_id: int
    ad_accounts: int
    organizations: int
    forms: int = Field(description="Forms found; new ones start with Import off.")
    push_subscriptions: int = Field(
        default=0,
        description="Push subscriptions of the account's forms with Import on, made again"
        " (or found in place) right after connecting.",
    )
    subscription_failures: list[str] = Field(
        default_factory=list,
        description="Owners whose subscription LinkedIn refused now (the scheduler retries).",
    )


class LinkedInOrganization(BaseModel):
    urn: str = Field(description="urn:li:organization:<id>")
    name: str | None = Field(
        description="As LinkedIn gave it to the last discovery; None when LinkedIn refused or"
        " failed to give it."
    )


class LinkedInConnection(BaseModel):
    id: int
    member_urn: str | None
    member_name: str | None
    status: str = Field(description="active, expired or revoked")
    status_reason: str | None
    expires_at: datetime | None = Field(
        description="When the connection stops working unless its member connects again: the"
        " refresh token's end (the access token's when LinkedIn gave no refresh token)."
    )
    ends_with: str = Field(description="refresh_token or access_token")
    refresh_expires_at: datetime | None = Field(
        description="The refresh token's end (None without a refresh token)."
    )
    days_left: int | None = Field(description="Whole days until expires_at (0: less than one).")
    warning_level: str | None = Field(
        description="None, 30_days, 7_days, 1_day (within that many days of its end) or"
        " expired (ended, or refused by LinkedIn: status says which)."
    )
    warning: str | None = Field(description="What to tell the account, when anything.")
    organizations: list[LinkedInOrganization] = Field(
        default_factory=list,
        description="The organizations (Company Pages) whose forms the connection's last"
        " discovery read, by name (unnamed last).",
    )


class LinkedInConnections(BaseModel):
    connections: list[LinkedInConnection]


@operator_router.post(
    "/accounts/{name}/linkedin/authorization",
    status_code=201,
    summary="A link where a LinkedIn member approves leadsync for this account",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def post_authorization(
    name: AccountName, db: DatabaseDep, settings: SettingsDep
) -> Authorization:
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
        await remember_state(conn, _link_key(state), account_id)
    return Authorization(url=f"{_start_url(settings)}?state={state}", expires_in_s=STATE_TTL_S)


def _start_url(settings: Settings) -> str:
    # The start page is the callback's sibling: behind a proxy, under the same prefix.
    return settings.oauth_redirect_url.rsplit("/", 1)[0] + "/start"


# -- the member's browser: no token; the states (and the browser's secret) authorize ------

# For the start page and the callback alike: the member's way out is a new link either way.
_MESSAGES: dict[str, str] = {
    StateProblem.UNKNOWN: "leadsync knows no such LinkedIn connection request: ask for a new link",
    StateProblem.USED: (
        "this LinkedIn connection request was already used: ask for a new link to connect again"
    ),
    StateProblem.EXPIRED: (
        f"this LinkedIn connection request has expired (it lasts {STATE_TTL_S // 60} minutes):"
        " ask for a new link"
    ),
    StateProblem.ACCOUNT_DISABLED: (
        "the account this LinkedIn connection request was made for has been disabled:"
        " nothing can be connected to it"
    ),
    "browser_unbound": (
        "this LinkedIn sign-in was started in another browser (or its cookie was removed):"
        " finish it in the browser where you pressed Continue, or start again from the link"
    ),
    "browser_mismatch": (
        "this LinkedIn sign-in does not belong to this browser: start again from the link"
    ),
    "csrf_refused": (
        "this request did not come from leadsync's connection page: open the link again and"
        " press Continue there"
    ),
}


# The OAuth pages' refusals (oauth_pages.refusal): a page for a browser (``Accept:
# text/html``), the error body as JSON otherwise. Both documented by hand: FastAPI lists a
# response's model under the route's own media type only (text/html for the start page).
_REFUSAL: dict[str, Any] = {
    "description": "Refused: a page for a browser, else the error as JSON",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}},
        "text/html": {"schema": {"type": "string"}},
    },
}
_PAGE: dict[str, Any] = {"content": {"text/html": {"schema": {"type": "string"}}}}


# What each page gets again from its address: the language switch reloads it with these.
_START_QUERY = ("state",)
_CALLBACK_QUERY = ("state", "code", "error", "error_description")
# LinkedIn's errors when the member cancels rather than approves.
_DECLINED = frozenset({"user_cancelled_authorize", "user_cancelled_login"})


@dataclass(frozen=True)
class _Unusable:
    """Why a state cannot be used, and whose it is (None: there is no such state)."""

    problem: str
    account_id: int | None = None


def _refused(
    request: Request,
    unusable: _Unusable,
    console_user: ConsoleUserRow | None,
    reloads_with: Sequence[str] | None,
) -> Response:
    problem = unusable.problem
    return refusal(
        request,
        403 if problem == "csrf_refused" else 400,
        problem,
        _MESSAGES[problem],
        user_of_account=_of_account(console_user, unusable.account_id),
        reloads_with=reloads_with,
    )


def _of_account(console_user: ConsoleUserRow | None, account_id: int | None) -> bool:
    """The browser is signed in to the console as a user of ``account_id``."""
    return (
        console_user is not None
        and account_id is not None
        and console_user.account_id == account_id
    )


def _link_key(state: str) -> bytes:
    return token_hash("link:" + state)


def _linkedin_key(state: str) -> bytes:
    # Each kind of state is kept under a hash of its own: a link's state is no state to come
    # back from LinkedIn with, and LinkedIn's (seen in the callback's URL) opens no start page.
    return token_hash("linkedin:" + state)


async def _usable(conn: AsyncConnection[Any], key: bytes | None) -> OAuthState | _Unusable:
    """The state kept under ``key``, locked until the transaction ends, if it can be used;
    else why not."""
    found = await find_state(conn, key) if key else None
    if found is None:
        return _Unusable(StateProblem.UNKNOWN)
    if found.problem:
        return _Unusable(found.problem, found.account_id)
    return found


def browser_state(browser_secret: str) -> str:
    """LinkedIn's state for a browser holding ``browser_secret`` (its binding cookie): the
    state is public (it travels in URLs), the secret cannot be found from it."""
    digest = hashlib.sha256(b"leadsync oauth browser\0" + browser_secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _binding_cookie(state: str) -> str:
    # One cookie per authorization: two tabs can each connect an account at the same time.
    return "leadsync_oauth_" + hashlib.sha256(state.encode()).hexdigest()[:16]


@account_router.get(
    "/linkedin/connections",
    summary="The account's LinkedIn connections: health, and when each must be renewed",
)
async def get_connections(scope: AccountScopeDep) -> LinkedInConnections:
    async with scope.db.account(scope.id) as conn:
        lifetimes = await connection_lifetimes(conn)
        reaches = await connection_reach(conn)
    return LinkedInConnections(
        connections=[
            _connection(c, reaches.get(c.connection_id, ConnectionReach())) for c in lifetimes
        ]
    )


def _connection(lifetime: ConnectionLifetime, reach: ConnectionReach) -> LinkedInConnection:
    return LinkedInConnection(
        id=lifetime.connection_id,
        member_urn=lifetime.member_urn,
        member_name=lifetime.member_name,
        status=lifetime.status,
        status_reason=lifetime.status_reason,
        expires_at=lifetime.expires_at,
        ends_with=lifetime.ends_with,
        refresh_expires_at=lifetime.expires_at if lifetime.ends_with == "refresh_token" else None,
        days_left=lifetime.days_left,
        warning_level=lifetime.warning_level,
        warning=lifetime.warning(),
        organizations=[LinkedInOrganization(urn=o.urn, name=o.name) for o in reach.organizations],
    )


@callback_router.get(
    "/oauth/linkedin/start",
    summary="The page where the member confirms the account before going to LinkedIn",
    response_class=HTMLResponse,
    responses={400: _REFUSAL},
)
async def start_page(
    request: Request, db: DatabaseDep, settings: SettingsDep, state: str = ""
) -> Response:
    async with db.connection() as conn:
        found = await _usable(conn, _link_key(state) if state else None)
    viewer = await _console_user(request) if wants_html(request) else None
    if not isinstance(found, OAuthState):
        return _refused(request, found, viewer, _START_QUERY)
    csrf = csrf_token(request) or secrets.token_urlsafe(32)
    response = confirmation_page(
        request, found.account, state, csrf, user_of_account=_of_account(viewer, found.account_id)
    )
    # Strict: a form posted from another site arrives without it, and is refused.
    set_cookie(response, settings, CSRF_COOKIE, csrf, "strict")
    return response


@callback_router.post(
    "/oauth/linkedin/start",
    summary="Continue: bind this browser to the authorization and go to LinkedIn",
    status_code=303,
    responses={400: _REFUSAL, 403: _REFUSAL},
)
async def start_continue(request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    state = form.get("state", [""])[0]
    if not _from_our_page(request, settings, form.get("csrf", [""])[0]):
        viewer = await _console_user(request) if wants_html(request) else None
        return _refused(request, _Unusable("csrf_refused"), viewer, None)
    browser_secret = secrets.token_urlsafe(32)
    linkedin_state = browser_state(browser_secret)
    async with db.connection() as conn:
        found = await _usable(conn, _link_key(state) if state else None)
        if isinstance(found, OAuthState):
            await spend_state(conn, _link_key(state))
            # Valid as long as the link was: the time counts from when it was made.
            await remember_state(
                conn, _linkedin_key(linkedin_state), found.account_id, found.created_at
            )
    if not isinstance(found, OAuthState):
        viewer = await _console_user(request) if wants_html(request) else None
        return _refused(request, found, viewer, None)
    response = to_linkedin(await authorization_url(settings, linkedin_state))
    # Lax: sent along when LinkedIn redirects the member back (a top-level GET).
    set_cookie(response, settings, _binding_cookie(linkedin_state), browser_secret, "lax")
    return response


def _from_our_page(request: Request, settings: Settings, presented: str) -> bool:
    """Posted by our confirmation page in this browser: the form's token proves the browser's
    CSRF cookie (which another site can neither read nor send along), and the browser, when
    it says where the form came from, names the admin process."""
    origin = request.headers.get("origin")
    if origin is not None and origin != public_origin(settings):
        return False
    expected = csrf_token(request)
    return expected is not None and csrf_proves(presented, expected)


@callback_router.get(
    "/oauth/linkedin/callback",
    summary="Where LinkedIn sends the member back (LEADSYNC_OAUTH_REDIRECT_URL)",
    response_model=Connected,
    # 200: the page for a browser; 303: to the console's LinkedIn page for its signed-in user.
    responses={200: _PAGE, 303: {"description": "To the console"}, 400: _REFUSAL, 403: _REFUSAL},
)
async def oauth_callback(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    console_user = await _console_user(request)
    async with db.connection() as conn:
        found = await _usable(conn, _linkedin_key(state) if state else None)
        if isinstance(found, OAuthState):
            # Checked before the state is spent: someone else's attempt from another browser
            # leaves the member's own sign-in working.
            unbound = _binding_problem(request, state)
            if unbound:
                problem = _Unusable(unbound, found.account_id)
                return _refused(request, problem, console_user, _CALLBACK_QUERY)
            if console_user is not None and console_user.account_id not in (
                None,
                found.account_id,
            ):
                return _other_account(request, found, console_user.account_name)
            await spend_state(conn, _linkedin_key(state))
    if not isinstance(found, OAuthState):
        return _refused(request, found, console_user, _CALLBACK_QUERY)
    # From here the state is spent: these pages cannot be loaded again (no language switch).
    theirs = _of_account(console_user, found.account_id)
    if not code:
        reason = error_description or error or "LinkedIn sent no authorization code"
        message = f"LinkedIn did not authorize leadsync: {reason}"
        refused = refusal(
            request,
            400,
            "not_connected",
            message,
            explained_as="declined" if error in _DECLINED else "linkedin_refused",
            reason=reason,
            user_of_account=theirs,
        )
        return _finished(refused, settings, state)
    try:
        tokens, member = await complete_authorization(settings, code)
    except ConnectFailed as exc:
        refused = refusal(
            request,
            400,
            "not_connected",
            str(exc),
            explained_as="connect_failed",
            reason=str(exc),
            user_of_account=theirs,
        )
        return _finished(refused, settings, state)
    async with db.account(found.account_id) as conn:
        connection_id = await save_connection(
            conn, TokenCipher(settings), tokens, member.urn, member.name, found.account_id
        )
    discovered = await discover(settings, db, found.account_id, connection_id)
    log.info("account %s connected LinkedIn member %s", found.account, member.urn)
    subscribed = await _resubscribe(settings, db, found.account_id)
    connected = Connected(
        account=found.account,
        member_urn=member.urn,
        member_name=member.name,
        connection_id=connection_id,
        ad_accounts=len(discovered.ad_accounts),
        organizations=len(discovered.organizations),
        forms=discovered.forms,
        push_subscriptions=len(subscribed.created) + len(subscribed.existing),
        subscription_failures=subscribed.failed,
    )
    if theirs:
        # A user of the account, signed in to the console: back to its LinkedIn page.
        return _finished(_to_console(request, connected), settings, state)
    return _finished(_connected_answer(request, connected), settings, state)


async def _console_user(request: Request) -> ConsoleUserRow | None:
    """Who this browser is signed in to the console as, if anyone (the session cookie is
    sent to the callback too)."""
    # Imported here: the console's LinkedIn page imports this module.
    from admin.console.session import current_session

    signed_in = await current_session(request)
    return signed_in.session.user if signed_in else None


def _other_account(request: Request, found: OAuthState, signed_in_account: str | None) -> Response:
    """The browser is signed in to the console for another account than the one the
    authorization was made for: a link for someone else's account, sent to this user, must
    not connect their LinkedIn member to it (issue #12). Nothing is spent: signed out, the
    same browser may still finish it on purpose."""
    message = (
        f"this LinkedIn connection request is for the account {found.account}, but this"
        f" browser is signed in to leadsync's console for the account {signed_in_account}:"
        " nothing was connected. Connect LinkedIn from your account's console page, or sign"
        " out of the console first if you do mean to connect the other account"
    )
    return refusal(
        request,
        403,
        "other_account",
        message,
        params={"account": found.account, "signed_in": signed_in_account or ""},
        reloads_with=_CALLBACK_QUERY,  # nothing is spent: the same page again
    )


def _to_console(request: Request, connected: Connected) -> Response:
    if not wants_html(request):
        return JSONResponse(connected.model_dump(mode="json"))
    return RedirectResponse(
        f"/console/linkedin?connected={connected.connection_id}",
        303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _resubscribe(settings: Settings, db: Database, account_id: int) -> SubscribeResult:
    """The account's push subscriptions, made again now; a failure leaves the connection
    made (the scheduler's round retries)."""
    try:
        return await resubscribe_account(settings, db, account_id)
    except LeadsyncError as exc:
        log.warning("account %d: push subscriptions not made after connecting: %s", account_id, exc)
        return SubscribeResult(failed=[f"every owner: {exc}"])


def _binding_problem(request: Request, state: str) -> str | None:
    secret = request.cookies.get(_binding_cookie(state))
    if not secret:
        return "browser_unbound"
    if not hmac.compare_digest(browser_state(secret).encode(), state.encode()):
        return "browser_mismatch"
    return None


def _finished(response: Response, settings: Settings, state: str) -> Response:
    """The state is spent: its cookie has nothing left to bind."""
    delete_cookie(response, settings, _binding_cookie(state))
    return response


def _connected_answer(request: Request, connected: Connected) -> Response:
    if not wants_html(request):
        return JSONResponse(connected.model_dump(mode="json"))
    member = connected.member_name or connected.member_urn
    return connected_page(request, connected.account, member, connected.forms)
