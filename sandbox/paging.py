"""Rest.li collection paging: ``start``/``count`` in, ``paging`` and a page body out.

A page is ``{"elements": [...], "paging": {"start", "count", "total", "links"}}``; the
elements arrive already serialised, so a page of cached lead JSON is one ``bytes.join``.
``links`` carries ``next`` and ``prev`` hrefs that are the request's own raw query string
with ``start`` moved, so they keep the caller's exact Rest.li encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from sandbox.leads import dumps
from sandbox.restli import RestliSyntaxError, parse_int

DEFAULT_COUNT = 10  # Rest.li's default page size


@dataclass(frozen=True)
class Page:
    start: int
    count: int


def page_params(params: dict[str, str], max_count: int) -> Page:
    start = parse_int("start", params["start"]) if "start" in params else 0
    # count=0 would make "next" point at the same page forever.
    count = parse_int("count", params["count"], minimum=1) if "count" in params else DEFAULT_COUNT
    if count > max_count:
        raise RestliSyntaxError(f"parameter 'count': at most {max_count} per page")
    return Page(start, count)


def links(path: str, raw_query: str, page: Page, returned: int, total: int) -> list[dict[str, Any]]:
    result = []

    def href(start: int) -> str:
        query = re.sub(r"(^|&)start=[^&]*", "", raw_query).lstrip("&")
        return f"{path}?{query}&start={start}" if query else f"{path}?start={start}"

    if page.start + returned < total:
        result.append(_link("next", href(page.start + page.count)))
    if page.start > 0:
        result.append(_link("prev", href(max(0, page.start - page.count))))
    return result


def _link(rel: str, href: str) -> dict[str, str]:
    return {"rel": rel, "href": href, "type": "application/json"}


def page_response(
    elements: bytes, returned: int, page: Page, total: int, path: str, raw_query: str
) -> Response:
    """``elements`` is the inside of the JSON array: ``returned`` elements, comma-joined."""
    paging = {
        "start": page.start,
        "count": page.count,
        "total": total,
        "links": links(path, raw_query, page, returned, total),
    }
    body = b"".join((b'{"elements":[', elements, b'],"paging":', dumps(paging), b"}"))
    return Response(body, media_type="application/json")


def json_response(
    value: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        dumps(value), status_code=status, headers=headers, media_type="application/json"
    )
