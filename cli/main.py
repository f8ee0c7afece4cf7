"""The ``leadsync`` command line: one sub-command per process and per operator task."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from leadsync.settings import ConfigurationError, Settings, load_settings

if TYPE_CHECKING:
    import psycopg

    from schemas.envelopes import SyncOptions

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
leads_app = typer.Typer(no_args_is_help=True, help="Operator tools for leads.")
app.add_typer(db_app, name="db")
app.add_typer(topics_app, name="topics")
app.add_typer(leads_app, name="leads")
forms_app = typer.Typer(no_args_is_help=True, help="LinkedIn forms and their sync settings.")
alarm_app = typer.Typer(no_args_is_help=True, help="The pipeline alarm.")
linkedin_app = typer.Typer(no_args_is_help=True, help="The LinkedIn connection.")
app.add_typer(forms_app, name="forms")
app.add_typer(alarm_app, name="alarm")
app.add_typer(linkedin_app, name="linkedin")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _process_settings(*, database: bool, kafka: bool) -> Settings:
    """The settings of a long-running process, with its logging set up, once its services
    are ready: the schema migrated (``database``), the topics created (``kafka``)."""
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if database:
        from sinks.migrate import upgrade_when_reachable

        upgrade_when_reachable(settings.database_conninfo())
    if kafka:
        from leadsync.kafka.topics import ensure_topics, wait_for_kafka

        wait_for_kafka(settings)
        ensure_topics(settings)
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from sinks.migrate import upgrade_when_reachable

    settings = _settings()
    applied = upgrade_when_reachable(settings.database_conninfo())
    for migration in applied:
        typer.echo(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        typer.echo("schema is up to date")


@db_app.command("status")
def db_status() -> None:
    """Show the schema version and pending migrations."""
    from sinks.migrate import available, current_version

    settings = _settings()
    version = current_version(settings.database_conninfo())
    pending = [m for m in available() if m.version > version]
    typer.echo(f"schema version {version}; {len(pending)} pending")


@topics_app.command("create")
def topics_create(
    wait: Annotated[float, typer.Option(help="Seconds to wait for Kafka.")] = 60,
) -> None:
    """Create leadsync's topics with their partition counts (idempotent)."""
    from leadsync.kafka.topics import ensure_topics, wait_for_kafka

    settings = _settings()
    wait_for_kafka(settings, wait)
    created = ensure_topics(settings)
    typer.echo(f"created {', '.join(created)}" if created else "topics exist")


@leads_app.command("publish")
def leads_publish(
    files: Annotated[list[Path], typer.Argument(help="JSON files: a lead or a list of leads.")],
) -> None:
    """Publish LinkedIn lead JSON to the raw topic, as a manual import would."""
    from leadsync.kafka.producing import publish_all
    from schemas.envelopes import RawLead

    settings = _settings()
    records = []
    for path in files:
        document = json.loads(path.read_text())
        for item in document if isinstance(document, list) else [document]:
            raw = RawLead.from_record(json.dumps(item).encode())
            records.append((raw.lead.id.encode(), raw.to_record()))
    count = publish_all(settings, settings.topics.leads_raw, records)
    typer.echo(f"published {count} lead(s) to {settings.topics.leads_raw}")


@linkedin_app.command("connect")
def linkedin_connect(
    access_token: Annotated[
        str | None, typer.Option(help="Store this access token instead of the OAuth flow.")
    ] = None,
    refresh_token: Annotated[str | None, typer.Option(help="Its refresh token.")] = None,
    expires_in: Annotated[int, typer.Option(help="Access token lifetime, seconds.")] = 5_184_000,
    discover: Annotated[bool, typer.Option(help="Discover ad accounts and forms.")] = True,
) -> None:
    """Connect a LinkedIn member (OAuth), store the tokens encrypted, discover forms."""
    import asyncio
    import time

    import psycopg
    from pydantic import SecretStr

    from ingest.connect import authorize
    from ingest.discovery import discover as run_discovery
    from linkedin import TokenPair
    from sinks.connections import TokenCipher, save_connection

    settings = _settings()
    if access_token:
        tokens = TokenPair(
            access_token=SecretStr(access_token),
            access_expires_at=time.time() + expires_in,
            refresh_token=SecretStr(refresh_token) if refresh_token else None,
        )
    else:
        tokens = asyncio.run(authorize(settings, typer.echo))
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        connection_id = save_connection(conn, TokenCipher(settings), tokens, member_urn="member")
        typer.echo(f"connected (connection {connection_id}); tokens stored encrypted")
        if discover:
            found = asyncio.run(run_discovery(settings, conn, connection_id))
            typer.echo(
                f"{len(found.ad_accounts)} ad accounts, {len(found.organizations)} organizations,"
                f" {found.forms} forms ({len(found.new_forms)} new, Import off until switched on)"
            )


