"""Serves the webhook receiver with uvicorn on LEADSYNC_INGRESS_HOST:LEADSYNC_INGRESS_PORT."""

from __future__ import annotations

import uvicorn

from ingest.webhook.app import create_app
from leadsync.settings import Settings


def serve(settings: Settings) -> None:
    uvicorn.run(
        create_app(settings),
        host=settings.ingress_host,
        port=settings.ingress_port,
        log_level=settings.log_level,
        # One line per notification would be most of the log; the metrics count them.
        access_log=False,
        # The receiver faces the internet: the default server header names the software.
        server_header=False,
        # Forwarded headers are not trusted: the signature, not the address, authenticates.
        proxy_headers=False,
    )
