"""Contract: the finder pages through 100,000 leads with the right ``paging.total``.

The walk projects a few fields: parsing 100 pages of full leads (each carrying its form)
would cost the test client ~20 s of JSON decoding; the projection path itself is covered
by the other contract tests, and ``bench/sandbox_pages.py`` measures full pages.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.contract.conftest import ACCOUNT, Sandbox

LEADS = 100_000
PAGE = 1000


def test_finder_pages_through_100000_leads(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    created = sandbox.control(
        "POST", "/leads/preload", {"count": LEADS, "spreadDays": 150, "formId": 7234246}
    )
    assert created["leads"] == LEADS
    token = sandbox.token()
    seen: set[str] = set()
    previous = 0
    start = 0
    pages = 0
    while True:
        query = (
            f"leadFormResponses?q=owner&owner=(sponsoredAccount:{ACCOUNT})"
            "&leadType=(leadType:SPONSORED)&limitedToTestLeads=false"
            "&submittedAtTimeRange=(start:0,end:4102444800000)"
            f"&fields=id,submittedAt,versionedLeadGenFormUrn&count={PAGE}&start={start}"
        )
        response = sandbox.rest("GET", query, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["paging"]["total"] == LEADS
        page = body["elements"]
        pages += 1
        times = [e["submittedAt"] for e in page]
        assert times == sorted(times)
        assert not times or times[0] >= previous
        previous = times[-1] if times else previous
        seen.update(e["id"] for e in page)
        if len(page) < PAGE:
            break
        start += PAGE
    assert len(seen) == LEADS
    assert pages == LEADS // PAGE + 1  # the end is the first page shorter than count
    assert body["paging"]["links"] == [
        {"rel": "prev", "href": body["paging"]["links"][0]["href"], "type": "application/json"}
    ]
