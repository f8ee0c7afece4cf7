"""An account's LinkedIn connection and the forms it reaches: connect, discover, list, switch
Import on, subscribe for push. Each command acts for one account (``--account`` or
LEADSYNC_ACCOUNT)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.context import AccountOption, account_or_exit, settings_or_exit, with_database
from sinks.database import Database

if TYPE_CHECKING:
    from leadsync.settings import Settings

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
    browser: Annotated[
        bool | None,
        typer.Option(
            "--browser/--no-browser",
            help="Wait for the member's browser, or follow the authorization page's redirect"
            " here (the sandbox approves without a person). Default: without a browser against"
            " a loopback OAuth URL or in demo mode.",
        ),
    ] = None,
    account: AccountOption = None,
) -> None:
    """Connect a LinkedIn member to the account (OAuth), store the tokens encrypted, discover
    forms, and make the push subscriptions of the account's forms with Import on again."""
    from pydantic import SecretStr

    from ingest.connect import ConnectFailed, authorize, identify
    from ingest.discovery import discover as run_discovery
    from schemas.tokens import TokenPair
    from sinks.connections import TokenCipher, save_connection

    settings = settings_or_exit()
    # Checked before anyone is sent to LinkedIn.
    holder = account_or_exit(settings, account, refused="not connected: ")
    try:
        if access_token:
            tokens = TokenPair(
                access_token=SecretStr(access_token),
                access_expires_at=time.time() + expires_in,
                refresh_token=SecretStr(refresh_token) if refresh_token else None,
            )
            member = asyncio.run(identify(settings, tokens))
        else:
            without = None if browser is None else not browser
            tokens, member = asyncio.run(authorize(settings, typer.echo, without_browser=without))
    except ConnectFailed as exc:
        typer.echo(f"not connected: {exc}", err=True)
        raise typer.Exit(1) from None

    async def connect(db: Database) -> None:
        async with db.account(holder.id) as conn:
            connection_id = await save_connection(
                conn, TokenCipher(settings), tokens, member.urn, member.name, holder.id
            )
        typer.echo(
            f"connected {member.name or member.urn} ({member.urn}, connection"
            f" {connection_id}, account {holder.name}); tokens stored encrypted"
        )
        if discover:
            found = await run_discovery(settings, db, holder.id, connection_id)
            typer.echo(
                f"{len(found.ad_accounts)} ad accounts, {len(found.organizations)} organizations,"
                f" {found.forms} forms ({len(found.new_forms)} new, Import off until switched on)"
            )
            _say_refused(found.refused)
        await _resubscribe(settings, db, holder.id)

    with_database(settings, connect)


async def _resubscribe(settings: Settings, db: Database, account_id: int) -> None:
    """After connecting: the account's push subscriptions, made again at once. A failure is
    said, and leaves the connection made (the scheduler retries every hour)."""
    from ingest.subscriptions import resubscribe_account
    from leadsync.errors import LeadsyncError

    try:
        result = await resubscribe_account(settings, db, account_id)
    except LeadsyncError as exc:
        typer.echo(f"push subscriptions not made now: {exc} (the scheduler retries)", err=True)
        return
    for label in result.created:
        typer.echo(f"subscribed {label} -> {settings.ingress_public_url}")
    for label in result.existing:
        typer.echo(f"already subscribed {label}")
    for label in result.failed:
        typer.echo(f"FAILED to subscribe {label} (the scheduler retries)", err=True)


@forms_app.command("discover")
def forms_discover(account: AccountOption = None) -> None:
    """List the forms of the account's connected ad accounts and organizations and record
    them."""
    from ingest.discovery import discover as run_discovery
    from sinks.connections import connections

    settings = settings_or_exit()
    holder = account_or_exit(settings, account)

    async def discover_all(db: Database) -> None:
        async with db.account(holder.id) as conn:
            active = [c for c in await connections(conn) if c.status == "active"]
        if not active:
            typer.echo(
                f"account {holder.name} has no active LinkedIn connection:"
                " run `leadsync linkedin connect`",
                err=True,
            )
            raise typer.Exit(1)
        for connection in active:
            found = await run_discovery(settings, db, holder.id, connection.id)
            typer.echo(
                f"connection {connection.id}: {found.forms} forms"
                f" ({len(found.new_forms)} new: {found.new_forms})"
            )
            _say_refused(found.refused)

    with_database(settings, discover_all)


@forms_app.command("list")
def forms_list(account: AccountOption = None) -> None:
    """The account's forms with their Import switch and counters."""
    from sinks.form_settings import list_form_rows

    settings = settings_or_exit()
    holder = account_or_exit(settings, account)

    async def read(db: Database) -> list[dict[str, Any]]:
        async with db.account(holder.id) as conn:
            return await list_form_rows(conn)

    rows = with_database(settings, read)
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
    account: AccountOption = None,
) -> None:
    """Switch the account's form's Import on or off (new forms start with it off)."""
    from sinks.forms import set_import

    if state not in ("on", "off"):
        raise typer.BadParameter("expected on or off", param_hint="STATE")
    settings = settings_or_exit()
    holder = account_or_exit(settings, account)

    async def switch(db: Database) -> dict[str, Any]:
        async with db.account(holder.id) as conn:
            return await set_import(conn, form_id, state == "on")

    form = with_database(settings, switch)
    typer.echo(f"form {form['id']}: import {state}")


def subscribe(account: AccountOption = None) -> None:
    """Make sure LinkedIn pushes the leads of the account's forms with Import on to this
    receiver."""
    from ingest.subscriptions import ensure_subscriptions

    settings = settings_or_exit()
    holder = account_or_exit(settings, account)
    result = with_database(
        settings, lambda db: ensure_subscriptions(settings, db, account_id=holder.id)
    )
    for label in result.created:
        typer.echo(f"subscribed {label} -> {settings.ingress_public_url}")
    for label in result.existing:
        typer.echo(f"already subscribed {label}")
    for label in result.failed:
        typer.echo(f"FAILED {label}", err=True)
    if result.failed:
        raise typer.Exit(1)


def _say_refused(owners: list[str]) -> None:
    if owners:
        typer.echo(f"not readable by this member (no role on them): {', '.join(owners)}")
