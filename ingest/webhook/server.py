"""Serves the webhook receiver with uvicorn on LEADSYNC_INGRESS_HOST:LEADSYNC_INGRESS_PORT."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from ingest.webhook.app import create_app
from leadsync.settings import Settings


def serve(settings: Settings, app: ASGIApp | None = None) -> None:
    """Serve the receiver (or ``app``, the receiver wrapped: bench/ingress.py)."""
    uvicorn.run(
        app or create_app(settings),
        host=settings.ingress_host,
        port=settings.ingress_port,
        log_level=settings.log_level,
        # The process's logging is leadsync.logs' (JSON lines), uvicorn's loggers included.
        log_config=None,
        # One line per notification would be most of the log; the metrics count them.
        access_log=False,
        # The receiver faces the internet: the default server header names the software.
        server_header=False,
        # Forwarded headers are not trusted: the signature, not the address, authenticates.
        proxy_headers=False,
    )
