"""The leads, indexed so that a finder page is a bisect and a slice, never a scan.

Each lead is entered in four time-ordered indexes: (owner, lead type), the same restricted
to test leads, and both again per form version; plus one global index that retention
uses. Every index is sorted by ``submittedAt`` (ties in insertion order), so:

- a ``submittedAtTimeRange`` window is two bisects, ``paging.total`` their difference, and a
  ``start``/``count`` page a slice: O(log n + count) whatever the number of leads;
- leads past retention are a prefix of every index, dropped with one slice deletion each.

Windows are half-open: ``start`` inclusive, ``end`` exclusive (LinkedIn does not say;
clients overlap their windows and dedupe anyway). Pages are oldest first, so a page
boundary does not move when newer leads arrive during a backfill.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from sandbox.leads import LeadRecord

IndexKey = tuple[str, str, str | None, bool]  # (owner URN, lead type, version URN, tests only)


class TimeIndex:
    """Lead ids sorted by submission time."""

    __slots__ = ("ids", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.ids: list[str] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, at_ms: int, lead_id: str) -> None:
        if not self.times or at_ms >= self.times[-1]:
            # Live leads arrive in time order: the common case is an append.
            self.times.append(at_ms)
            self.ids.append(lead_id)
            return
        position = bisect_right(self.times, at_ms)
        self.times.insert(position, at_ms)
        self.ids.insert(position, lead_id)

    def remove(self, at_ms: int, lead_id: str) -> None:
        position = bisect_left(self.times, at_ms)
        while self.ids[position] != lead_id:
            position += 1
        del self.times[position]
        del self.ids[position]

    def window(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Positions [lo, hi) of the leads with start_ms <= submittedAt < end_ms."""
        return bisect_left(self.times, start_ms), bisect_left(self.times, end_ms)

    def drop_before(self, cutoff_ms: int) -> list[str]:
        position = bisect_left(self.times, cutoff_ms)
        dropped = self.ids[:position]
        del self.times[:position]
        del self.ids[:position]
        return dropped


@dataclass(frozen=True)
class LeadQuery:
    owner_urn: str
    lead_type: str
    version_urn: str | None
    tests_only: bool
    start_ms: int
    end_ms: int


class LeadStore:
    """All leads by id, plus the time indexes the finder reads."""

    def __init__(self) -> None:
        self.by_id: dict[str, LeadRecord] = {}
        self._indexes: dict[IndexKey, TimeIndex] = {}
        self._all = TimeIndex()

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, lead_id: str) -> LeadRecord | None:
        return self.by_id.get(lead_id)

    def add(self, lead: LeadRecord) -> None:
        if lead.id in self.by_id:
            raise ValueError(f"lead {lead.id} exists")
        self.by_id[lead.id] = lead
        self._all.add(lead.submitted_at, lead.id)
        for key in _keys(lead):
            index = self._indexes.get(key)
            if index is None:
                index = self._indexes[key] = TimeIndex()
            index.add(lead.submitted_at, lead.id)

    def remove(self, lead_id: str) -> LeadRecord | None:
        lead = self.by_id.pop(lead_id, None)
        if lead is None:
            return None
        self._all.remove(lead.submitted_at, lead.id)
        for key in _keys(lead):
            self._indexes[key].remove(lead.submitted_at, lead.id)
        return lead

    def drop_before(self, cutoff_ms: int) -> int:
        """Forget every lead submitted before ``cutoff_ms`` (retention); returns how many."""
        dropped = self._all.drop_before(cutoff_ms)
        if dropped:
            for index in self._indexes.values():
                index.drop_before(cutoff_ms)
            for lead_id in dropped:
                del self.by_id[lead_id]
        return len(dropped)

    def find(self, query: LeadQuery, start: int, count: int) -> tuple[list[LeadRecord], int]:
        """The page [start, start+count) of the matching leads, and how many match in all."""
        key = (query.owner_urn, query.lead_type, query.version_urn, query.tests_only)
        index = self._indexes.get(key)
        if index is None:
            return [], 0
        lo, hi = index.window(query.start_ms, query.end_ms)
        first = min(lo + start, hi)
        last = min(first + count, hi)
        return [self.by_id[i] for i in index.ids[first:last]], hi - lo

    def all(self) -> list[LeadRecord]:
        """Every lead, oldest first."""
        return [self.by_id[i] for i in self._all.ids]


def _keys(lead: LeadRecord) -> list[IndexKey]:
    keys: list[IndexKey] = [
        (lead.owner_urn, lead.lead_type, None, False),
        (lead.owner_urn, lead.lead_type, lead.form_urn, False),
    ]
    if lead.test_lead:
        keys += [
            (lead.owner_urn, lead.lead_type, None, True),
            (lead.owner_urn, lead.lead_type, lead.form_urn, True),
        ]
    return keys
