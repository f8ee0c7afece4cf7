"""Prometheus metrics of the webhook receiver (one registry per app instance)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class IngressMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[Counter, str], Any] = {}
        self.requests = Counter(
            "leadsync_ingress_requests",
            "Webhook requests by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.signature_variants = Counter(
            "leadsync_ingress_signature_variant",
            "Authentic notifications by the X-LI-Signature reading that matched.",
            ["variant"],
            registry=self.registry,
        )
        self.accept_seconds = Histogram(
            "leadsync_ingress_accept_seconds",
            "From request to Kafka's acknowledgement of an accepted notification.",
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=self.registry,
        )

    def count(self, outcome: str) -> None:
        """One request more with this outcome."""
        self._child(self.requests, outcome).inc()

    def count_variant(self, variant: str) -> None:
        self._child(self.signature_variants, variant).inc()

    def _child(self, counter: Counter, label: str) -> Any:
        # labels() takes a lock and builds a key on every call; the children are cached
        # here instead, as they come (a series appears once it has counted something).
        key = (counter, label)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(label)
        return child
