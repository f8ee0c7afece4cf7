"""``/healthz``, ``/readyz`` and ``/metrics``: what an orchestrator and Prometheus ask a process.

- ``GET /healthz``: alive. 200 as long as the process's event loop answers; nothing is
  checked (a process that cannot reach Kafka is still alive, and restarting it would not
  bring Kafka back).
- ``GET /readyz``: ready to do its work. Each of the process's checks (Kafka answers a
  metadata request, PostgreSQL a query, the worker holds its partitions) runs at once,
  each bounded by a short timeout; 200 ``{"status": "ready", "checks": {...}}`` when all
  pass, else 503 with the same body, ``"status": "not ready"`` and ``not_ready`` naming
  each failed check and why.
- ``GET /metrics``: Prometheus' text format (:mod:`leadsync.metrics`).

The receiver and the admin answer these on their own port. The worker and the scheduler
serve no HTTP otherwise: :func:`serve_ops` runs a small server inside their event loop on
a port of their own (``LEADSYNC_WORKER_METRICS_PORT``, ``LEADSYNC_SCHEDULER_METRICS_PORT``;
0 turns it off). No token: bind it to loopback or an internal network, as the receiver's
``/metrics``; it exposes counts, never ids or secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

# A check answers None when the thing it checks is fine, else a sentence saying what is not.
Check = Callable[[], Awaitable[str | None]]
Render = Callable[[], Awaitable[bytes]]


async def run_checks(checks: Mapping[str, Check], timeout_s: float) -> dict[str, str]:
    """Every check at once, each given ``timeout_s``: ``{name: "ok" or why not}``."""

    async def one(check: Check) -> str:
        try:
            async with asyncio.timeout(timeout_s):
                failure = await check()
        except TimeoutError:
            return f"no answer within {timeout_s:g} s"
        except Exception as exc:  # a check that breaks says so, it does not break /readyz
            log.warning("readiness check failed: %r", exc)
            return f"check failed: {type(exc).__name__}"
        return failure or "ok"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def readiness_body(results: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of ``/readyz`` for these check results."""
    failed = {name: why for name, why in results.items() if why != "ok"}
    if failed:
        return 503, {"status": "not ready", "not_ready": failed, "checks": dict(results)}
    return 200, {"status": "ready", "checks": dict(results)}


def health_routes(checks: Mapping[str, Check], timeout_s: float) -> list[Route]:
    """``/healthz`` and ``/readyz`` for these checks, to add to an app."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        status, body = readiness_body(await run_checks(checks, timeout_s))
        return JSONResponse(body, status_code=status)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]


def ops_app(checks: Mapping[str, Check], timeout_s: float, render: Render) -> Starlette:
    """An app answering ``/healthz``, ``/readyz`` and ``/metrics`` (``render``'s bytes)."""

    async def metrics(_request: Request) -> Response:
        return Response(await render(), media_type=CONTENT_TYPE_LATEST)

    routes = [*health_routes(checks, timeout_s), Route("/metrics", metrics, methods=["GET"])]
    return Starlette(routes=routes)


class _GuestServer(uvicorn.Server):
    """uvicorn inside a process whose event loop and signals belong to someone else (faust's
    worker, the scheduler): it must not take SIGTERM/SIGINT over, or stopping the process
    would stop this server instead of the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_ops(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; port 0: nothing. A port already taken
    is logged and the process goes on without it: its work matters more than its figures
    (``/readyz`` then does not answer, which an orchestrator notices)."""
    if port == 0:
        return
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # The process's logging is configured already: uvicorn must not replace it.
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    server = _GuestServer(config)
    try:
        await server.serve()
    except SystemExit:
        # uvicorn exits the process when it cannot bind; here the process is not its own.
        log.error("cannot serve /metrics, /healthz, /readyz on %s:%d", host, port)
    except asyncio.CancelledError:
        # The process is stopping: stop listening at once, open requests end with it.
        for listener in getattr(server, "servers", []):
            listener.close()
        raise
