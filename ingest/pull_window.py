"""Which submissions a sync run asks LinkedIn for: pure functions of the form and the run.

- scheduled: from the watermark (minus the overlap) to now;
- manual: the same window ("since the last run"), or with *all submissions* from the form's
  creation on LinkedIn, never further back than LinkedIn's retention;
- a form that never ran starts at the moment Import was switched on (older leads come in
  through a manual import with *all submissions*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.envelopes import SyncOptions, SyncTrigger


@dataclass(frozen=True)
class FormPullState:
    form_id: int
    import_enabled: bool
    watermark: datetime | None
    import_enabled_at: datetime | None
    created_on_linkedin: datetime | None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def epoch_ms(self) -> tuple[int, int]:
        return int(self.start.timestamp() * 1000), int(self.end.timestamp() * 1000)


def plan_window(
    form: FormPullState,
    trigger: SyncTrigger,
    options: SyncOptions,
    now: datetime,
    overlap: timedelta,
    retention: timedelta,
) -> Window:
    oldest = now - retention
    if trigger is SyncTrigger.MANUAL and options.all_submissions:
        start = max(form.created_on_linkedin or oldest, oldest)
    else:
        since = form.watermark or form.import_enabled_at or now
        start = max(since - overlap, oldest)
    return Window(start=min(start, now), end=now)


def next_watermark(current: datetime | None, window: Window) -> datetime | None:
    """Advance only over a window that covers everything since the current watermark."""
    if current is None or window.start <= current:
        return max(current or window.end, window.end)
    return current
