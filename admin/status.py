"""The forms list's status indicator (architecture.md section 5), computed from a form's row.

- grey: Import is off for the form;
- red: Import is on but the LinkedIn connection behind the form is expired or revoked, or
  its refresh token has run out (LinkedIn's end after a year: the integration would stop
  silently);
- yellow: Import is on but the connection's refresh token ends within 30, 7 or 1 days (the
  reason says which warning and when), or no contact was imported or updated for longer
  than ``status_stale_hours`` (counted from when Import went on if nothing came since);
- green: Import is on and working.

A status's reason is made of :class:`Phrase` objects: English templates with
``{placeholders}`` (the console catalog's keys) and their values (dates, durations, nested
phrases). The API shows them in English (:attr:`Status.reason`); the console renders them
with its catalog (:meth:`Status.text`), so an Italian user reads them in Italian.

And the retention warning (:func:`retention_warning`): LinkedIn keeps leads for a limited
time (90 days for sponsored leads by default), so a form switched on with older submissions
still on LinkedIn and not imported, or whose pulls cannot run (connection broken, failing)
long enough that leads age out before the next pull, is flagged with the date the first
leads will be lost and why.

Pure: the caller passes the clock, so every colour is tested without waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from schemas.connection_events import tightest_threshold

Color = Literal["green", "grey", "yellow", "red"]
BROKEN_CONNECTION = frozenset({"expired", "revoked"})


class Translate(Protocol):
    """A text (English, the catalog's key) in a language, ``{placeholders}`` filled."""

    def __call__(self, text: str, **params: Any) -> str: ...


def english(text: str, **params: Any) -> str:
    """The text itself, placeholders filled: the catalog's keys are the English texts."""
    return text.format(**params) if params else text


@dataclass(frozen=True)
class Phrase:
    """An English template (the console catalog's key) and its placeholders' values. One
    without params is never formatted: a connection's recorded reason shows as it is."""

    text: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def render(self, translate: Translate = english) -> str:
        """In ``translate``'s language: dates as the console shows them (UTC, to the minute,
        the same in every language), durations and nested phrases translated."""
        values = {name: _value(value, translate) for name, value in self.params.items()}
        return translate(self.text, **values)


# What a placeholder holds: a date, a duration, a nested phrase, or a value shown as it is.
Param = str | int | datetime | timedelta | Phrase


def _value(value: Param, translate: Translate) -> str | int:
    if isinstance(value, Phrase):
        return value.render(translate)
    if isinstance(value, datetime):
        return _moment(value)
    if isinstance(value, timedelta):
        return _duration(value, translate)
    return value


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

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> FormHealth:
        """From a form's row as ``sinks.form_settings`` reads it."""
        return cls(
            import_enabled=row["import_enabled"],
            import_enabled_at=row["import_enabled_at"],
            last_imported_at=row["last_imported_at"],
            connection_status=row["connection_status"],
            connection_reason=row["connection_reason"],
            refresh_expires_at=row["connection_refresh_expires_at"],
        )


@dataclass(frozen=True)
class Status:
    """The indicator's colour and why, in phrases."""

    color: Color
    phrases: tuple[Phrase, ...]

    @property
    def reason(self) -> str:
        """Why, in English: the API's ``reason``."""
        return self.text(english)

    def text(self, translate: Translate) -> str:
        """Why, in ``translate``'s language."""
        return " ".join(phrase.render(translate) for phrase in self.phrases)


_IMPORT_OFF = "Import is off for this form: nothing is imported."
_NOTE = "Note: {connection}"
_RECONNECT_TO_RESUME = "Reconnect LinkedIn to resume the periodic sync."
_REFRESH_ENDED = (
    "The LinkedIn connection's refresh token expired on {ended_on}: nothing can be pulled or"
    " fetched."
)
_REFRESH_ENDING = (
    "The LinkedIn connection's refresh token expires on {ends_on} (in {left}; {warning}):"
    " reconnect LinkedIn before then."
)
_REFRESH_WARNINGS = {
    30: "the 30-day warning",
    7: "the 7-day warning",
    1: "the 1-day warning",
}
_NOTHING_IMPORTED = "No contact imported for {since} (threshold {threshold})."
_NOTHING_IMPORTED_YET = "No contact imported yet for {since} (threshold {threshold})."
_WAITING = "Import is on; waiting for the first lead."
_WORKING = "Import is on and working."
# A broken connection's sentence, by its status (BROKEN_CONNECTION): without and with its
# recorded reason.
_BROKEN = {
    "expired": (
        "The LinkedIn connection behind this form is expired.",
        "The LinkedIn connection behind this form is expired ({reason}).",
    ),
    "revoked": (
        "The LinkedIn connection behind this form is revoked.",
        "The LinkedIn connection behind this form is revoked ({reason}).",
    ),
}
# Durations: whole hours under two days, else days and the hours left over.
_HOUR, _HOURS, _DAYS, _DAYS_AND_HOURS = "1 hour", "{count} hours", "{count} days", "{days} {hours}"


def form_status(health: FormHealth, now: datetime, stale_after: timedelta) -> Status:
    broken = _broken_connection(health)
    if not health.import_enabled:
        note = (Phrase(_NOTE, {"connection": broken}),) if broken else ()
        return Status("grey", (Phrase(_IMPORT_OFF), *note))
    if broken:
        return Status("red", (broken, Phrase(_RECONNECT_TO_RESUME)))
    expires = health.refresh_expires_at
    if expires is not None and expires <= now:
        ended = Phrase(_REFRESH_ENDED, {"ended_on": expires})
        return Status("red", (ended, Phrase(_RECONNECT_TO_RESUME)))
    warnings = []
    if expires is not None and (warning := token_warning(expires, now)) is not None:
        left = expires - now
        which = Phrase(_REFRESH_WARNINGS[warning])
        warnings.append(
            Phrase(_REFRESH_ENDING, {"ends_on": expires, "left": left, "warning": which})
        )
    since = health.last_imported_at or health.import_enabled_at
    if since is not None and now - since > stale_after:
        what = _NOTHING_IMPORTED if health.last_imported_at else _NOTHING_IMPORTED_YET
        warnings.append(Phrase(what, {"since": now - since, "threshold": stale_after}))
    if warnings:
        return Status("yellow", tuple(warnings))
    if health.last_imported_at is None:
        return Status("green", (Phrase(_WAITING),))
    return Status("green", (Phrase(_WORKING),))


def token_warning(expires_at: datetime, now: datetime) -> int | None:
    """Which warning (30, 7 or 1 days before the refresh token ends) applies now, if any."""
    left = (expires_at - now).total_seconds()
    return tightest_threshold(left) if left > 0 else None


def _broken_connection(health: FormHealth) -> Phrase | None:
    """That the connection is expired or revoked, and why when that was recorded; None when
    it is neither."""
    sentences = _BROKEN.get(health.connection_status or "")
    if sentences is None:
        return None
    bare, with_reason = sentences
    if not health.connection_reason:
        return Phrase(bare)
    # The recorded reason is translated when the catalog knows it (leadsync's own).
    return Phrase(with_reason, {"reason": Phrase(health.connection_reason)})


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


def _duration(delta: timedelta, translate: Translate = english) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 48:
        return _hours(hours, translate)
    days, rest = divmod(hours, 24)
    in_days = translate(_DAYS, count=days)
    return (
        translate(_DAYS_AND_HOURS, days=in_days, hours=_hours(rest, translate)) if rest else in_days
    )


def _hours(hours: int, translate: Translate) -> str:
    return translate(_HOUR) if hours == 1 else translate(_HOURS, count=hours)
