"""What an operator does, for tests and benchmarks: migrate the database, switch a form's
Import on, start a manual import, read a run's figures, through the product's own functions
(as ``leadsync db upgrade``, ``forms import`` and ``sync`` do)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from uuid import UUID

from cli.context import with_database
from ingest.sync_requests import request_manual_import_once
from leadsync.settings import Settings
from schemas.envelopes import SyncOptions
from sinks.database import Database
from sinks.forms import set_import
from sinks.migrate import upgrade
from sinks.sync_runs import RunStats, run_stats


def migrate(settings: Settings) -> None:
    asyncio.run(upgrade(settings.database_conninfo()))


def switch_import(settings: Settings, form_ids: Iterable[int], enabled: bool = True) -> None:
    """``leadsync forms import FORM on`` for each form."""

    async def switch(db: Database) -> None:
        async with db.connection() as conn:
            for form_id in form_ids:
                await set_import(conn, form_id, enabled)

    with_database(settings, switch)


def stats_of_run(settings: Settings, run_id: UUID) -> RunStats:
    async def read(db: Database) -> RunStats:
        async with db.connection() as conn:
            return await run_stats(conn, run_id)

    return with_database(settings, read)


def start_manual_import(
    settings: Settings, form_id: int, options: SyncOptions, requested_by: str
) -> UUID:
    """What ``leadsync sync FORM`` does before it follows the run; the run's id."""

    return with_database(
        settings,
        lambda db: request_manual_import_once(settings, db, form_id, options, requested_by),
    )
