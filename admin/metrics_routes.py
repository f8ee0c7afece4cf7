"""``GET /metrics``, ``/healthz`` and ``/readyz`` of the admin process.

``/metrics`` adds to the process's own figures (:mod:`leadsync.metrics`: LinkedIn calls made
from here, CPU, memory) what the database holds for the whole platform, read when scraped
in one transaction: the LinkedIn connections' lifetime (refresh tokens end after a year,
and then the integration stops in silence: an alert on these figures comes before the
end) and the outbox backlog (the contact changes the relay has yet to publish). The admin
serves them, not the workers: one figure for the platform, whichever worker relays.

Labels stay bounded (a threshold, a status), never an account or a connection: which
connection it is, the account sees in ``GET /api/linkedin/connections``. No token, like the
receiver's ``/metrics``: scrape it on the internal network.

``/readyz``: PostgreSQL answers (the API needs it for everything) and Kafka answers for the
sync-requests topic (manual imports); see :mod:`leadsync.ops_server`.
"""

from __future__ import annotations

import logging
from collections import Counter

import psycopg
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from psycopg_pool import PoolTimeout

from leadsync import metrics as process_metrics
from leadsync.kafka.reachability import KafkaProbe
from leadsync.ops_server import Check, readiness_body, run_checks
from leadsync.settings import Settings
from schemas.connection_events import EXPIRY_THRESHOLDS_DAYS
from sinks.database import Database
from sinks.outbox_backlog import OutboxBacklog, outbox_backlog
from sinks.reachability import database_answers
from sinks.token_expiry import ConnectionLifetime, connection_lifetimes

log = logging.getLogger(__name__)
router = APIRouter()


def render(lifetimes: list[ConnectionLifetime], backlog: OutboxBacklog | None = None) -> bytes:
    """The figures of these connections (and outbox backlog) in Prometheus' text format."""
    registry = CollectorRegistry()
    within = Gauge(
        "leadsync_linkedin_connections_ending",
        "Active connections whose token ends within this many days",
        ["within_days"],
        registry=registry,
    )
    by_status = Gauge(
        "leadsync_linkedin_connections",
        "Connections by status (active, expired, revoked)",
        ["status"],
        registry=registry,
    )
    active = [
        c.seconds_left for c in lifetimes if c.status == "active" and c.seconds_left is not None
    ]
    if active:  # absent without active connections (0 would read "ends now")
        Gauge(
            "leadsync_linkedin_token_first_end_seconds",
            "Seconds until the first active connection's refresh token (or, without one,"
            " access token) ends; negative once it has",
            registry=registry,
        ).set(min(active))
    for days in EXPIRY_THRESHOLDS_DAYS:
        ending = sum(1 for left in active if left <= days * 86400)
        within.labels(within_days=str(days)).set(ending)
    counts = Counter(c.status for c in lifetimes)
    for status in ("active", "expired", "revoked"):
        by_status.labels(status=status).set(counts.get(status, 0))
    if backlog is not None:
        Gauge(
            "leadsync_outbox_backlog",
            "Contact changes committed but not yet published on the contact-changes topic",
            registry=registry,
        ).set(backlog.rows)
        Gauge(
            "leadsync_outbox_oldest_seconds",
            "Age of the oldest unpublished contact change (0 when none waits)",
            registry=registry,
        ).set(backlog.oldest_age_s or 0.0)
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    db: Database = request.app.state.database
    body = process_metrics.exposition(process_metrics.REGISTRY, process_metrics.PROCESS)
    try:
        async with db.every_account() as conn:
            lifetimes = await connection_lifetimes(conn)
            backlog = await outbox_backlog(conn)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        # The process's own figures still count (a failed scrape would read "admin down");
        # the database's are absent until it answers, and /readyz says why.
        log.warning("database figures left out of /metrics: %s", type(exc).__name__)
    else:
        body = render(lifetimes, backlog) + body
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    checks = _checks(request)
    settings: Settings = request.app.state.settings
    status, body = readiness_body(await run_checks(checks, settings.readiness_timeout_s))
    return JSONResponse(body, status_code=status)


def _checks(request: Request) -> dict[str, Check]:
    """The admin's checks, made once per app (its Kafka probe keeps a client)."""
    state = request.app.state
    checks: dict[str, Check] | None = getattr(state, "readiness_checks", None)
    if checks is None:
        settings: Settings = state.settings
        checks = {
            "postgresql": lambda: database_answers(settings),
            "kafka": KafkaProbe(
                settings, [settings.topics.sync_requests], settings.readiness_timeout_s
            ),
        }
        state.readiness_checks = checks
    return checks
