"""Serves the admin API with uvicorn on LEADSYNC_ADMIN_HOST:LEADSYNC_ADMIN_PORT."""

from __future__ import annotations

import logging

import uvicorn

from admin.app import create_app
from leadsync.settings import Settings

# The member's browser brings secrets in the query of these paths: the link's state, and
# LinkedIn's authorization code and state.
_QUERY_NOT_LOGGED = "/oauth/"


class HideOAuthQuery(logging.Filter):
    """Drops the query from the access log's line for ``/oauth/*``, keeping the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(_QUERY_NOT_LOGGED) and "?" in path:
                record.args = (*args[:2], path.split("?", 1)[0], *args[3:])
        return True


def hide_oauth_queries() -> None:
    """Put :class:`HideOAuthQuery` on uvicorn's access log (once, however often called)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideOAuthQuery) for f in access.filters):
        access.addFilter(HideOAuthQuery())


def serve(settings: Settings) -> None:
    hide_oauth_queries()
    uvicorn.run(
        create_app(settings),
        # Loopback by default: the API changes what gets imported; expose it through a
        # reverse proxy with TLS, never directly.
        host=settings.admin_host,
        port=settings.admin_port,
        log_level=settings.log_level,
        # The process's logging is leadsync.logs' (JSON lines): uvicorn's loggers go through
        # it, with the OAuth pages' queries taken out of the access log.
        log_config=None,
        # The default server header names the software; nothing gains from it.
        server_header=False,
        # Only the TLS proxy in front of it (loopback by default; in a container, the bridge's
        # gateway) is believed about the browser's scheme (the Secure cookie) and address
        # (the sign-in throttle); without this, every client would share the proxy's address.
        proxy_headers=True,
        forwarded_allow_ips=settings.admin_forwarded_allow_ips,
    )
