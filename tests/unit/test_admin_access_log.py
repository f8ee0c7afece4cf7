"""The admin process's access log (uvicorn's, filtered by admin.server) keeps the path
of an OAuth page and drops its query, where the member's browser brings the states and
LinkedIn's code; other routes are logged as uvicorn logs them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from admin.server import HideOAuthQuery, hide_oauth_queries


@pytest.fixture
def access_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger filtered as uvicorn's access log is (not that one: logging stays as it is)."""
    hide_oauth_queries()
    hide_oauth_queries()  # once, however often called
    uvicorn_filters = logging.getLogger("uvicorn.access").filters
    assert [type(f) for f in uvicorn_filters].count(HideOAuthQuery) == 1
    logger = logging.getLogger(f"test.access.{id(uvicorn_filters)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addFilter(HideOAuthQuery())
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    yield logger, written
    logger.removeHandler(handler)


def _request(logger: logging.Logger, method: str, path: str, status: int) -> None:
    # What uvicorn's HTTP protocols log for every answer.
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", method, path, "1.1", status)


def test_an_oauth_pages_query_is_not_logged(
    access_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, written = access_log
    _request(logger, "GET", "/oauth/linkedin/callback?code=AQTx1&state=Zk9s", 200)
    _request(logger, "GET", "/oauth/linkedin/start?state=q8Wn", 200)
    _request(logger, "GET", "/api/contacts?cursor=c2", 400)
    assert written.getvalue().splitlines() == [
        '127.0.0.1:50000 - "GET /oauth/linkedin/callback HTTP/1.1" 200',
        '127.0.0.1:50000 - "GET /oauth/linkedin/start HTTP/1.1" 200',
        '127.0.0.1:50000 - "GET /api/contacts?cursor=c2 HTTP/1.1" 400',
    ]
