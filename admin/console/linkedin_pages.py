"""``/console/linkedin``: the account's LinkedIn connections (issue #14, point 5).

Each connection shows its member, its health, the ad accounts and organizations its last
discovery found (each by its name, the id beside it; an organization whose name LinkedIn did
not give by its URN), and how long it has left: LinkedIn's refresh token ends a year after the
member approved leadsync, and the page counts down to it in days and hours, warning 30, 7
and 1 days before (the rule of :func:`schemas.connection_events.tightest_threshold`, read
through the JSON API's ``get_connections``).

"Connect LinkedIn" (or "Reconnect") asks the JSON API's route for an authorization link of
the signed-in user's account and sends the browser to it: the start page naming the account,
then LinkedIn, then LinkedIn's callback (:mod:`admin.linkedin_routes`), which brings a
console user back here with ``?connected=<connection id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from admin import linkedin_routes
from admin.console.page import AccountPage
from admin.console.session import AccountPageDep
from sinks.connection_reach import ConnectionReach, connection_reach

router = APIRouter(include_in_schema=False)

_HOUR_S = 3600
_DAY_S = 86_400
# Within the widest warning the countdown shows hours too: that is when they start to count.
_HOURS_SHOWN_WITHIN_DAYS = 30
# The member's role on an ad account and the account's status, as LinkedIn's Campaign
# Manager names them; another value shows as LinkedIn spells it.
AD_ACCOUNT_ROLES = {
    "ACCOUNT_BILLING_ADMIN": "Billing admin",
    "ACCOUNT_MANAGER": "Account manager",
    "CAMPAIGN_MANAGER": "Campaign manager",
    "CREATIVE_MANAGER": "Creative manager",
    "VIEWER": "Viewer",
}
AD_ACCOUNT_STATUSES = {
    "ACTIVE": "Active",
    "CANCELED": "Canceled",
    "DRAFT": "Draft",
    "PENDING_DELETION": "Pending deletion",
    "REMOVED": "Removed",
}


@dataclass(frozen=True)
class ConnectionView:
    """One connection as the page shows it, its texts already in the user's language."""

    id: int
    member: str
    member_urn: str | None
    colour: str  # green, yellow, red: the shared status classes
    status_text: str
    countdown: str | None  # "341 days left", "6 days and 5 hours left", "Ended"
    ends_on: str | None  # the end's date and time, UTC
    ended: bool
    warning: str | None
    reach: ConnectionReach
    just_connected: bool

    @property
    def red(self) -> bool:
        return self.colour == "red"


@router.get("/console/linkedin", response_class=HTMLResponse)
async def linkedin_page(page: AccountPageDep, connected: str = "") -> HTMLResponse:
    listed = await linkedin_routes.get_connections(page.scope)
    async with page.scope.connection() as conn:
        reaches = await connection_reach(conn)
    now = datetime.now(UTC)
    views = [
        # ?connected= names the connection LinkedIn's callback just made (another's: no notice).
        _view(page, c, reaches.get(c.id, ConnectionReach()), now, str(c.id) == connected)
        for c in listed.connections
    ]
    newly = next((v for v in views if v.just_connected), None)
    return page.render(
        "linkedin/connection.html",
        nav="linkedin",
        connections=views,
        newly_connected=newly,
        any_red=any(v.red for v in views),
        any_warning=any(v.warning for v in views),
        roles=AD_ACCOUNT_ROLES,
        ad_account_statuses=AD_ACCOUNT_STATUSES,
    )


@router.post("/console/linkedin/connect")
async def connect(page: AccountPageDep) -> RedirectResponse:
    """To the authorization's start page, for the signed-in user's account (the session
    dependency has checked the CSRF token)."""
    authorization = await linkedin_routes.post_own_authorization(page.scope, page.settings)
    # The start page is outside /console (the console's language cookie does not reach it):
    # it is told the language the user chose here.
    url = httpx.URL(authorization.url).copy_merge_params({"lang": page.lang})
    return RedirectResponse(str(url), status_code=303)


def _view(
    page: AccountPage,
    connection: linkedin_routes.LinkedInConnection,
    reach: ConnectionReach,
    now: datetime,
    just_connected: bool,
) -> ConnectionView:
    member = connection.member_name or connection.member_urn or page.t("Unknown member")
    seconds_left = (connection.expires_at - now).total_seconds() if connection.expires_at else None
    colour, status_text, warning = _health(page, connection, member, seconds_left)
    return ConnectionView(
        id=connection.id,
        member=member,
        member_urn=connection.member_urn,
        colour=colour,
        status_text=status_text,
        countdown=_countdown(page, seconds_left),
        ends_on=_utc(connection.expires_at),
        ended=seconds_left is not None and seconds_left <= 0,
        warning=warning,
        reach=reach,
        just_connected=just_connected,
    )


def _health(
    page: AccountPage,
    connection: linkedin_routes.LinkedInConnection,
    member: str,
    seconds_left: float | None,
) -> tuple[str, str, str | None]:
    """The colour, the status in words and the warning to show, if any."""
    if connection.status == "revoked":
        # leadsync's own reasons are in the catalog; another shows as it was recorded.
        reason = page.t(connection.status_reason or "LinkedIn refused its tokens")
        return (
            "red",
            page.t("Revoked"),
            page.t(
                "LinkedIn no longer accepts the connection of {member} ({reason}): no lead comes"
                " in until you reconnect.",
                member=member,
                reason=reason,
            ),
        )
    level = connection.warning_level
    if connection.status != "active" or level == "expired":
        return (
            "red",
            page.t("Expired"),
            page.t(
                "The connection of {member} has ended: no lead comes in until you reconnect.",
                member=member,
            ),
        )
    if level is None or seconds_left is None:
        return "green", page.t("Connected"), None
    return (
        "yellow",
        page.t("Ends soon"),
        page.t(
            "The connection of {member} ends in {left}. Reconnect before {date} to keep leads"
            " coming in.",
            member=member,
            left=_duration(page, seconds_left),
            date=_utc(connection.expires_at) or "",
        ),
    )


def _countdown(page: AccountPage, seconds_left: float | None) -> str | None:
    if seconds_left is None:
        return None
    if seconds_left <= 0:
        return page.t("Ended")
    return page.t("{duration} left", duration=_duration(page, seconds_left))


def _duration(page: AccountPage, seconds: float) -> str:
    """Whole days, with the hours once within the widest warning; hours under a day."""
    days, rest = divmod(int(max(seconds, 0)), _DAY_S)
    hours = rest // _HOUR_S
    if days == 0:
        return _hours(page, hours) if hours else page.t("less than an hour")
    if days >= _HOURS_SHOWN_WITHIN_DAYS or hours == 0:
        return _days(page, days)
    return page.t("{days} and {hours}", days=_days(page, days), hours=_hours(page, hours))


def _days(page: AccountPage, days: int) -> str:
    return page.t("1 day") if days == 1 else page.t("{count} days", count=days)


def _hours(page: AccountPage, hours: int) -> str:
    return page.t("1 hour") if hours == 1 else page.t("{count} hours", count=hours)


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else None
