"""The admin API in-process, as an authenticated HTTP client sees it, and accounts with
their API tokens to call it with."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from psycopg import AsyncConnection

from admin.app import create_app
from leadsync.api_tokens import new_token, token_hash
from leadsync.settings import Settings
from sinks.accounts import create_account
from sinks.database import Database


@dataclass(frozen=True)
class AccountWithToken:
    id: int
    name: str
    token: str


async def new_account(
    settings: Settings, prefix: str = "acme", token: str | None = None
) -> AccountWithToken:
    """A new active account (as ``leadsync accounts create`` makes it) and its token (a new
    one unless given)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    token = token or new_token()
    async with Database.from_settings(settings, max_size=1) as db, db.connection() as conn:
        account = await create_account(conn, name, token_hash(token))
    return AccountWithToken(account.id, account.name, token)


async def hold_for_session(conn: AsyncConnection[Any], account_id: int) -> None:
    """Put the account in hand on a test's connection for its whole session (it is in
    autocommit: a transaction's setting would end with each statement), so the rows it
    inserts without an account take that one."""
    await conn.execute("SELECT set_config('leadsync.accounts', %s, false)", (str(account_id),))


@asynccontextmanager
async def admin_client(
    settings: Settings, token: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending ``token`` (an account's API token; by default the operator token);
    the app's Kafka producer and database pools are closed afterwards (the ASGI transport
    runs no lifespan)."""
    app = create_app(settings)
    token = token if token is not None else settings.admin_token.get_secret_value()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://admin.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client
    finally:
        app.state.request_publisher.close()
        await app.state.database.close()
