"""The admin API's PostgreSQL connections: one async pool, one sync pool.

The API's own queries are async. The stores it shares with the command line and the puller
(``sinks.forms.set_import``, ``sinks.sync_runs``) are synchronous, so they run in a worker
thread on a connection of the sync pool. Both pools open on first use, so an app built for
a test client (which runs no lifespan) works the same as one served by uvicorn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from psycopg import AsyncConnection, Connection
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from leadsync.settings import Settings

T = TypeVar("T")

# An admin console has a handful of users; a small pool keeps PostgreSQL's slots for the
# workers.
_POOL_MAX = 4
_POOL_TIMEOUT_S = 10.0


class Database:
    def __init__(self, settings: Settings) -> None:
        conninfo = settings.database_conninfo()
        self._async_pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo, min_size=1, max_size=_POOL_MAX, open=False, timeout=_POOL_TIMEOUT_S
        )
        self._sync_pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            conninfo, min_size=1, max_size=_POOL_MAX, open=False, timeout=_POOL_TIMEOUT_S
        )
        self._async_opened = False
        self._sync_opened = False
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """An async connection; a transaction that commits when the block ends without error."""
        if not self._async_opened:
            async with self._lock:
                if not self._async_opened:
                    await self._async_pool.open(wait=False)
                    self._async_opened = True
        async with self._async_pool.connection() as conn:
            yield conn

    async def run_sync(self, operation: Callable[[Connection[Any]], T]) -> T:
        """Run ``operation`` in a worker thread on a sync connection (committed if it returns)."""
        if not self._sync_opened:
            async with self._lock:
                if not self._sync_opened:
                    await asyncio.to_thread(self._sync_pool.open, False)
                    self._sync_opened = True
        return await asyncio.to_thread(self._with_sync_connection, operation)

    def _with_sync_connection(self, operation: Callable[[Connection[Any]], T]) -> T:
        with self._sync_pool.connection() as conn:
            return operation(conn)

    async def close(self) -> None:
        if self._async_opened:
            await self._async_pool.close()
            self._async_opened = False
        if self._sync_opened:
            await asyncio.to_thread(self._sync_pool.close)
            self._sync_opened = False
