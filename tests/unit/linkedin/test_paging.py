"""Paging to the end of a collection, progress reporting, and time windows."""

from __future__ import annotations

from typing import Any

import pytest

from linkedin import MalformedResponse, Owner, Page, time_windows
from schemas.linkedin import Lead

from .fakes import Script, collection, lead, make_client, ok

OWNER = Owner.sponsored_account(123)


def leads(first: int, n: int) -> list[dict[str, Any]]:
    return [lead(f"lead-{i}") for i in range(first, first + n)]


def starts_and_counts(script: Script) -> list[tuple[str, str]]:
    out = []
    for request in script.requests:
        params = dict(p.split("=", 1) for p in request.url.query.decode().split("&"))
        out.append((params["start"], params["count"]))
    return out


async def collect(script: Script, page_size: int) -> tuple[list[str], list[Page[Lead]]]:
    pages: list[Page[Lead]] = []
    async with make_client(script) as linkedin:
        got = [
            x.id
            async for x in linkedin.iter_leads(
                OWNER, "SPONSORED", 0, 10, page_size=page_size, on_page=pages.append
            )
        ]
    return got, pages


async def test_total_not_a_multiple_of_count_stops_at_the_short_page() -> None:
    script = Script(
        collection(leads(0, 3), 0, 3, total=7),
        collection(leads(3, 3), 3, 3, total=7),
        collection(leads(6, 1), 6, 3, total=7),
    )
    got, pages = await collect(script, 3)
    assert got == [f"lead-{i}" for i in range(7)]
    assert starts_and_counts(script) == [("0", "3"), ("3", "3"), ("6", "3")]
    assert [(p.number, p.start, p.total, len(p.elements)) for p in pages] == [
        (1, 0, 7, 3),
        (2, 3, 7, 3),
        (3, 6, 7, 1),
    ]


async def test_empty_result_is_one_call() -> None:
    script = Script(collection([], 0, 5, total=0))
    got, pages = await collect(script, 5)
    assert got == []
    assert len(script.requests) == 1
    assert pages[0].total == 0


async def test_full_last_page_is_followed_by_an_empty_page() -> None:
    script = Script(
        collection(leads(0, 2), 0, 2, total=4),
        collection(leads(2, 2), 2, 2, total=4),
        collection([], 4, 2, total=4),
    )
    got, _ = await collect(script, 2)
    assert got == ["lead-0", "lead-1", "lead-2", "lead-3"]
    assert starts_and_counts(script) == [("0", "2"), ("2", "2"), ("4", "2")]


async def test_total_is_not_trusted_to_stop_early() -> None:
    # LinkedIn's total is for progress; a page as long as asked means there may be more.
    script = Script(collection(leads(0, 2), 0, 2, total=1), collection([], 2, 2, total=1))
    got, _ = await collect(script, 2)
    assert got == ["lead-0", "lead-1"]
    assert len(script.requests) == 2


async def test_missing_total_is_reported_as_unknown() -> None:
    script = Script(ok({"elements": leads(0, 1)}))
    got, pages = await collect(script, 10)
    assert got == ["lead-0"]
    assert pages[0].total is None


async def test_server_capped_page_size_is_not_mistaken_for_the_end() -> None:
    script = Script(
        collection(leads(0, 2), 0, 2),  # asked for 5, LinkedIn served 2 and says count=2
        collection(leads(2, 2), 2, 2),
        collection(leads(4, 1), 4, 2),
    )
    got, _ = await collect(script, 5)
    assert got == [f"lead-{i}" for i in range(5)]
    assert starts_and_counts(script) == [("0", "5"), ("2", "5"), ("4", "5")]


async def test_a_lead_that_does_not_parse_is_rejected_not_dropped_silently() -> None:
    broken = {"id": "bad-1", "submittedAt": "yesterday"}
    script = Script(collection([lead("good-1"), broken, lead("good-2")], 0, 5))
    got, pages = await collect(script, 5)
    assert got == ["good-1", "good-2"]
    (rejected,) = pages[0].rejected
    assert rejected.raw == broken
    assert "versionedLeadGenFormUrn" in rejected.reason
    assert "submittedAt" in rejected.reason
    assert "yesterday" not in rejected.reason  # reasons name fields, never values
    assert [r["id"] for r in pages[0].raw] == ["good-1", "bad-1", "good-2"]


async def test_a_page_without_elements_is_malformed() -> None:
    script = Script(ok({"paging": {"start": 0, "count": 10}}))
    with pytest.raises(MalformedResponse, match="elements"):
        await collect(script, 10)


async def test_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="page_size"):
        await collect(Script(), 0)


async def test_forms_page_to_the_end_too() -> None:
    forms = [{"id": i, "name": f"f{i}"} for i in range(3)]
    script = Script(collection(forms[:2], 0, 2), collection(forms[2:], 2, 2))
    async with make_client(script) as linkedin:
        got = [f.id async for f in linkedin.iter_forms(OWNER, page_size=2)]
    assert got == [0, 1, 2]
    assert starts_and_counts(script) == [("0", "2"), ("2", "2")]


def test_time_windows_cover_the_range_with_overlap() -> None:
    assert list(time_windows(0, 100, window_ms=40, overlap_ms=10)) == [
        (0, 40),
        (30, 70),
        (60, 100),
    ]
    assert list(time_windows(0, 80, window_ms=40)) == [(0, 40), (40, 80)]
    assert list(time_windows(5, 5, window_ms=40)) == [(5, 5)]
    assert list(time_windows(0, 10, window_ms=40)) == [(0, 10)]


@pytest.mark.parametrize(
    ("start", "end", "window", "overlap"),
    [(0, 1, 0, 0), (0, 1, 10, 10), (0, 1, 10, -1), (2, 1, 10, 0)],
)
def test_time_windows_refuse_nonsense(start: int, end: int, window: int, overlap: int) -> None:
    with pytest.raises(ValueError, match=r"window_ms|overlap_ms|starts after"):
        list(time_windows(start, end, window_ms=window, overlap_ms=overlap))
