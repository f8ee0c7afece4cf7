"""What every ``/rest`` call must get past, in LinkedIn's order of refusal.

1. injected latency and 5xx faults (an overloaded LinkedIn fails before reading anything);
2. ``LinkedIn-Version``: missing answers 400; malformed, sunset (older than the configured
   lifetime, 12 months) or not yet released (after the sandbox clock's month) answers 426;
3. ``X-Restli-Protocol-Version: 2.0.0``: anything else answers 400;
4. the bearer token: missing, unknown, expired or revoked answers 401;
5. the token's scopes: 403;
6. the daily budgets: 429 (the call is not counted).

``GET /v2/userinfo`` (OpenID Connect, unversioned) skips steps 2 and 3. The grant a call
gets past with names its member: what the call may read is that member's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from starlette.requests import Request

from sandbox.errors import (
    ACCESS_DENIED,
    PROTOCOL_MISSING,
    VERSION_INACTIVE,
    VERSION_MISSING,
    RestliError,
)
from sandbox.oauth import Grant
from sandbox.state import SandboxState

LEADGEN_SCOPE = "r_marketing_leadgen_automation"
ADS_SCOPE = "r_ads"
ORGANIZATION_SCOPE = "r_organization_admin"
_VERSION = re.compile(r"^(?P<year>20\d\d)(?P<month>0[1-9]|1[0-2])(\.\d{2})?$")


def live_versions(now_ms: int, lifetime_months: int) -> tuple[str, str]:
    """The oldest and newest live ``YYYYMM`` at ``now_ms``."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    newest = now.year * 12 + now.month - 1
    oldest = newest - lifetime_months
    return f"{oldest // 12}{oldest % 12 + 1:02d}", f"{newest // 12}{newest % 12 + 1:02d}"


def check_version(value: str | None, now_ms: int, lifetime_months: int) -> None:
    if value is None or not value.strip():
        raise RestliError(
            400,
            "A version must be present. Please specify a version by adding the "
            "LinkedIn-Version header.",
            VERSION_MISSING,
        )
    match = _VERSION.match(value.strip())
    oldest, newest = live_versions(now_ms, lifetime_months)
    if match is None or not oldest <= match["year"] + match["month"] <= newest:
        raise RestliError(
            426,
            f"Requested version {value} is not active (live versions: {oldest} to {newest})",
            VERSION_INACTIVE,
        )


def check_protocol(value: str | None) -> None:
    if value != "2.0.0":
        raise RestliError(
            400,
            "X-Restli-Protocol-Version must be 2.0.0 (Rest.li 2.0 query syntax)",
            PROTOCOL_MISSING,
        )


async def admit(request: Request, state: SandboxState, scope: str) -> Grant:
    """Run every check on ``request``; the caller's grant, or a RestliError."""
    config = state.config
    await state.faults.before_request(config.faults)
    now = state.clock.now_ms()
    check_version(request.headers.get("linkedin-version"), now, config.version_lifetime_months)
    check_protocol(request.headers.get("x-restli-protocol-version"))
    resource = f"{request.method} {request.url.path} (scope {scope} not granted)"
    return authorize(request, state, scope, resource)


async def admit_unversioned(
    request: Request, state: SandboxState, scope: str, resource: str
) -> Grant:
    """The checks of an unversioned call (``/v2/userinfo``): faults, token, scope, budget;
    a missing scope answers 403 naming ``resource``, as LinkedIn's message does."""
    await state.faults.before_request(state.config.faults)
    return authorize(request, state, scope, resource)


def authorize(request: Request, state: SandboxState, scope: str, resource: str) -> Grant:
    """Steps 4 to 6: the bearer token, its scope and the daily budgets."""
    grant = state.tokens.authenticate(request.headers.get("authorization"))
    if scope not in grant.scopes:
        raise RestliError(403, f"Not enough permissions to access: {resource}", ACCESS_DENIED)
    state.budget.spend(grant.member_urn, state.clock.now_ms(), state.config.throttle)
    return grant