@forms_app.command("discover")
def forms_discover() -> None:
    """List the forms of the connected ad accounts and organizations and record them."""
    import asyncio

    import psycopg

    from ingest.discovery import discover as run_discovery
    from sinks.connections import connections

    settings = _settings()
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        active = [c for c in connections(conn) if c.status == "active"]
        if not active:
            typer.echo("no active LinkedIn connection: run `leadsync linkedin connect`", err=True)
            raise typer.Exit(1)
        for connection in active:
            found = asyncio.run(run_discovery(settings, conn, connection.id))
            typer.echo(
                f"connection {connection.id}: {found.forms} forms"
                f" ({len(found.new_forms)} new: {found.new_forms})"
            )


@app.command()
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
) -> None:
    """Start a manual import of a form (resets its counters) and follow it."""
    import time

    import psycopg
    from pydantic import ValidationError

    from leadsync.kafka.producing import PublishError
    from schemas.envelopes import SyncOptions
    from sinks import sync_runs

    settings = _settings()
    try:
        options = SyncOptions(
            reimport_existing=reimport_existing,
            restart_workflows=restart_workflows,
            all_submissions=all_submissions,
        )
    except ValidationError as exc:
        typer.echo(exc.errors()[0]["msg"].removeprefix("Value error, "), err=True)
        raise typer.Exit(2) from None
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        try:
            run_id = request_manual_import(settings, conn, form_id, options, "cli")
        except (sync_runs.RunAlreadyActive, sync_runs.UnknownForm, PublishError) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        typer.echo(f"manual import {run_id} requested for form {form_id}")
        if not wait:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
            task = bar.add_task("waiting for the puller", total=None)
            while True:
                run = sync_runs.get_run(conn, run_id)
                assert run is not None
                bar.update(
                    task,
                    description=f"{run['status']}: page {run['pages']}",
                    completed=run["leads_published"],
                    total=run["leads_total"],
                )
                if run["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.5)
            run = _follow_imports(conn, run, bar, task)
    typer.echo(
        f"{run['status']}: {run['leads_published']} leads published, {run['imported']} contacts"
        f" imported, {run['updated']} updated, {run['errors']} errors"
        + (f" ({run['error']})" if run["error"] else "")
    )
    if run["status"] == "failed":
        raise typer.Exit(1)


# How long the counts of a finished run may stand still before ``sync`` stops waiting for
# the rest: leads already imported by an earlier run are skipped without a trace in this
# one, and without a worker nothing moves at all.
SETTLE_IDLE_S = 5.0


def _follow_imports(
    conn: psycopg.Connection[Any], run: dict[str, Any], bar: Any, task: Any
) -> dict[str, Any]:
    """Once the puller published the run's leads, wait for the worker to import them (or
    log them as errors): the counts printed at the end are then the run's, not a moment's
    snapshot of leads still on their way."""
    import time

    from sinks import sync_runs

    published = run["leads_published"]
    last, still_since = None, time.monotonic()
    while (
        run["leads_in_ledger"] + run["errors"] - sync_runs.unpublished_errors(conn, run["id"])
        < published
    ):
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
        time.sleep(0.25)
        followed = sync_runs.get_run(conn, run["id"])
        assert followed is not None
        run = followed
    return run


def request_manual_import(
    settings: Settings,
    conn: psycopg.Connection[Any],
    form_id: int,
    options: SyncOptions,
    requested_by: str,
) -> UUID:
    """Record a manual import run and publish its sync request; the run's id. What ``sync``
    does before it follows the run (and what bench/backfill.py times). A request Kafka did
    not take fails its run (as the admin API does), which would otherwise stay queued and
    refuse every later import of the form; then :class:`PublishError`."""
    from leadsync.kafka.producing import PublishError, publish_all
    from schemas.envelopes import SyncRequest, SyncTrigger
    from sinks import sync_runs

    run_id = sync_runs.create_run(conn, form_id, SyncTrigger.MANUAL, options, requested_by)
    request = SyncRequest(
        run_id=run_id, form_id=form_id, trigger=SyncTrigger.MANUAL, options=options
    )
    try:
        records = [(request.key(), request.to_record())]
        publish_all(settings, settings.topics.sync_requests, records)
    except PublishError as exc:
        sync_runs.finish_run(conn, run_id, f"not queued: {exc}")
        raise
    return run_id


@app.command()
def scheduler() -> None:
    """Run periodic syncs and execute sync requests (manual imports)."""
    import asyncio

    from ingest.scheduler import run_scheduler

    settings = _process_settings(database=True, kafka=True)
    asyncio.run(run_scheduler(settings))


@app.command()
def ingress() -> None:
    """Serve LinkedIn's webhook (GET/POST /linkedin/webhook, /healthz, /metrics)."""
    from ingest.webhook.server import serve

    serve(_process_settings(database=False, kafka=True))


@app.command()
def subscribe() -> None:
    """Make sure LinkedIn pushes the leads of every form with Import on to this receiver."""
    import asyncio

    import psycopg

    from ingest.subscriptions import ensure_subscriptions

    settings = _settings()
    with psycopg.connect(settings.database_conninfo(), autocommit=True) as conn:
        result = asyncio.run(ensure_subscriptions(settings, conn))
    for label in result.created:
        typer.echo(f"subscribed {label} -> {settings.ingress_public_url}")
    for label in result.existing:
        typer.echo(f"already subscribed {label}")
    for label in result.failed:
        typer.echo(f"FAILED {label}", err=True)
    if result.failed:
        raise typer.Exit(1)


@app.command()
def keygen() -> None:
    """Print a new key for LEADSYNC_TOKEN_KEY (encrypts LinkedIn tokens at rest)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@forms_app.command("list")
def forms_list() -> None:
    """The known forms with their Import switch and counters."""
    import psycopg

    from sinks.forms import list_forms

    with psycopg.connect(_settings().database_conninfo()) as conn:
        rows = list_forms(conn)
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
    import psycopg

    from sinks.forms import set_import

    if state not in ("on", "off"):
        raise typer.BadParameter("expected on or off", param_hint="STATE")
    with psycopg.connect(_settings().database_conninfo()) as conn:
        form = set_import(conn, form_id, state == "on")
    typer.echo(f"form {form['id']}: import {state}")


@alarm_app.command("status")
def alarm_status() -> None:
    """Show the pipeline alarm, if one is raised."""
    import asyncio

    import psycopg

    from sinks.alarms import active_alarm

    async def read() -> object:
        async with await psycopg.AsyncConnection.connect(_settings().database_conninfo()) as c:
            return await active_alarm(c)

    alarm = asyncio.run(read())
    typer.echo(f"ALARM: {alarm}" if alarm else "no alarm")


@alarm_app.command("clear")
def alarm_clear(
    by: Annotated[str, typer.Option(help="Who clears it (kept with the alarm).")] = "operator",
) -> None:
    """Clear the pipeline alarm: processing resumes."""
    import psycopg

    from sinks.alarms import clear_alarm

    with psycopg.connect(_settings().database_conninfo(), autocommit=True) as conn:
        alarm = clear_alarm(conn, by)
    typer.echo(f"cleared: {alarm.reason}" if alarm else "no alarm was raised")


@app.command("schemas")
def schemas_export(
    directory: Annotated[Path | None, typer.Argument(help="Where to write them.")] = None,
) -> None:
    """Write the JSON Schema files of the published events (default: schemas/json/)."""
    from schemas.export import JSON_DIR, export

    for path in export(directory or JSON_DIR):
        typer.echo(f"wrote {path}")


@app.command()
def tail(
    from_beginning: Annotated[bool, typer.Option(help="Start at the oldest event.")] = False,
    count: Annotated[int, typer.Option(help="Stop after this many events (0: never).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print whole CloudEvents.")] = False,
) -> None:
    """Print contact-change events as they are published."""
    from streams.tail import tail_changes

    tail_changes(_settings(), from_beginning, count, as_json, typer.echo)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def sandbox(ctx: typer.Context) -> None:
    """The LinkedIn sandbox (``leadsync sandbox --help``): a local stand-in for LinkedIn.

    Imported only here, when asked for, so that no production process loads it."""
    from sandbox.cli import app as sandbox_app

    sandbox_app(ctx.args, prog_name="leadsync sandbox")


@app.command()
def admin() -> None:
    """Serve the admin API (OpenAPI at /docs) on LEADSYNC_ADMIN_PORT."""
    from admin.server import serve

    serve(_process_settings(database=True, kafka=False))


@app.command()
def worker() -> None:
    """Run the stream processors (faust worker): raw leads -> contacts."""
    from streams.app import create_app

    settings = _process_settings(database=True, kafka=True)
    faust_app = create_app(settings)
    # faust's Worker owns the event loop and the signal handling from here on.
    import faust

    faust.Worker(faust_app, loglevel=settings.log_level, quiet=True).execute_from_commandline()


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
