"""``leadsync accounts``: the platform operator makes, lists, disables and enables accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.context import settings_or_exit, with_database
from sinks.database import Database

if TYPE_CHECKING:
    from psycopg import AsyncConnection

    from sinks.accounts import Account

accounts_app = typer.Typer(no_args_is_help=True, help="Accounts of the platform (operator).")


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Argument(help="Lower-case letters, digits and hyphens.")],
    demo_token: Annotated[
        bool,
        typer.Option(help="Demo mode only: give it the public demo token; again, says it exists."),
    ] = False,
) -> None:
    """Make an account and print its first API token (shown this once; only its hash is
    kept)."""
    from leadsync.api_tokens import new_token, token_hash
    from leadsync.settings import DEMO_ACCOUNT_TOKEN
    from sinks.accounts import AccountRefused, account_for_token, create_account

    settings = settings_or_exit()
    if demo_token and not settings.demo:
        typer.echo("--demo-token is for demo mode only (LEADSYNC_DEMO=true)", err=True)
        raise typer.Exit(2)
    token = DEMO_ACCOUNT_TOKEN if demo_token else new_token()

    async def create(db: Database) -> tuple[Account, bool]:
        async with db.connection() as conn:
            existing = await account_for_token(conn, token_hash(token)) if demo_token else None
            if existing is not None and existing.name == name:
                return existing, False  # `make run` again: the demo account stands
            return await create_account(conn, name, token_hash(token)), True

    try:
        account, created = with_database(settings, create)
    except AccountRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"account {account.name} {'created' if created else 'exists'} (id {account.id})")
    if created and not demo_token:
        typer.echo(f"API token (shown once, keep it now): {token}")
    else:
        typer.echo(f"API token (the public demo one): {token}")


@accounts_app.command("list")
def accounts_list() -> None:
    """Every account with its state and its working tokens."""
    from sinks.accounts import list_accounts

    async def read(db: Database) -> list[Account]:
        async with db.connection() as conn:
            return await list_accounts(conn)

    accounts = with_database(settings_or_exit(), read)
    typer.echo(f"{'id':>6}  {'account':24}  {'state':8}  {'tokens':>6}  created")
    for a in accounts:
        typer.echo(
            f"{a.id:>6}  {a.name:24}  {a.status:8}  {a.tokens:>6}  {a.created_at:%Y-%m-%d %H:%M}"
        )
    if not accounts:
        typer.echo("no accounts yet: `leadsync accounts create NAME`")


@accounts_app.command("disable")
def accounts_disable(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Disable an account: its tokens stop working at once; its data stays."""
    from sinks.accounts import disable_account

    account = _change_named(name, disable_account)
    typer.echo(f"account {account.name} disabled")


@accounts_app.command("enable")
def accounts_enable(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Enable a disabled account again: its tokens and users work again."""
    from sinks.accounts import enable_account

    account = _change_named(name, enable_account)
    typer.echo(f"account {account.name} enabled")


def _change_named(
    name: str, change: Callable[[AsyncConnection[Any], str], Awaitable[Account]]
) -> Account:
    """``change`` made to the account named ``name``; a refusal is said and exits 1."""
    from sinks.accounts import AccountRefused

    async def changed(db: Database) -> Account:
        async with db.connection() as conn:
            return await change(conn, name)

    try:
        return with_database(settings_or_exit(), changed)
    except AccountRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@accounts_app.command("token")
def accounts_token(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Give an account another API token and print it (shown this once; its earlier tokens
    keep working)."""
    from leadsync.api_tokens import new_token, token_hash
    from sinks.accounts import AccountRefused, add_token

    token = new_token()

    async def add(db: Database) -> Account:
        async with db.connection() as conn:
            return await add_token(conn, name, token_hash(token))

    try:
        account = with_database(settings_or_exit(), add)
    except AccountRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"account {account.name}: a new API token ({account.tokens} working in all)")
    typer.echo(f"API token (shown once, keep it now): {token}")
