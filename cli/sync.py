"""``leadsync sync``: a manual import of an account's form with the product's three options,
followed to its end."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any
from uuid import UUID

import typer

from cli.context import AccountOption, account_or_exit, settings_or_exit, with_database
from leadsync.settings import Settings
from schemas.envelopes import SyncOptions
from sinks.database import Database

# How long the counts of a finished run may stand still before ``sync`` stops waiting for
# the rest: leads already imported by an earlier run are skipped without a trace in this
# one, and without a worker nothing moves at all.
SETTLE_IDLE_S = 5.0
POLL_S = 0.5


def sync(
    form_id: Annotated[int, typer.Argument(help="LinkedIn form id.")],
    reimport_existing: Annotated[
        bool, typer.Option(help="Apply already-imported leads again (fixes a wrong mapping).")
    ] = False,
    restart_workflows: Annotated[
        bool, typer.Option(help="Re-synced contacts enter their workflows again.")
    ] = False,
    all_submissions: Annotated[
        bool, typer.Option(help="From the form's creation (within LinkedIn's retention).")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = True,
    account: AccountOption = None,
) -> None:
    """Start a manual import of the account's form (its counters reset when the run starts)
    and follow it. A form whose Import is off is refused (exit 1)."""
    from pydantic import ValidationError

    settings = settings_or_exit()
    try:
        options = SyncOptions(
            reimport_existing=reimport_existing,
            restart_workflows=restart_workflows,
            all_submissions=all_submissions,
        )
    except ValidationError as exc:
        typer.echo(exc.errors()[0]["msg"].removeprefix("Value error, "), err=True)
        raise typer.Exit(2) from None
    account_id = account_or_exit(settings, account).id
    run = with_database(
        settings, lambda db: _start_and_follow(settings, db, account_id, form_id, options, wait)
    )
    if run is None:
        return
    typer.echo(
        f"{run['status']}: {run['leads_published']} leads published, {run['imported']} contacts"
        f" imported, {run['updated']} updated, {run['errors']} errors"
        + (f" ({run['error']})" if run["error"] else "")
    )
    if run["status"] == "failed":
        raise typer.Exit(1)


async def _start_and_follow(
    settings: Settings,
    db: Database,
    account_id: int,
    form_id: int,
    options: SyncOptions,
    wait: bool,
) -> dict[str, Any] | None:
    from ingest.sync_requests import request_manual_import_once
    from leadsync.kafka.producing import PublishError
    from sinks import sync_runs

    try:
        run_id = await request_manual_import_once(
            settings, db, form_id, options, "cli", account_id=account_id
        )
    except sync_runs.ImportDisabled as exc:
        # Refused as the admin API refuses it (409 there), and nothing is reset.
        typer.echo(f"{exc} (`leadsync forms import {form_id} on`)", err=True)
        raise typer.Exit(1) from None
    except (sync_runs.RunAlreadyActive, sync_runs.UnknownForm, PublishError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"manual import {run_id} requested for form {form_id}")
    if not wait:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
        task = bar.add_task("waiting for the puller", total=None)
        while True:
            run = await _read_run(db, account_id, run_id)
            bar.update(
                task,
                description=f"{run['status']}: page {run['pages']}",
                completed=run["leads_published"],
                total=run["leads_total"],
            )
            if run["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(POLL_S)
        return await _follow_imports(db, account_id, run, bar, task)


async def _read_run(db: Database, account_id: int, run_id: UUID) -> dict[str, Any]:
    from sinks import sync_runs

    async with db.account(account_id) as conn:
        run = await sync_runs.get_run(conn, run_id)
        assert run is not None  # the run was recorded before its request was sent
        return {**run, "unpublished": await sync_runs.unpublished_errors(conn, run_id)}


async def _follow_imports(
    db: Database, account_id: int, run: dict[str, Any], bar: Any, task: Any
) -> dict[str, Any]:
    """Once the puller published the run's leads, wait for the worker to import them (or
    log them as errors): the counts printed at the end are then the run's, not a moment's
    snapshot of leads still on their way."""
    published = run["leads_published"]
    last, still_since = None, time.monotonic()
    while run["leads_in_ledger"] + run["errors"] - run["unpublished"] < published:
        counts = (run["leads_in_ledger"], run["errors"])
        if counts != last:
            last, still_since = counts, time.monotonic()
        elif time.monotonic() - still_since > SETTLE_IDLE_S:
            break
        bar.update(
            task,
            description=f"{run['status']}, importing",
            completed=sum(counts),
            total=published,
        )
        await asyncio.sleep(0.25)
        run = await _read_run(db, account_id, run["id"])
    return run
