"""What routes receive from the app: its settings, its Kafka producer, and the account the
request acts for with the one way to its data.

Account routes reach PostgreSQL only through :class:`AccountScope`: every connection it
lends has the request's account in hand (``Database.account``), so row-level security shows
that account's rows and no other's. Another account's form, run or contact is then simply
not there, and the route answers 404 as for an id that never existed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from psycopg import AsyncConnection

from admin.auth import AccountDep
from admin.request_publisher import RequestPublisher
from leadsync.settings import Settings
from sinks.accounts import Account
from sinks.database import Database


@dataclass(frozen=True)
class AccountScope:
    """The account a request acts for (its token's), and its data."""

    account: Account
    db: Database

    @property
    def id(self) -> int:
        return self.account.id

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection with this account (only) in hand; commits at block end."""
        async with self.db.account(self.account.id) as conn:
            yield conn


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _request_publisher(request: Request) -> RequestPublisher:
    request_publisher: RequestPublisher = request.app.state.request_publisher
    return request_publisher


def _account_scope(request: Request, account: AccountDep) -> AccountScope:
    return AccountScope(account, _database(request))


SettingsDep = Annotated[Settings, Depends(_settings)]
# The whole database: for the operator's routes and the global tables only.
DatabaseDep = Annotated[Database, Depends(_database)]
RequestPublisherDep = Annotated[RequestPublisher, Depends(_request_publisher)]
AccountScopeDep = Annotated[AccountScope, Depends(_account_scope)]
