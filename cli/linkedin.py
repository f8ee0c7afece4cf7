"""The LinkedIn connection and the forms it reaches: connect, discover, list, switch Import
on, subscribe for push."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer

from cli.context import settings_or_exit, with_database
from leadsync.settings import Settings
from sinks.database import Database

linkedin_app = typer.Typer(no_args_is_help=True, help="The LinkedIn connection.")
forms_app = typer.Typer(no_args_is_help=True, help="LinkedIn forms and their sync settings.")


@linkedin_app.command("connect")
def linkedin_connect(
    access_token: Annotated[
        str | None, typer.Option(help="Store this access token instead of the OAuth flow.")
    ] = None,
    refresh_token: Annotated[str | None, typer.Option(help="Its refresh token.")] = None,
    expires_in: Annotated[int, typer.Option(help="Access token lifetime, seconds.")] = 5_184_000,
    discover: Annotated[bool, typer.Option(help="Discover ad accounts and forms.")] = True,
    account: Annotated[
        str | None,
        typer.Option(help="The account the member connects (default: LEADSYNC_ACCOUNT)."),
    ] = None,
) -> None:
    """Connect a LinkedIn member (OAuth), store the tokens encrypted, discover forms."""
    from pydantic import SecretStr

    from ingest.connect import ConnectFailed, authorize, identify
    from ingest.discovery import discover as run_discovery
    from schemas.tokens import TokenPair
    from sinks.connections import TokenCipher, save_connection

    settings = settings_or_exit()
    account = account or settings.account
    account_id = _account_id(settings, account) if account else None
    try:
        if access_token:
            tokens = TokenPair(
                access_token=SecretStr(access_token),
                access_expires_at=time.time() + expires_in,
                refresh_token=SecretStr(refresh_token) if refresh_token else None,
            )
            member = asyncio.run(identify(settings, tokens))
        else:
            tokens, member = asyncio.run(authorize(settings, typer.echo))
    except ConnectFailed as exc:
        typer.echo(f"not connected: {exc}", err=True)
        raise typer.Exit(1) from None

    async def connect(db: Database) -> None:
        async with db.connection() as conn:
            connection_id = await save_connection(
                conn, TokenCipher(settings), tokens, member.urn, member.name, account_id
            )
        typer.echo(
            f"connected {member.name or member.urn} ({member.urn}, connection"
            f" {connection_id}{f', account {account}' if account else ''});"
            " tokens stored encrypted"
        )
        if discover:
            found = await run_discovery(settings, db, connection_id)
            typer.echo(
                f"{len(found.ad_accounts)} ad accounts, {len(found.organizations)} organizations,"
                f" {found.forms} forms ({len(found.new_forms)} new, Import off until switched on)"
            )

    with_database(settings, connect)


@forms_app.command("discover")
def forms_discover() -> None:
    """List the forms of the connected ad accounts and organizations and record them."""
    from ingest.discovery import discover as run_discovery
    from sinks.connections import connections

    settings = settings_or_exit()

    async def discover_all(db: Database) -> None:
        async with db.connection() as conn:
            active = [c for c in await connections(conn) if c.status == "active"]
        if not active:
            typer.echo("no active LinkedIn connection: run `leadsync linkedin connect`", err=True)
            raise typer.Exit(1)
        for connection in active:
            found = await run_discovery(settings, db, connection.id)
            typer.echo(
                f"connection {connection.id}: {found.forms} forms"
                f" ({len(found.new_forms)} new: {found.new_forms})"
            )

    with_database(settings, discover_all)


@forms_app.command("list")
def forms_list() -> None:
    """The known forms with their Import switch and counters."""
    from sinks.form_settings import list_form_rows

    async def read(db: Database) -> list[dict[str, Any]]:
        async with db.connection() as conn:
            return await list_form_rows(conn)

    rows = with_database(settings_or_exit(), read)
    typer.echo(f"{'form':>12}  {'import':6}  {'created':>8} {'updated':>8} {'errors':>7}  name")
    for r in rows:
        typer.echo(
            f"{r['id']:>12}  {'on' if r['import_enabled'] else 'off':6}  {r['imported'] or 0:>8}"
            f" {r['updated'] or 0:>8} {r['errors'] or 0:>7}  {r['name']}"
        )


@forms_app.command("import")
def forms_import(
    form_id: Annotated[int, typer.Argument(help="LinkedIn form id.")],
    state: Annotated[str, typer.Argument(help="on or off")],
) -> None:
    """Switch a form's Import on or off (new forms start with it off)."""
    from sinks.forms import set_import

    if state not in ("on", "off"):
        raise typer.BadParameter("expected on or off", param_hint="STATE")

    async def switch(db: Database) -> dict[str, Any]:
        async with db.connection() as conn:
            return await set_import(conn, form_id, state == "on")

    form = with_database(settings_or_exit(), switch)
    typer.echo(f"form {form['id']}: import {state}")


def subscribe() -> None:
    """Make sure LinkedIn pushes the leads of every form with Import on to this receiver."""
    from ingest.subscriptions import ensure_subscriptions

    settings = settings_or_exit()
    result = with_database(settings, lambda db: ensure_subscriptions(settings, db))
    for label in result.created:
        typer.echo(f"subscribed {label} -> {settings.ingress_public_url}")
    for label in result.existing:
        typer.echo(f"already subscribed {label}")
    for label in result.failed:
        typer.echo(f"FAILED {label}", err=True)
    if result.failed:
        raise typer.Exit(1)


def _account_id(settings: Settings, name: str) -> int:
    """The account's id, checked before the member is sent to LinkedIn; exit 1 if unknown."""
    from sinks.accounts import UnknownAccount, account_by_name

    async def lookup(db: Database) -> int:
        async with db.connection() as conn:
            return (await account_by_name(conn, name)).id

    try:
        return with_database(settings, lookup)
    except UnknownAccount as exc:
        typer.echo(f"not connected: {exc}", err=True)
        raise typer.Exit(1) from None
