"""Walking a Rest.li collection to its end, and cutting long time ranges into windows.

The end of a collection is the first page with fewer elements than were asked for (an empty
page included); ``paging.total`` is reported for progress but never trusted to stop early.
If LinkedIn answers with a smaller ``paging.count`` than requested, it capped the page size:
that smaller count is then used both to detect the end and to step ``start``, so a server
cap can never be mistaken for the last page.

One element that does not fit its model does not stop the walk: it is kept, raw, in
``Page.rejected`` with the reason, for the caller to report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from linkedin.errors import MalformedResponse

M = TypeVar("M", bound=BaseModel)

FetchPage = Callable[[int, int], Awaitable[dict[str, Any]]]
"""Fetches the page at (start, count) and returns the decoded JSON body."""


@dataclass(frozen=True)
class Rejected:
    raw: Any
    reason: str


@dataclass(frozen=True)
class Page(Generic[M]):
    number: int
    """1-based position of this page in the walk."""
    start: int
    count: int
    total: int | None
    """LinkedIn's ``paging.total``, when it sent one."""
    elements: list[M]
    raw: list[dict[str, Any]] = field(default_factory=list)
    """Every element as received, in order, including the rejected ones."""
    rejected: list[Rejected] = field(default_factory=list)


def elements(body: dict[str, Any]) -> list[Any]:
    """A collection answer's ``elements``."""
    found = body.get("elements")
    if not isinstance(found, list):
        raise MalformedResponse("LinkedIn's collection answer has no elements list")
    return found


def parse_page(
    body: dict[str, Any], model: type[M], *, number: int, start: int, count: int
) -> Page[M]:
    paging = body.get("paging")
    total = paging.get("total") if isinstance(paging, dict) else None
    parsed: list[M] = []
    raw: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for element in elements(body):
        if isinstance(element, dict):
            raw.append(element)
        try:
            parsed.append(model.model_validate(element))
        except ValidationError as exc:
            rejected.append(Rejected(element, _reason(exc)))
    return Page(
        number=number,
        start=start,
        count=count,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        elements=parsed,
        raw=raw,
        rejected=rejected,
    )


async def iter_pages(
    fetch: FetchPage, model: type[M], *, page_size: int, start: int = 0
) -> AsyncIterator[Page[M]]:
    """Every page from ``start`` to the end of the collection."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    number = 0
    while True:
        number += 1
        body = await fetch(start, page_size)
        page = parse_page(body, model, number=number, start=start, count=page_size)
        yield page
        step = _served_count(body, page_size)
        received = len(body["elements"])
        if received < step:
            return
        start += step


def _served_count(body: dict[str, Any], requested: int) -> int:
    paging = body.get("paging")
    served = paging.get("count") if isinstance(paging, dict) else None
    if isinstance(served, int) and not isinstance(served, bool) and 0 < served < requested:
        return served
    return requested


def _reason(exc: ValidationError) -> str:
    # Field locations and messages only: pydantic's default text would echo the input.
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'element'}: {e['msg']}" for e in exc.errors()
    )


def time_windows(
    start_ms: int, end_ms: int, *, window_ms: int, overlap_ms: int = 0
) -> Iterator[tuple[int, int]]:
    """``[start_ms, end_ms]`` cut into windows of at most ``window_ms``, each reaching back
    ``overlap_ms`` into the previous one. Bound inclusiveness is undocumented, so callers
    overlap and let dedupe drop the repeats."""
    if window_ms <= 0:
        raise ValueError("window_ms must be positive")
    if not 0 <= overlap_ms < window_ms:
        raise ValueError("overlap_ms must be at least 0 and less than window_ms")
    if start_ms > end_ms:
        raise ValueError(f"time range starts after it ends: {start_ms} > {end_ms}")
    low = start_ms
    while True:
        high = min(low + window_ms, end_ms)
        yield low, high
        if high >= end_ms:
            return
        low = high - overlap_ms
