"""The forms list's status indicator (architecture.md section 5), computed from a form's row.

- grey: Import is off for the form;
- red: Import is on but the LinkedIn connection behind the form is expired or revoked;
- yellow: Import is on but no contact was imported or updated for longer than
  ``status_stale_hours`` (counted from when Import went on if nothing came since);
- green: Import is on and working.

Pure: the caller passes the clock, so every colour is tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

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
    since = health.last_imported_at or health.import_enabled_at
    if since is not None and now - since > stale_after:
        what = "No contact imported" if health.last_imported_at else "No contact imported yet"
        return Status(
            "yellow", f"{what} for {_duration(now - since)} (threshold {_duration(stale_after)})."
        )
    if health.last_imported_at is None:
        return Status("green", "Import is on; waiting for the first lead.")
    return Status("green", "Import is on and working.")


def _connection_sentence(health: FormHealth) -> str:
    reason = f" ({health.connection_reason})" if health.connection_reason else ""
    return f"The LinkedIn connection behind this form is {health.connection_status}{reason}."


def _duration(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 48:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    days, rest = divmod(hours, 24)
    return f"{days} days" + (f" {rest} hour{'' if rest == 1 else 's'}" if rest else "")
