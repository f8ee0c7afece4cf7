"""The forms list's status indicator (architecture.md section 5), computed from a form's row.

- grey: Import is off for the form;
- red: Import is on but the LinkedIn connection behind the form is expired or revoked, or
  its refresh token has run out (LinkedIn's end after a year: the integration would stop
  silently);
- yellow: Import is on but the connection's refresh token ends within 30, 7 or 1 days (the
  reason says which warning and when), or no contact was imported or updated for longer
  than ``status_stale_hours`` (counted from when Import went on if nothing came since);
- green: Import is on and working.

And the retention warning (:func:`retention_warning`): LinkedIn keeps leads for a limited
time (90 days for sponsored leads by default), so a form switched on with older submissions
still on LinkedIn and not imported, or whose pulls cannot run (connection broken, failing)
long enough that leads age out before the next pull, is flagged with the date the first
leads will be lost and why.

Pure: the caller passes the clock, so every colour is tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from schemas.connection_events import tightest_threshold

Color = Literal["green", "grey", "yellow", "red"]
BROKEN_CONNECTION = frozenset({"expired", "revoked"})


@dataclass(frozen=True)
class FormHealth:
    """What the indicator reads of a form."""

    import_enabled: bool
    import_enabled_at: datetime | None
    last_imported_at: datetime | None
    connection_status: str | None  # None: no LinkedIn connection recorded for the form
    connection_reason: str | None = None
    # When the connection's refresh token ends (None: unknown, or no connection).
    refresh_expires_at: datetime | None = None


@dataclass(frozen=True)
class Status:
    color: Color
    reason: str


def form_status(health: FormHealth, now: datetime, stale_after: timedelta) -> Status:
    broken = health.connection_status in BROKEN_CONNECTION
    connection = _connection_sentence(health) if broken else ""
    if not health.import_enabled:
        note = f" Note: {connection}" if broken else ""
        return Status("grey", f"Import is off for this form: nothing is imported.{note}")
    if broken:
        return Status("red", f"{connection} Reconnect LinkedIn to resume the periodic sync.")
    expires = health.refresh_expires_at
    if expires is not None and expires <= now:
        return Status(
            "red",
            f"The LinkedIn connection's refresh token expired on {_moment(expires)}: nothing"
            " can be pulled or fetched. Reconnect LinkedIn to resume the periodic sync.",
        )
    warnings = []
    if expires is not None and (warning := token_warning(expires, now)) is not None:
        warnings.append(
            f"The LinkedIn connection's refresh token expires on {_moment(expires)}"
            f" (in {_duration(expires - now)}; the {warning}-day warning):"
            " reconnect LinkedIn before then."
        )
    since = health.last_imported_at or health.import_enabled_at
    if since is not None and now - since > stale_after:
        what = "No contact imported" if health.last_imported_at else "No contact imported yet"
        warnings.append(
            f"{what} for {_duration(now - since)} (threshold {_duration(stale_after)})."
        )
    if warnings:
        return Status("yellow", " ".join(warnings))
    if health.last_imported_at is None:
        return Status("green", "Import is on; waiting for the first lead.")
    return Status("green", "Import is on and working.")


def token_warning(expires_at: datetime, now: datetime) -> int | None:
    """Which warning (30, 7 or 1 days before the refresh token ends) applies now, if any."""
    left = (expires_at - now).total_seconds()
    return tightest_threshold(left) if left > 0 else None


def _connection_sentence(health: FormHealth) -> str:
    reason = f" ({health.connection_reason})" if health.connection_reason else ""
    return f"The LinkedIn connection behind this form is {health.connection_status}{reason}."


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# LinkedIn keeps sponsored leads 90 days by default (some lead types longer, up to the
# retention setting, which also bounds a backfill's window).
SPONSORED_RETENTION_DAYS = 90

RetentionCause = Literal["older_submissions", "pulls_blocked"]


@dataclass(frozen=True)
class RetentionFacts:
    """What the retention warning reads of a form."""

    import_enabled: bool
    import_enabled_at: datetime | None
    created_on_linkedin: datetime | None
    # The oldest lead pushed while Import was off and not imported since.
    oldest_skipped_at: datetime | None
    # A manual import of all submissions succeeded since Import went on.
    backfilled: bool
    # Where the next scheduled pull starts (the leads after it are not imported yet).
    watermark: datetime | None
    owner_urn: str | None
    lead_type: str | None
    connection_status: str | None
    refresh_expires_at: datetime | None
    sync_failures: int
    sync_retry_at: datetime | None


@dataclass(frozen=True)
class RetentionWarning:
    leads_lost_from: datetime
    cause: RetentionCause
    reason: str


def retention_days(lead_type: str | None, owner_urn: str | None, setting_days: int) -> int:
    """How long LinkedIn keeps the form's leads: 90 days for sponsored ones (an ad account's
    form), else the retention setting; never more than the setting."""
    sponsored = lead_type == "SPONSORED" or (
        lead_type is None and owner_urn is not None and ":sponsoredAccount:" in owner_urn
    )
    return min(SPONSORED_RETENTION_DAYS, setting_days) if sponsored else setting_days


def retention_warning(
    facts: RetentionFacts, now: datetime, setting_days: int
) -> RetentionWarning | None:
    """The earliest loss among the two risks, or None:

    - *older submissions*: Import went on (the scheduled pull starts there) while the form
      had older submissions on LinkedIn, some of them still there (LinkedIn had the form
      before, or pushed leads were skipped), and no manual import of all submissions
      succeeded since: they are lost from the oldest one's submission plus the retention;
    - *pulls blocked*: the connection is expired, revoked or its refresh token ended (no
      pull until it is made again), or scheduled pulls keep failing until past the date:
      the leads since the watermark are lost from the watermark plus the retention.
    """
    if not facts.import_enabled:
        return None
    keep = timedelta(days=retention_days(facts.lead_type, facts.owner_urn, setting_days))
    found: list[RetentionWarning] = []
    enabled_at = facts.import_enabled_at
    if enabled_at is not None and not facts.backfilled and enabled_at > now - keep:
        older = [
            at
            for at in (facts.created_on_linkedin, facts.oldest_skipped_at)
            if at is not None and at < enabled_at
        ]
        if older:
            lost = min(older) + keep
            when = "since" if lost <= now else "from"
            found.append(
                RetentionWarning(
                    lost,
                    "older_submissions",
                    f"Submissions older than {_moment(enabled_at)} (when Import went on) are"
                    f" not imported, and LinkedIn deletes them after {keep.days} days:"
                    f" they are lost {when} {_moment(lost)}. Start a manual import with"
                    " all submissions.",
                )
            )
    since = facts.watermark or enabled_at
    if since is not None:
        lost = since + keep
        broken = facts.connection_status in BROKEN_CONNECTION or (
            facts.refresh_expires_at is not None and facts.refresh_expires_at <= now
        )
        failing = facts.sync_failures > 0 and (
            facts.sync_retry_at is None or lost <= facts.sync_retry_at
        )
        if broken or failing:
            what = "the LinkedIn connection is broken" if broken else "the scheduled pulls fail"
            when = "since" if lost <= now else "from"
            found.append(
                RetentionWarning(
                    lost,
                    "pulls_blocked",
                    f"No pull since {_moment(since)} ({what}) and LinkedIn deletes leads"
                    f" after {keep.days} days: the leads since then are lost {when}"
                    f" {_moment(lost)}." + (" Reconnect LinkedIn." if broken else ""),
                )
            )
    return min(found, key=lambda w: w.leads_lost_from) if found else None


def _duration(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 48:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    days, rest = divmod(hours, 24)
    return f"{days} days" + (f" {rest} hour{'' if rest == 1 else 's'}" if rest else "")
