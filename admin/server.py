"""Serves the admin API with uvicorn on LEADSYNC_ADMIN_HOST:LEADSYNC_ADMIN_PORT."""

from __future__ import annotations

import uvicorn

from admin.app import create_app
from leadsync.settings import Settings


def serve(settings: Settings) -> None:
    uvicorn.run(
        create_app(settings),
        # Loopback by default: the API changes what gets imported; expose it through a
        # reverse proxy with TLS, never directly.
        host=settings.admin_host,
        port=settings.admin_port,
        log_level=settings.log_level,
        # The default server header names the software; nothing gains from it.
        server_header=False,
        proxy_headers=False,
    )
