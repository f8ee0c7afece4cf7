"""The long-running processes: each migrates the schema and creates the topics it needs
before it starts (``cli.context.process_settings``)."""

from __future__ import annotations

import asyncio

import typer

from cli.context import process_settings


def worker() -> None:
    """Run the stream processors (faust worker): raw leads -> contacts."""
    import faust

    from streams.app import create_app

    settings = process_settings("worker", database=True, kafka=True)
    faust_app = create_app(settings)
    # faust's Worker owns the event loop and the signal handling from here on; the logging
    # stays as leadsync.logs set it up (faust's own would replace the root's handler).
    worker = faust.Worker(
        faust_app, loglevel=settings.log_level, quiet=True, override_logging=False
    )
    # Its start-up spinner writes terminal escapes into the log even when quiet: no spinner.
    worker.spinner = None
    worker.execute_from_commandline()


def ingress() -> None:
    """Serve LinkedIn's webhook (GET/POST /linkedin/webhook, /healthz, /metrics)."""
    from ingest.webhook.server import serve

    serve(process_settings("ingress", database=False, kafka=True))


def scheduler() -> None:
    """Run periodic syncs and execute sync requests (manual imports)."""
    from ingest.scheduler import run_scheduler

    settings = process_settings("scheduler", database=True, kafka=True)
    asyncio.run(run_scheduler(settings))


def admin() -> None:
    """Serve the admin API (OpenAPI at /docs) on LEADSYNC_ADMIN_PORT."""
    from admin.server import serve

    serve(process_settings("admin", database=True, kafka=False))


def sandbox(ctx: typer.Context) -> None:
    """The LinkedIn sandbox (``leadsync sandbox --help``): a local stand-in for LinkedIn.

    Imported only here, when asked for, so that no production process loads it."""
    from sandbox.cli import app as sandbox_app

    sandbox_app(ctx.args, prog_name="leadsync sandbox")
