"""LinkedIn calls in :data:`leadsync.metrics.LINKEDIN_CALLS_TOTAL`, by endpoint and status.

An endpoint is named by its template, never by its URL: ``GET /leadFormResponses/{id}``,
not the lead's URN; a path naming none of the resources leadsync calls reads ``other``.
So the label has a few dozen values whatever the traffic, and no id reaches Prometheus.
"""

from __future__ import annotations

import httpx

from leadsync import metrics

# The resources leadsync calls (linkedin.client, linkedin.oauth), as their paths name them.
RESOURCES = frozenset(
    {
        "leadFormResponses",
        "leadForms",
        "adAccountUsers",
        "adAccounts",
        "leadNotifications",
        "userinfo",
        "accessToken",
        "authorization",
    }
)
UNREACHABLE = "unreachable"


def endpoint(method: str, path: str) -> str:
    """``METHOD /resource`` or ``METHOD /resource/{id}``: the last resource the path names,
    with ``{id}`` when a key follows it; ``METHOD other`` for a path naming none."""
    segments = [s for s in path.split("/") if s]
    for index in range(len(segments) - 1, -1, -1):
        if segments[index] in RESOURCES:
            keyed = "/{id}" if index < len(segments) - 1 else ""
            return f"{method} /{segments[index]}{keyed}"
    return f"{method} other"


def count_call(request: httpx.Request, status: int | None) -> None:
    """One exchange with LinkedIn; ``status`` None when no answer came back."""
    method = metrics.bounded(request.method, ("GET", "POST", "DELETE", "PUT", "PATCH"))
    metrics.LINKEDIN_CALLS_TOTAL.labels(
        endpoint(method, request.url.path), UNREACHABLE if status is None else str(status)
    ).inc()
