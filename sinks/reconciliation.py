"""Reconciliation: for each form and day, what LinkedIn holds against what its push brought
(issue #13, point 7).

Every lead an account sees is a *sighting*: by pull (a scheduled or manual import read it
from LinkedIn's finder) or by push (a notification for it reached the hydrator). Each lead
is one row of ``lead_sightings`` per account, counting its pulls and its pushes, on the day
it was submitted (UTC). From them, per form and day:

- ``on_linkedin``: the leads the pulls found, i.e. what LinkedIn holds;
- ``by_push``: the leads at least one notification came for;
- ``only_by_pull``: the leads the pulls found and no notification announced (the push lost
  them; the pull made them whole);
- ``duplicates``: notifications beyond the first for a lead (LinkedIn delivered it again;
  leadsync absorbed it).

Pushes are counted by the hydrator, every notification for a lead it routes to an account:
those it fetches and publishes, and those it drops because the account holds the lead
already (:func:`push_sighting`). Pulls are counted by the import, once per batch
(:func:`pull_sightings` then :func:`record_sightings`): one statement, none when the batch
holds no pulled lead. A lead a notification announced but whose day is only known from the
notification (dropped before it was fetched) takes the lead's own day as soon as a pull or
a fetch gives it.

A pull covering a lead again (overlapping windows, a manual import) adds to its ``pulls``
but changes no figure: figures count leads, except ``duplicates``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from schemas.envelopes import Origin, RawLead

PULL = "pull"
PUSH = "push"


@dataclass(frozen=True)
class Sighting:
    """A lead seen once by an account: by ``pull`` or ``push``, on ``day`` (UTC), exactly
    (from the lead's submission time) or not (from a notification's)."""

    account_id: int
    form_id: int
    lead_id: str
    day: date
    origin: str
    exact: bool = True


@dataclass(frozen=True)
class ReconciliationDay:
    day: date
    on_linkedin: int
    by_push: int
    only_by_pull: int
    duplicates: int


def day_of(epoch_ms: int | float) -> date:
    """The UTC day of a LinkedIn time (milliseconds since the epoch)."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


def pull_sightings(leads: Iterable[RawLead]) -> list[Sighting]:
    """The sightings of the pulled leads among these (their account named): what the import
    records. Pushed leads are the hydrator's to count."""
    found = []
    for raw in leads:
        if raw.origin == Origin.PUSH or raw.account_id is None:
            continue
        form_id, _ = raw.lead.form_version()
        found.append(
            Sighting(raw.account_id, form_id, raw.lead.id, day_of(raw.lead.submitted_at), PULL)
        )
    return found


def push_sighting(
    account_id: int, form_id: int, lead_id: str, epoch_ms: int | float, exact: bool
) -> Sighting:
    """A notification's lead seen by an account: on the lead's submission day (``exact``)
    or, when it was not fetched, on the notification's."""
    return Sighting(account_id, form_id, lead_id, day_of(epoch_ms), PUSH, exact)


RECORD_SIGHTINGS = """
INSERT INTO lead_sightings AS s (account_id, lead_id, form_id, day, day_exact, pulls, pushes)
SELECT x.account_id, x.lead_id, x.form_id, x.day, x.exact, x.pulls, x.pushes
FROM jsonb_to_recordset(%s::jsonb) AS x(account_id bigint, lead_id text, form_id bigint,
     day date, exact boolean, pulls integer, pushes integer)
ON CONFLICT (account_id, lead_id) DO UPDATE SET
    pulls = s.pulls + excluded.pulls,
    pushes = s.pushes + excluded.pushes,
    day = CASE WHEN excluded.day_exact THEN excluded.day ELSE s.day END,
    day_exact = s.day_exact OR excluded.day_exact,
    last_seen_at = now()
"""


def _merged(sightings: Iterable[Sighting]) -> list[dict[str, Any]]:
    """One row per (account, lead): an upsert may not touch a row twice. An exact day wins
    over a guessed one."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for s in sightings:
        row = rows.get((s.account_id, s.lead_id))
        if row is None:
            row = rows[(s.account_id, s.lead_id)] = {
                "account_id": s.account_id,
                "lead_id": s.lead_id,
                "form_id": s.form_id,
                "day": s.day.isoformat(),
                "exact": s.exact,
                "pulls": 0,
                "pushes": 0,
            }
        elif s.exact and not row["exact"]:
            row["day"], row["exact"] = s.day.isoformat(), True
        row["pulls" if s.origin == PULL else "pushes"] += 1
    return list(rows.values())


async def record_sightings(conn: AsyncConnection[Any], sightings: Iterable[Sighting]) -> int:
    """Count these sightings, in one statement (none when there are none); the accounts
    they name must be in hand. Returns the number of leads touched."""
    rows = _merged(sightings)
    if not rows:
        return 0
    cur = await conn.execute(RECORD_SIGHTINGS, (json.dumps(rows),))
    return cur.rowcount


_RECONCILIATION = """
SELECT d.day::date,
       count(s.lead_id) FILTER (WHERE s.pulls > 0),
       count(s.lead_id) FILTER (WHERE s.pushes > 0),
       count(s.lead_id) FILTER (WHERE s.pulls > 0 AND s.pushes = 0),
       coalesce(sum(greatest(s.pushes - 1, 0)), 0)
FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d(day)
LEFT JOIN lead_sightings s ON s.form_id = %(form)s AND s.day = d.day::date
GROUP BY d.day
ORDER BY d.day
"""


async def reconciliation(
    conn: AsyncConnection[Any], form_id: int, days: int, today: date | None = None
) -> list[ReconciliationDay]:
    """The form's figures for each of the last ``days`` days (today, UTC, included), oldest
    first, days without leads included; of the account in hand."""
    last = today or datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    cur = await conn.execute(_RECONCILIATION, {"form": form_id, "first": first, "last": last})
    return [ReconciliationDay(*row) for row in await cur.fetchall()]
