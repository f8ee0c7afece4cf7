"""What an operator does, for tests and benchmarks: migrate the database, switch a form's
Import on, start a manual import, read a run's figures, through the product's own functions
(as ``leadsync db upgrade``, ``forms import`` and ``sync`` do). Like those commands, each
acts for the settings' account (LEADSYNC_ACCOUNT)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from uuid import UUID

import psycopg
from psycopg import sql
from pydantic import SecretStr

from cli.context import with_database
from ingest.sync_requests import request_manual_import_once
from leadsync.api_tokens import new_token, token_hash
from leadsync.settings import DATABASE_APP_ROLE, Settings
from schemas.envelopes import SyncOptions
from sinks.accounts import UnknownAccount, account_by_name, create_account
from sinks.database import Database
from sinks.forms import set_import
from sinks.migrate import upgrade
from sinks.sync_runs import RunStats, run_stats


def migrate(settings: Settings) -> None:
    """``leadsync db upgrade``, then the settings' account made when it is missing (as
    ``leadsync accounts create`` would; the tests act for it through LEADSYNC_ACCOUNT)."""
    asyncio.run(upgrade(settings.database_conninfo()))
    if settings.account:
        ensure_account(settings, settings.account)


# The local stack's password of the processes' role (stack/postgres.sh sets the same).
LOCAL_APP_PASSWORD = "leadsync_app"  # noqa: S105 - local stack and tests only


def with_app_login(settings: Settings, password: str = LOCAL_APP_PASSWORD) -> Settings:
    """Let the processes' role log in (as stack/postgres.sh does for the local stack) and
    return the settings that make the processes connect as it: the way production runs,
    where the role cannot step back to the owner's. The role is the server's, shared by
    every database of it; the migrations made it."""
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(DATABASE_APP_ROLE), sql.Literal(password)
            )
        )
    return settings.model_copy(update={"database_app_password": SecretStr(password)})


def ensure_account(settings: Settings, name: str) -> int:
    """The id of the account named so, made (with an unused token) when missing."""

    async def ensure(db: Database) -> int:
        async with db.connection() as conn:
            try:
                return (await account_by_name(conn, name)).id
            except UnknownAccount:
                return (await create_account(conn, name, token_hash(new_token()))).id

    return with_database(settings, ensure)


def account_id_of(settings: Settings) -> int:
    """The id of the settings' account."""
    assert settings.account, "these settings name no account"
    return ensure_account(settings, settings.account)


def switch_import(settings: Settings, form_ids: Iterable[int], enabled: bool = True) -> None:
    """``leadsync forms import FORM on`` for each form of the settings' account."""
    account_id = account_id_of(settings)

    async def switch(db: Database) -> None:
        async with db.account(account_id) as conn:
            for form_id in form_ids:
                await set_import(conn, form_id, enabled)

    with_database(settings, switch)


def stats_of_run(settings: Settings, run_id: UUID) -> RunStats:
    """What a run of the settings' account imported."""
    account_id = account_id_of(settings)

    async def read(db: Database) -> RunStats:
        async with db.account(account_id) as conn:
            return await run_stats(conn, run_id)

    return with_database(settings, read)


def start_manual_import(
    settings: Settings, form_id: int, options: SyncOptions, requested_by: str
) -> UUID:
    """What ``leadsync sync FORM`` does before it follows the run (for the settings'
    account); the run's id."""
    account_id = account_id_of(settings)
    return with_database(
        settings,
        lambda db: request_manual_import_once(
            settings, db, form_id, options, requested_by, account_id=account_id
        ),
    )
