"""The ``leadsync`` command line: one sub-command per process and per operator task.

The commands acting on an account's data (forms, sync, subscribe, leads publish, linkedin
connect) take the account: ``--account NAME`` before or after the command, or
LEADSYNC_ACCOUNT. Accounts and the operator's tasks take none."""

from __future__ import annotations

import sys

import typer

from cli import accounts, linkedin, operations, processes, users
from cli.context import AccountOption, Invocation, remember_invocation
from cli.sync import sync
from leadsync.settings import ConfigurationError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def options(account: AccountOption = None) -> None:
    """The options given before the command, for the commands to read."""
    remember_invocation(Invocation(account=account))


for command in (processes.worker, processes.ingress, processes.scheduler, processes.admin):
    app.command()(command)
app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)(processes.sandbox)
app.command()(sync)
app.command()(linkedin.subscribe)
app.command()(operations.tail)
app.command("schemas")(operations.schemas_export)
app.command()(operations.keygen)
app.add_typer(accounts.accounts_app, name="accounts")
app.add_typer(users.users_app, name="users")
app.add_typer(linkedin.linkedin_app, name="linkedin")
app.add_typer(linkedin.forms_app, name="forms")
app.add_typer(operations.alarm_app, name="alarm")
app.add_typer(operations.db_app, name="db")
app.add_typer(operations.topics_app, name="topics")
app.add_typer(operations.leads_app, name="leads")


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
