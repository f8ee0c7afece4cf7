"""Prometheus metrics of the webhook receiver (one registry per app instance).

Besides its own families it emits leadsync's ``leads_received`` and ``leads_published``
(origin ``push``) as :mod:`leadsync.metrics` names them: authentic notifications, and those
Kafka acknowledged.

Counted in plain integers and turned into metric families only when scraped: the client
library's counters and histograms take a lock per increment, four per accepted
notification, which cost the receiver ~5 % of its time (bench/ingress.py). Every count
happens on the event loop's thread, as does the scrape, so nothing needs a lock.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from leadsync import metrics

ACCEPT_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class IngressMetrics(Collector):
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.variants: Counter[str] = Counter()
        # Per bucket of ACCEPT_BUCKETS (and one for +Inf), not yet cumulative.
        self._accepts = [0] * (len(ACCEPT_BUCKETS) + 1)
        self._accept_sum = 0.0
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def count(self, outcome: str) -> None:
        """One request more with this outcome."""
        self.outcomes[outcome] += 1

    def count_variant(self, variant: str) -> None:
        """One authentic notification more whose signature matched this reading."""
        self.variants[variant] += 1

    def observe_accept(self, seconds: float) -> None:
        """The time from a request to Kafka's acknowledgement of its notification."""
        self._accepts[bisect.bisect_left(ACCEPT_BUCKETS, seconds)] += 1
        self._accept_sum += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "leadsync_ingress_requests", "Webhook requests by outcome.", labels=["outcome"]
        )
        for outcome, count in sorted(self.outcomes.items()):
            requests.add_metric([outcome], count)
        yield requests
        variants = CounterMetricFamily(
            "leadsync_ingress_signature_variant",
            "Authentic notifications by the X-LI-Signature reading that matched.",
            labels=["variant"],
        )
        for variant, count in sorted(self.variants.items()):
            variants.add_metric([variant], count)
        yield variants
        received = CounterMetricFamily(
            metrics.LEADS_RECEIVED, metrics.LEADS_RECEIVED_HELP, labels=["origin"]
        )
        received.add_metric(["push"], sum(self.variants.values()))
        yield received
        published = CounterMetricFamily(
            metrics.LEADS_PUBLISHED, metrics.LEADS_PUBLISHED_HELP, labels=["origin"]
        )
        published.add_metric(["push"], self.outcomes["accepted"])
        yield published
        cumulative, buckets = 0, []
        for bound, count in zip((*ACCEPT_BUCKETS, float("inf")), self._accepts, strict=True):
            cumulative += count
            buckets.append((_le(bound), cumulative))
        accepts = HistogramMetricFamily(
            "leadsync_ingress_accept_seconds",
            "From request to Kafka's acknowledgement of an accepted notification.",
        )
        accepts.add_metric([], buckets, sum_value=self._accept_sum)
        yield accepts


def _le(bound: float) -> str:
    """A bucket's bound as Prometheus' client writes it ("0.005", "1.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(bound)
