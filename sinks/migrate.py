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
import time
from dataclasses import dataclass
from importlib import resources

import psycopg

# An arbitrary constant shared by every leadsync process: "lead" in ASCII.
log = logging.getLogger(__name__)

_LOCK_ID = 0x6C656164
_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(Exception):
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


def upgrade(conninfo: str) -> list[Migration]:
    """Apply every pending migration; returns those applied by this call."""
    applied_now: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available():
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                row = conn.execute(
                    "SELECT checksum FROM schema_migrations WHERE version = %s",
                    (migration.version,),
                ).fetchone()
                if row is not None:
                    if row[0] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
                applied_now.append(migration)
    return applied_now


def current_version(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        if not exists or exists[0] is None:
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        return int(row[0]) if row else 0


def upgrade_when_reachable(conninfo: str, timeout_s: float = 300.0) -> list[Migration]:
    """:func:`upgrade`, waiting for PostgreSQL first, so that a process (re)started during a
    database outage waits instead of exiting (and crash-looping under a supervisor)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            return upgrade(conninfo)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            log.warning("PostgreSQL unreachable; waiting %.1f s before migrating", delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
