"""Whether PostgreSQL answers, for a process's ``/readyz`` (:mod:`leadsync.ops_server`).

A connection of its own, not one of the pool: a pool busy with the agents' batches, or
waiting out an outage with its connections broken, must not make the answer slow or stale.
"""

from __future__ import annotations

import psycopg

from leadsync.settings import Settings


async def database_answers(settings: Settings) -> str | None:
    """None when PostgreSQL answers ``SELECT 1`` as the processes log in; else why not (the
    kind of failure and libpq's first line: a host and port, never a password). The caller
    bounds the wait."""
    conninfo = settings.database_app_conninfo() or settings.database_conninfo()
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=2)
        async with conn:
            await conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        return f"PostgreSQL does not answer: {type(exc).__name__}: {first_line}"
    return None
