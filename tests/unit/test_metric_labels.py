"""Label values stay bounded whatever the traffic: LinkedIn endpoints by template, origins
and codes from a fixed shape (``leadsync.metrics``)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadsync import metrics
from linkedin.call_metrics import count_call, endpoint


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/rest/leadFormResponses", "GET /leadFormResponses"),
        (
            "GET",
            "/rest/leadFormResponses/urn%3Ali%3AleadGenFormResponse%3A1234-5678",
            "GET /leadFormResponses/{id}",
        ),
        ("GET", "/rest/leadForms/7234246", "GET /leadForms/{id}"),
        ("GET", "/rest/adAccounts/507404993", "GET /adAccounts/{id}"),
        ("GET", "/rest/adAccountUsers", "GET /adAccountUsers"),
        ("DELETE", "/rest/leadNotifications/99", "DELETE /leadNotifications/{id}"),
        ("POST", "/rest/leadNotifications", "POST /leadNotifications"),
        ("GET", "/v2/userinfo", "GET /userinfo"),
        ("POST", "/oauth/v2/accessToken", "POST /accessToken"),
        ("GET", "/rest/somethingNew/123", "GET other"),
    ],
)
def test_a_linkedin_call_is_named_by_its_endpoint_template(
    method: str, path: str, expected: str
) -> None:
    assert endpoint(method, path) == expected


def _calls() -> dict[tuple[str, str], float]:
    text = metrics.exposition(metrics.REGISTRY).decode()
    return {
        (s.labels["endpoint"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "leadsync_linkedin_calls"
        for s in family.samples
        if s.name.endswith("_total")
    }


def test_calls_are_counted_by_template_and_status_without_the_ids() -> None:
    before = _calls()
    lead = "urn:li:leadGenFormResponse:0a1b2c3d-lead"
    request = httpx.Request("GET", f"https://api.linkedin.com/rest/leadFormResponses/{lead}")
    count_call(request, 200)
    count_call(request, 429)
    count_call(request, None)
    after = _calls()
    key = "GET /leadFormResponses/{id}"
    for status in ("200", "429", "unreachable"):
        assert after[(key, status)] == before.get((key, status), 0) + 1
    assert "0a1b2c3d" not in metrics.exposition(metrics.REGISTRY).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("push", "push"),
        ("schedule", "schedule"),
        (None, "unknown"),
        ("urn:li:sponsoredAccount:1", "other"),
    ],
)
def test_an_origin_outside_the_three_reads_other(value: str | None, expected: str) -> None:
    assert metrics.origin(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("identity_not_mapped", "identity_not_mapped"),
        ("form 7234246 is gone", "other"),
        ("A" * 10, "other"),
        ("x" * 60, "other"),
    ],
)
def test_a_code_that_does_not_look_like_one_reads_other(value: str, expected: str) -> None:
    assert metrics.bounded(value) == expected
