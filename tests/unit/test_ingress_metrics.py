"""The receiver's metrics as Prometheus scrapes them."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ingest.webhook.metrics import IngressMetrics


def _samples(metrics: IngressMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_outcomes_variants_and_accept_times_are_exposed() -> None:
    metrics = IngressMetrics()
    for outcome in ("accepted", "accepted", "bad_signature"):
        metrics.count(outcome)
    metrics.count_variant("a")
    for seconds in (0.001, 0.002, 0.003, 0.3, 9.0):
        metrics.observe_accept(seconds)

    samples = _samples(metrics)
    assert samples[("leadsync_ingress_requests_total", (("outcome", "accepted"),))] == 2
    assert samples[("leadsync_ingress_requests_total", (("outcome", "bad_signature"),))] == 1
    assert samples[("leadsync_ingress_signature_variant_total", (("variant", "a"),))] == 1
    buckets = {
        labels[0][1]: value
        for (name, labels), value in samples.items()
        if name == "leadsync_ingress_accept_seconds_bucket"
    }
    # Cumulative, an upper bound counting the value equal to it.
    assert buckets["0.002"] == 2
    assert buckets["0.005"] == 3
    assert buckets["0.25"] == 3
    assert buckets["0.5"] == 4
    assert buckets["5.0"] == 4
    assert buckets["+Inf"] == 5
    assert samples[("leadsync_ingress_accept_seconds_count", ())] == 5
    assert abs(samples[("leadsync_ingress_accept_seconds_sum", ())] - 9.306) < 1e-9


def test_nothing_counted_yet_still_exposes_the_families() -> None:
    text = generate_latest(IngressMetrics().registry).decode()
    assert "# TYPE leadsync_ingress_requests_total counter" in text
    assert 'leadsync_ingress_accept_seconds_bucket{le="+Inf"} 0.0' in text
