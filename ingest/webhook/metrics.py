"""Prometheus metrics of the webhook receiver (one registry per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IngressMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
