"""Schema migrations: versioned SQL files applied in order, recorded in ``schema_migrations``.

Files are ``migrations/NNNN_name.sql``; each runs in its own transaction together with its
bookkeeping row, so a failed migration leaves nothing half-applied. A transaction-level
advisory lock serialises concurrent upgrades (every process migrates on start). An applied
file whose content changed afterwards is refused: edit the schema with a new file instead.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import AsyncConnection

from leadsync.errors import PermanentError
from leadsync.retry import RetryPolicy

log = logging.getLogger(__name__)

# An arbitrary constant shared by every leadsync process: "lead" in ASCII.
_LOCK_ID = 0x6C656164
_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(PermanentError):
    """The schema cannot be brought up to date; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    found = []
    for entry in resources.files("sinks.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


async def upgrade(conninfo: str) -> list[Migration]:
    """Apply every pending migration; returns those applied by this call."""
    applied_now: list[Migration] = []
    async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available():
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                cur = await conn.execute(
                    "SELECT checksum FROM schema_migrations WHERE version = %s",
                    (migration.version,),
                )
                row = await cur.fetchone()
                if row is not None:
                    if row[0] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                await conn.execute(migration.sql.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
                applied_now.append(migration)
    return applied_now


async def current_version(conninfo: str) -> int:
    async with await AsyncConnection.connect(conninfo) as conn:
        cur = await conn.execute("SELECT to_regclass('schema_migrations')")
        exists = await cur.fetchone()
        if not exists or exists[0] is None:
            return 0
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def upgrade_when_reachable(conninfo: str, timeout_s: float = 300.0) -> list[Migration]:
    """:func:`upgrade`, waiting for PostgreSQL first, so that a process (re)started during a
    database outage waits instead of exiting (and crash-looping under a supervisor)."""
    policy = RetryPolicy(
        max_attempts=None, base_delay_s=1.0, max_delay_s=10.0, max_elapsed_s=timeout_s
    )
    return await policy.call(
        lambda: upgrade(conninfo),
        what="PostgreSQL unreachable; migrating later",
        logger=log,
        retry_if=lambda exc: isinstance(exc, psycopg.OperationalError),
    )
