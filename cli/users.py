"""``leadsync users``: the console's users, made and disabled by the platform operator.

``users add --account A EMAIL [--role admin|member]`` gives an account a user (usually its
first admin, who adds the others in the console); ``users add --operator EMAIL`` makes the
platform operator's own sign-in. The password is asked twice without echo, or read from the
first line of standard input with ``--password-stdin`` (scripts, tests); it never goes on
the command line, where other users of the machine could read it. ``--demo-password``
(demo mode only) gives the public demo password and may be run again (``make run``).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from cli.context import AccountOption, account_or_exit, settings_or_exit, with_database
from sinks.console_users import Role
from sinks.database import Database

users_app = typer.Typer(no_args_is_help=True, help="Users of the console (operator).")


class AccountRole(StrEnum):
    admin = "admin"
    member = "member"

    @property
    def role(self) -> Role:
        return "admin" if self is AccountRole.admin else "member"


def _password(password_stdin: bool) -> str:
    from admin.console.passwords import MAX_LENGTH, MIN_LENGTH, refusal

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if problem := refusal(password):
        typer.echo(problem.format(min=MIN_LENGTH, max=MAX_LENGTH), err=True)
        raise typer.Exit(2)
    return password


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The user's email: what they sign in with.")],
    account: AccountOption = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="The platform operator (no account).")
    ] = False,
    role: Annotated[
        AccountRole, typer.Option(help="An account's admin also manages its users.")
    ] = AccountRole.admin,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    demo_password: Annotated[
        bool,
        typer.Option(help="Demo mode only: the public demo password; again, says it exists."),
    ] = False,
) -> None:
    """Give an account a console user, or make the platform operator's (--operator)."""
    from admin.console.passwords import DEMO_PASSWORD, hash_password_now, verify_now
    from sinks.console_users import (
        ConsoleUserRow,
        UnknownUser,
        UserRefused,
        add_user,
        credentials,
        set_password_hash,
        user_by_email,
    )

    settings = settings_or_exit()
    if demo_password and not settings.demo:
        typer.echo("--demo-password is for demo mode only (LEADSYNC_DEMO=true)", err=True)
        raise typer.Exit(2)
    if operator and account:
        typer.echo("--operator and --account exclude each other: the operator has none", err=True)
        raise typer.Exit(2)
    account_id: int | None = None
    account_name = "the platform (operator)"
    if not operator:
        found = account_or_exit(settings, account, refused="no user added: ")
        account_id, account_name = found.id, found.name
    password = DEMO_PASSWORD if demo_password else _password(password_stdin)
    user_role: Role = "operator" if operator else role.role

    async def add(db: Database) -> tuple[ConsoleUserRow, bool]:
        async with db.connection() as conn:
            if demo_password:
                try:
                    existing = await user_by_email(conn, email)
                except UnknownUser:
                    existing = None
                if existing is not None:
                    if (existing.account_id, existing.role) != (account_id, user_role):
                        raise UserRefused(
                            f"a user with the email {existing.email!r} exists already,"
                            " with another account or role"
                        )
                    # `make run` again: the demo user stands, with the demo password.
                    found = await credentials(conn, existing.email)
                    if found is not None and not verify_now(found.password_hash, password).ok:
                        await set_password_hash(conn, found.user_id, hash_password_now(password))
                    return existing, False
            return await add_user(
                conn, email, user_role, account_id, hash_password_now(password)
            ), True

    try:
        user, created = with_database(settings, add)
    except UserRefused as exc:
        typer.echo(f"no user added: {exc}", err=True)
        raise typer.Exit(1) from None
    state = "added" if created else "exists"
    typer.echo(f"user {user.email} {state}: {user.role} of {account_name}")
    if demo_password:
        typer.echo(f"password (the public demo one): {DEMO_PASSWORD}")


@users_app.command("list")
def users_list(account: AccountOption = None) -> None:
    """The account's console users, with their role and state."""
    from sinks.console_users import ConsoleUserRow, list_users

    settings = settings_or_exit()
    found = account_or_exit(settings, account)

    async def read(db: Database) -> list[ConsoleUserRow]:
        async with db.connection() as conn:
            return await list_users(conn, found.id)

    users = with_database(settings, read)
    typer.echo(f"{'email':40}  {'role':8}  {'state':8}  added")
    for u in users:
        typer.echo(f"{u.email:40}  {u.role:8}  {u.status:8}  {u.created_at:%Y-%m-%d %H:%M}")
    if not users:
        typer.echo(
            f"no users in {found.name} yet: `leadsync users add --account {found.name} EMAIL`"
        )


@users_app.command("disable")
def users_disable(
    email: Annotated[str, typer.Argument(help="The user's email.")],
) -> None:
    """Disable a user: they are signed out at once and can no longer sign in."""
    from sinks.console_users import ConsoleUserRow, UserRefused, disable_user, user_by_email

    async def disable(db: Database) -> ConsoleUserRow:
        async with db.connection() as conn:
            user = await user_by_email(conn, email)
            return await disable_user(conn, user.id)

    try:
        user = with_database(settings_or_exit(), disable)
    except UserRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"user {user.email} disabled")
