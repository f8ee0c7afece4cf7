"""``GET /metrics``: the LinkedIn connections' lifetime, for Prometheus.

Refresh tokens end after a year, and then the integration stops in silence: an alert on
these figures comes before the end. Labels stay bounded (a threshold, a status), never an
account or a connection: which connection it is, the account sees in
``GET /api/linkedin/connections``. Read from PostgreSQL when scraped (one query); no token,
like the receiver's ``/metrics``: scrape it on the internal network.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from schemas.connection_events import EXPIRY_THRESHOLDS_DAYS
from sinks.database import Database
from sinks.token_expiry import ConnectionLifetime, connection_lifetimes

router = APIRouter()


def render(lifetimes: list[ConnectionLifetime]) -> bytes:
    """The figures of these connections in Prometheus' text format."""
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
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    db: Database = request.app.state.database
    async with db.every_account() as conn:
        lifetimes = await connection_lifetimes(conn)
    return Response(render(lifetimes), media_type=CONTENT_TYPE_LATEST)
