"""Serves the webhook receiver with uvicorn on LEADSYNC_INGRESS_HOST:LEADSYNC_INGRESS_PORT.

Several receivers can serve one port: each binds its own listening socket with
``SO_REUSEPORT``, and the kernel spreads new connections over the receivers alive. One
restarted (or killed) leaves the others answering, so a rolling restart needs no load
balancer in front. Linux admits a socket into the group only from the same user, so a
process of another user cannot join in to read notifications.

What a restart can still cost: connections accepted by the kernel into the queue of a
receiver that then closes (its last moments, or all at once under SIGKILL) are reset, and the
sender has to send again (LinkedIn's dropped webhooks are recovered by the next pull). Linux
5.14 and later move that queue to a surviving receiver when ``net.ipv4.tcp_migrate_req`` is 1:
set it on hosts that run more than one receiver. A request in progress when its receiver is
killed gets no answer; one that was answered 200 is on Kafka (architecture.md 3.1).
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE

from ingest.webhook.app import create_app
from ingest.webhook.read_deadline import ReadDeadlineProtocol
from leadsync.settings import Settings


def shared_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other receivers can bind as well. Not yet
    listening: uvicorn listens once the app has started, so the kernel hands this receiver
    no connection before it can answer (and none at all if its start-up fails)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR: restart at once, past the TIME_WAIT of the previous process's
        # connections; SO_REUSEPORT: share the port with the other receivers.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def serve(settings: Settings, app: ASGIApp | None = None) -> None:
    """Serve the receiver (or ``app``, the receiver wrapped: bench/ingress.py)."""
    config = uvicorn.Config(
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
        # HTTP/1.1 with a deadline on reading each request (no slowloris).
        http=ReadDeadlineProtocol.with_timeout(settings.ingress_read_timeout_s),
    )
    # uvicorn binds without SO_REUSEPORT (and has no option for it): bound here instead.
    server = uvicorn.Server(config)
    with shared_socket(settings.ingress_host, settings.ingress_port) as sock:
        server.run(sockets=[sock])
    if not server.started:
        # As uvicorn.run ends: the app's start-up failed (it logged why).
        raise SystemExit(STARTUP_FAILURE)
