"""Bearer-token authentication of the admin API: account tokens and the operator token.

Two kinds of token, two kinds of route, no overlap:

* an **account's API token** (``lsk_...``, made by ``leadsync accounts create`` or
  ``POST /api/accounts``) opens the routes that act on that account's data (forms,
  mappings, runs, the error log, contacts, its LinkedIn link) and nothing else. It is
  looked up by its SHA-256 (:mod:`leadsync.api_tokens`), never compared as a secret; a
  revoked token or a disabled account's token is unknown at once.
* the **operator token** (``LEADSYNC_ADMIN_TOKEN``) manages accounts (``/api/accounts``) and
  reads no account's data. It is compared in constant time, so its content cannot be
  guessed byte by byte from response times.

A missing or unknown token gets 401 with ``WWW-Authenticate: Bearer`` and the same message
whatever the reason (no hint of whether an account exists or is disabled); a valid token of
the other kind gets 403 saying which token the route takes. Tokens are never logged: none of
these messages, nor the server's access log (request line and status), holds one.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from admin.error_responses import ApiError
from leadsync.api_tokens import token_hash
from leadsync.settings import DEMO_ACCOUNT_TOKEN, Settings
from sinks.accounts import Account, account_for_token
from sinks.database import Database

# auto_error=False: the 401 is ours (JSON error shape and WWW-Authenticate), not FastAPI's.
# Two schemes (the same header) so that the OpenAPI document says which route takes which.
account_bearer = HTTPBearer(
    auto_error=False,
    description="An account's API token (`lsk_...`): the routes act on that account's data.",
    scheme_name="AccountToken",
)
operator_bearer = HTTPBearer(
    auto_error=False,
    description="The operator token (LEADSYNC_ADMIN_TOKEN): it manages accounts only.",
    scheme_name="OperatorToken",
)

UNAUTHORIZED_MESSAGE = (
    "a valid API token is required: send 'Authorization: Bearer <token>'"
    " (an account's API token, or the operator token for /api/accounts)"
)
ACCOUNT_ROUTE_REFUSAL = (
    "this route acts on an account's data: send that account's API token"
    " ('Authorization: Bearer lsk_...'); the operator token (LEADSYNC_ADMIN_TOKEN)"
    " manages accounts only"
)
OPERATOR_ROUTE_REFUSAL = (
    "this route manages accounts: it takes the operator token (LEADSYNC_ADMIN_TOKEN),"
    " not an account's API token"
)


def token_matches(expected: SecretStr, presented: str) -> bool:
    return hmac.compare_digest(expected.get_secret_value().encode(), presented.encode())


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        UNAUTHORIZED_MESSAGE,
        headers={"WWW-Authenticate": 'Bearer realm="leadsync-admin"'},
    )


def _is_operator(settings: Settings, presented: str) -> bool:
    return token_matches(settings.admin_token, presented)


async def _account_of(settings: Settings, db: Database, presented: str) -> Account | None:
    """The active account the token belongs to, if any."""
    # The demo account's token is public (README, `make run`): outside demo mode it opens
    # nothing, even if an account was once made with it.
    if not settings.demo and hmac.compare_digest(presented.encode(), DEMO_ACCOUNT_TOKEN.encode()):
        return None
    async with db.connection() as conn:  # accounts and their tokens are global tables
        return await account_for_token(conn, token_hash(presented))


async def require_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(account_bearer)],
) -> Account:
    """The account whose token came with the request: every account route carries this,
    and works with ``Database.account(account.id)`` only."""
    settings: Settings = request.app.state.settings
    if credentials is None:
        raise _unauthorized()
    if _is_operator(settings, credentials.credentials):
        raise ApiError(403, "account_token_required", ACCOUNT_ROUTE_REFUSAL)
    account = await _account_of(settings, request.app.state.database, credentials.credentials)
    if account is None:
        raise _unauthorized()
    return account


async def require_operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)],
) -> None:
    """Every ``/api/accounts`` route carries this."""
    settings: Settings = request.app.state.settings
    if credentials is None:
        raise _unauthorized()
    if _is_operator(settings, credentials.credentials):
        return
    if await _account_of(settings, request.app.state.database, credentials.credentials):
        raise ApiError(403, "operator_token_required", OPERATOR_ROUTE_REFUSAL)
    raise _unauthorized()


AccountDep = Annotated[Account, Depends(require_account)]
