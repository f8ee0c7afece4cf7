"""Operator tasks: the schema, the topics, leads by hand, the pipeline alarm, the published
JSON Schemas, the contact-change events, a token key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from cli.context import AccountOption, account_or_exit, settings_or_exit, with_database

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
leads_app = typer.Typer(no_args_is_help=True, help="Operator tools for leads.")
alarm_app = typer.Typer(no_args_is_help=True, help="The pipeline alarm.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from sinks.migrate import upgrade_when_reachable

    settings = settings_or_exit()
    applied = asyncio.run(upgrade_when_reachable(settings.database_conninfo()))
    for migration in applied:
        typer.echo(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        typer.echo("schema is up to date")


@db_app.command("status")
def db_status() -> None:
    """Show the schema version and pending migrations."""
    from sinks.migrate import available, current_version

    settings = settings_or_exit()
    version = asyncio.run(current_version(settings.database_conninfo()))
    pending = [m for m in available() if m.version > version]
    typer.echo(f"schema version {version}; {len(pending)} pending")


@topics_app.command("create")
def topics_create(
    wait: Annotated[float, typer.Option(help="Seconds to wait for Kafka.")] = 60,
) -> None:
    """Create leadsync's topics with their partitions, replication factor and
    min.insync.replicas (idempotent); print each as the brokers describe it."""
    from leadsync.kafka.topics import describe_topics, ensure_topics, wait_for_kafka

    settings = settings_or_exit()
    wait_for_kafka(settings, wait)
    created = ensure_topics(settings)
    for topic in describe_topics(settings):
        typer.echo(f"{'created' if topic.name in created else 'exists '} {topic}")


@leads_app.command("publish")
def leads_publish(
    files: Annotated[
        list[Path],
        typer.Argument(help="JSON files: a lead or a list of leads (bare or in their envelope)."),
    ],
    account: AccountOption = None,
) -> None:
    """Publish LinkedIn lead JSON to the raw topic for the account, as a manual import would.

    A bare LinkedIn lead is wrapped in its envelope (a manual import) naming the account; an
    envelope keeps what it says, and may name no other account."""
    from ingest.puller import lead_key
    from leadsync.kafka.producing import publish_all
    from schemas.envelopes import RawLead

    settings = settings_or_exit()
    holder = account_or_exit(settings, account)
    records = []
    for path in files:
        document = json.loads(path.read_text())
        for item in document if isinstance(document, list) else [document]:
            raw = RawLead.from_record(json.dumps(item).encode())
            if raw.account_id not in (None, holder.id):
                typer.echo(
                    f"{path}: lead {raw.lead.id} names account {raw.account_id}, not"
                    f" {holder.name} ({holder.id}); nothing published",
                    err=True,
                )
                raise typer.Exit(2)
            raw = raw.model_copy(update={"account_id": holder.id})
            records.append((lead_key(holder.id, raw.lead.id), raw.to_record()))
    count = publish_all(settings, settings.topics.leads_raw, records)
    typer.echo(f"published {count} lead(s) of account {holder.name} to {settings.topics.leads_raw}")


@alarm_app.command("status")
def alarm_status() -> None:
    """Show the pipeline alarm, if one is raised."""
    from sinks.alarms import active_alarm
    from sinks.database import Database

    async def read(db: Database) -> object:
        async with db.connection() as conn:
            return await active_alarm(conn)

    alarm = with_database(settings_or_exit(), read)
    typer.echo(f"ALARM: {alarm}" if alarm else "no alarm")


@alarm_app.command("clear")
def alarm_clear(
    by: Annotated[str, typer.Option(help="Who clears it (kept with the alarm).")] = "operator",
) -> None:
    """Clear the pipeline alarm: processing resumes."""
    from sinks.alarms import Alarm, clear_alarm
    from sinks.database import Database

    async def clear(db: Database) -> Alarm | None:
        async with db.connection() as conn:
            return await clear_alarm(conn, by)

    alarm = with_database(settings_or_exit(), clear)
    typer.echo(f"cleared: {alarm.reason}" if alarm else "no alarm was raised")


def schemas_export(
    directory: Annotated[Path | None, typer.Argument(help="Where to write them.")] = None,
    asyncapi: Annotated[
        Path | None, typer.Option(help="Where to write the AsyncAPI document.")
    ] = None,
) -> None:
    """Write the JSON Schema files of the published events (default: schemas/json/) and the
    AsyncAPI document of the public topics built from them (default: schemas/asyncapi.json)."""
    from schemas.asyncapi import ASYNCAPI_PATH, write_document
    from schemas.export import JSON_DIR, export

    for path in export(directory or JSON_DIR):
        typer.echo(f"wrote {path}")
    typer.echo(f"wrote {write_document(asyncapi or ASYNCAPI_PATH)}")


def tail(
    from_beginning: Annotated[bool, typer.Option(help="Start at the oldest event.")] = False,
    count: Annotated[int, typer.Option(help="Stop after this many events (0: never).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print whole CloudEvents.")] = False,
    account: Annotated[
        str | None, typer.Option(help="Only this account's events (default: every account's).")
    ] = None,
) -> None:
    """Print contact-change events as they are published (every account's: an operator's
    view; --account NAME for one)."""
    from streams.tail import tail_changes

    settings = settings_or_exit()
    account_id = account_or_exit(settings, account).id if account else None
    tail_changes(settings, from_beginning, count, as_json, typer.echo, account_id)


def keygen() -> None:
    """Print a new key for LEADSYNC_TOKEN_KEY (encrypts LinkedIn tokens at rest)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
