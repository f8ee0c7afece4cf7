"""A process's PostgreSQL: one async connection pool (psycopg 3), opened on first use.

Every process makes one :class:`Database` and hands it to what needs the database; every
sinks function takes the ``AsyncConnection`` it works on, so the caller decides what is one
transaction. ``connection()`` lends a pooled connection whose work commits when the block
ends without error (and rolls back when it raises). The command line drives the same
functions with ``asyncio.run``.

Account data (contacts, forms, runs, ...) is reached through ``account(id)``: a pooled
connection whose transaction has that account "in hand" (``SET LOCAL leadsync.accounts``).
PostgreSQL's row-level security then shows and accepts that account's rows only, whatever
the SQL says (migration 0008); a connection without an account in hand sees no account's
rows. Every connection works as the role ``leadsync_app``, which cannot bypass the
policies: logged in as it (``LEADSYNC_DATABASE_APP_PASSWORD``, checked on connecting), or
switched to with ``SET ROLE`` from the owner's connection when no app password is set.
``accounts(ids)`` holds several (a batch of leads of many accounts); ``every_account()`` is
for the few jobs that serve all of them (the outbox relay, the scheduler's scan, routing a
notification to the accounts that connected its owner).

A session-level advisory lock (the outbox relay's, the scheduler's leadership) lives as long
as the session that took it, so it is taken on a ``dedicated()`` connection, closed with its
holder, never on a pooled one that would carry the lock to its next borrower.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from leadsync.errors import PermanentError
from leadsync.settings import DATABASE_APP_ROLE, Settings

# A process needs few connections at once: the worker's agents run one batch each, the admin
# console has a handful of users. A small pool keeps PostgreSQL's slots for the others.
DEFAULT_POOL_SIZE = 4
POOL_TIMEOUT_S = 10.0
# The role the processes work as (made by migration 0008): no owner, no superuser, no
# BYPASSRLS. Migrations run as the role of LEADSYNC_DATABASE_URL, which owns the schema.
APP_ROLE = DATABASE_APP_ROLE

_IN_HAND = "SELECT set_config('leadsync.accounts', %s, true)"
_EVERY_ACCOUNT = (
    "SELECT set_config('leadsync.accounts', coalesce(string_agg(id::text, ','), ''), true)"
    " FROM accounts"
)


class RoleCanBypass(PermanentError):
    """The processes' role could step around row-level security: refused."""


async def _as_app_role(conn: AsyncConnection[Any]) -> None:
    """Owner's credentials: switch to the app role (a statement could switch back)."""
    autocommit = conn.autocommit
    await conn.set_autocommit(True)
    await conn.execute(f"SET ROLE {APP_ROLE}")
    await conn.set_autocommit(autocommit)


async def _check_app_role(conn: AsyncConnection[Any]) -> None:
    """Logged in as the app role itself: make sure nothing lets it bypass the policies."""
    autocommit = conn.autocommit
    await conn.set_autocommit(True)
    cur = await conn.execute(
        "SELECT r.rolsuper OR r.rolbypassrls, session_user"
        " FROM pg_roles r WHERE r.rolname = session_user"
    )
    row = await cur.fetchone()
    await conn.set_autocommit(autocommit)
    if row is None or row[0]:
        raise RoleCanBypass(
            f"the database role {row[1] if row else '?'!r} is a superuser or has BYPASSRLS:"
            " the processes must not be able to bypass row-level security"
        )


async def hold_accounts(conn: AsyncConnection[Any], account_ids: Iterable[int]) -> None:
    """Put these accounts in hand for the rest of the connection's transaction."""
    await conn.execute(_IN_HAND, (",".join(str(int(a)) for a in account_ids),))


async def hold_every_account(conn: AsyncConnection[Any]) -> None:
    """Put every account in hand for the rest of the transaction (jobs serving them all)."""
    await conn.execute(_EVERY_ACCOUNT)


class Database:
    def __init__(
        self, conninfo: str, *, max_size: int = DEFAULT_POOL_SIZE, set_role: bool = True
    ) -> None:
        """``set_role``: ``conninfo`` is the owner's, switch to the app role on each
        connection; else it logs in as the app role, which is checked."""
        self._conninfo = conninfo
        self._set_role = set_role
        # Checked once, on the first connection lent: an error raised while the pool
        # configures a connection would only show as a pool timeout.
        self._role_checked = set_role
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=POOL_TIMEOUT_S,
            configure=_as_app_role if set_role else None,
        )
        self._opened = False
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, max_size: int = DEFAULT_POOL_SIZE) -> Self:
        app = settings.database_app_conninfo()
        if app is not None:
            return cls(app, max_size=max_size, set_role=False)
        return cls(settings.database_conninfo(), max_size=max_size)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection; its work commits when the block ends without error."""
        if not self._opened:
            async with self._lock:
                if not self._opened:
                    # wait=False: a process starts while PostgreSQL is still away; the first
                    # connection() then waits (up to POOL_TIMEOUT_S) or raises PoolTimeout.
                    await self._pool.open(wait=False)
                    self._opened = True
        async with self._pool.connection() as conn:
            if not self._role_checked:
                await _check_app_role(conn)
                self._role_checked = True
            yield conn

    @asynccontextmanager
    async def account(self, account_id: int) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection with this account in hand; commits at the end of the block."""
        async with self.accounts([account_id]) as conn:
            yield conn

    @asynccontextmanager
    async def accounts(self, account_ids: Iterable[int]) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection with these accounts in hand (rows name their account)."""
        async with self.connection() as conn:
            await hold_accounts(conn, account_ids)
            yield conn

    @asynccontextmanager
    async def every_account(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection with every account in hand, for the jobs that serve all."""
        async with self.connection() as conn:
            await hold_every_account(conn)
            yield conn

    @asynccontextmanager
    async def dedicated(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A connection of its own, in autocommit, closed at the end of the block: for a
        session-level lock held as long as its holder runs."""
        # Keepalives: a peer gone without a word (a host lost, a partition) ends the session
        # within about 20 s, instead of the kernel's two hours, so that a lock held on it
        # (the scheduler's leadership) is noticed as lost on both sides.
        conn = await AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=2,
        )
        async with conn:
            await (_as_app_role if self._set_role else _check_app_role)(conn)
            yield conn

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
            self._opened = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
