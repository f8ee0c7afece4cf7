"""What every command needs: the settings (or a clear exit), the account a command acts for,
a process's start-up, and the database driven from synchronous command code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import typer

from leadsync.logs import configure_logging
from leadsync.settings import ConfigurationError, Settings, load_settings
from sinks.accounts import Account, UnknownAccount, account_by_name
from sinks.database import Database

T = TypeVar("T")

# A command acting on an account's data takes the account: its own ``--account``, else the
# one given before the command (``leadsync --account NAME ...``), else LEADSYNC_ACCOUNT.
AccountOption = Annotated[
    str | None,
    typer.Option(
        "--account",
        help="The account whose data this is (default: LEADSYNC_ACCOUNT).",
        show_default=False,
    ),
]
NO_ACCOUNT = (
    "this command acts on an account's data: name the account with --account NAME"
    " (or LEADSYNC_ACCOUNT)"
)


@dataclass
class Invocation:
    """What the options given before the command say (``leadsync --account NAME ...``)."""

    account: str | None = None


# Set by the command line's callback before each command runs (one per process; an
# in-process runner sets it again for every invocation).
_invocation = Invocation()


def remember_invocation(invocation: Invocation) -> None:
    _invocation.account = invocation.account


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def account_or_exit(settings: Settings, name: str | None = None, *, refused: str = "") -> Account:
    """The account the command acts for, by name (``name``, else the ``--account`` given
    before the command, else LEADSYNC_ACCOUNT), looked up before anything is done; exit 2
    with a clear message when none is named or there is no such account. ``refused``
    prefixes the message (what did not happen)."""
    name = name or _invocation.account or settings.account
    if not name:
        typer.echo(f"{refused}{NO_ACCOUNT}", err=True)
        raise typer.Exit(2)

    async def lookup(db: Database) -> Account:
        async with db.connection() as conn:
            return await account_by_name(conn, name)

    try:
        return with_database(settings, lookup)
    except UnknownAccount as exc:
        typer.echo(f"{refused}{exc}", err=True)
        raise typer.Exit(2) from None


def process_settings(process: str, *, database: bool, kafka: bool) -> Settings:
    """The settings of a long-running process (``leadsync <process>``), with its logging set
    up (:mod:`leadsync.logs`), once its services are ready: the schema migrated
    (``database``), the topics created (``kafka``)."""
    settings = settings_or_exit()
    configure_logging(settings, process)
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
