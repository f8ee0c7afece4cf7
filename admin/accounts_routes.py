"""The platform operator's routes: accounts, made, listed, disabled and enabled again, and
more API tokens for one.

A new account's API token is in the creation's answer and nowhere else: leadsync keeps only
its SHA-256. Disabling an account stops its tokens at once and keeps its data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from admin.dependencies import DatabaseDep
from admin.error_responses import ApiError, ErrorBody
from admin.models import RequestBody
from leadsync.api_tokens import new_token, token_hash
from sinks.accounts import (
    NAME,
    Account,
    AccountNameTaken,
    InvalidAccountName,
    UnknownAccount,
    add_token,
    create_account,
    disable_account,
    enable_account,
    list_accounts,
)
from sinks.database import Database

router = APIRouter(tags=["accounts"])

# An account's name in a path: only what an account can be named (422 otherwise, like any
# malformed path id). Anything else names no account, and one holding NUL could not even be
# looked up: PostgreSQL's text refuses that character (psycopg raised, the API answered 500).
AccountName = Annotated[
    str, Path(pattern=NAME.pattern, description="The account's name (as it was created).")
]


class NewAccount(RequestBody):
    name: str = Field(
        description="What operators type: 1 to 63 lower-case letters, digits and hyphens.",
        examples=["acme"],
    )


class AccountOut(BaseModel):
    id: int
    name: str
    status: Literal["active", "disabled"]
    created_at: datetime
    disabled_at: datetime | None
    tokens: int = Field(description="API tokens that work (not revoked).")


class CreatedAccount(AccountOut):
    token: str = Field(description="The account's first API token: shown this once.")


class NewToken(BaseModel):
    name: str
    token: str = Field(description="The account's new API token: shown this once.")
    tokens: int = Field(description="API tokens that work now, this one included.")


class AccountList(BaseModel):
    accounts: list[AccountOut]


def _out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


@router.post(
    "/accounts",
    status_code=201,
    summary="Make an account; the answer holds its first API token, shown once",
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def post_account(body: NewAccount, db: DatabaseDep) -> CreatedAccount:
    token = new_token()
    try:
        async with db.connection() as conn:
            account = await create_account(conn, body.name, token_hash(token))
    except AccountNameTaken as exc:
        raise ApiError(409, "account_exists", str(exc)) from None
    except InvalidAccountName as exc:
        raise ApiError(422, "invalid_account_name", str(exc)) from None
    return CreatedAccount(**_out(account).model_dump(), token=token)


@router.get("/accounts", summary="Every account, by name")
async def get_accounts(db: DatabaseDep) -> AccountList:
    async with db.connection() as conn:
        accounts = await list_accounts(conn)
    return AccountList(accounts=[_out(a) for a in accounts])


@router.post(
    "/accounts/{name}/disable",
    summary="Disable an account: its tokens stop working at once, its data stays",
    responses={404: {"model": ErrorBody}},
)
async def post_disable(name: AccountName, db: DatabaseDep) -> AccountOut:
    return _out(await _named(db, name, disable_account))


@router.post(
    "/accounts/{name}/enable",
    summary="Enable a disabled account again: its tokens and users work again",
    responses={404: {"model": ErrorBody}},
)
async def post_enable(name: AccountName, db: DatabaseDep) -> AccountOut:
    return _out(await _named(db, name, enable_account))


@router.post(
    "/accounts/{name}/tokens",
    status_code=201,
    summary="Give an account another API token, shown once; its earlier tokens keep working",
    responses={404: {"model": ErrorBody}},
)
async def post_token(name: AccountName, db: DatabaseDep) -> NewToken:
    token = new_token()
    account = await _named(db, name, lambda conn, named: add_token(conn, named, token_hash(token)))
    return NewToken(name=account.name, token=token, tokens=account.tokens)


async def _named(
    db: Database,
    name: str,
    change: Callable[[AsyncConnection[Any], str], Awaitable[Account]],
) -> Account:
    """``change`` made to the account named ``name``; the API's 404 when there is none."""
    try:
        async with db.connection() as conn:
            return await change(conn, name)
    except UnknownAccount as exc:
        raise ApiError(404, "not_found", str(exc)) from None
