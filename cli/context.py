"""What every command needs: the settings (or a clear exit), a process's start-up, and the
database driven from synchronous command code."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from leadsync.settings import ConfigurationError, Settings, load_settings
from sinks.database import Database

T = TypeVar("T")


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def process_settings(*, database: bool, kafka: bool) -> Settings:
    """The settings of a long-running process, with its logging set up, once its services
    are ready: the schema migrated (``database``), the topics created (``kafka``)."""
    settings = settings_or_exit()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if database:
        from sinks.migrate import upgrade_when_reachable

        asyncio.run(upgrade_when_reachable(settings.database_conninfo()))
    if kafka:
        from leadsync.kafka.topics import ensure_topics, wait_for_kafka

        wait_for_kafka(settings)
        ensure_topics(settings)
    return settings


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on the command's one pool, closed when it is done."""

    async def run() -> T:
        async with Database.from_settings(settings, max_size=2) as db:
            return await work(db)

    return asyncio.run(run())
