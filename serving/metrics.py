"""Prometheus metrics, in a registry of their own per app (so tests and workers do not collide)."""

from __future__ import annotations

from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from model.classifier import NOTE_SCREENED, Result

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Request counts and latency, decisions per label, fallback count, degraded flag."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("vcguard_http_requests", "HTTP requests by route and status",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("vcguard_http_request_duration_seconds", "HTTP request latency by route",
                                 ("method", "route"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.decisions = Counter("vcguard_decisions", "Posts by overall decision", ("decision",),
                                 registry=self.registry)
        self.label_actions = Counter("vcguard_label_actions", "Flagged labels by action (review / block)",
                                     ("label", "action"), registry=self.registry)
        self.engines = Counter("vcguard_posts_by_engine", "Posts by the engine that answered", ("engine",),
                               registry=self.registry)
        self.screened = Counter("vcguard_screened_posts", "Posts the screen decided without the transformer",
                                registry=self.registry)
        self.fallbacks = Counter("vcguard_fallbacks", "Posts answered without the model, by reason",
                                 ("reason",), registry=self.registry)
        self.degraded = Gauge("vcguard_degraded", "1 when the model could not be loaded", registry=self.registry)
        self.lexicon_edits = Gauge("vcguard_lexicon_edits_applied", "Live lexicon edits applied",
                                   registry=self.registry)

    def observe_results(self, results: Iterable[Result], fallback_reason: str | None) -> None:
        """Count decisions, flagged labels, engines, screened posts and fallbacks for answered posts."""
        n = 0
        for result in results:
            n += 1
            self.decisions.labels(result.decision).inc()
            self.engines.labels(result.engine).inc()
            if NOTE_SCREENED in result.notes:
                self.screened.inc()
            for item in result.labels:
                if item["action"] != "allow":
                    self.label_actions.labels(item["label"], item["action"]).inc()
        if fallback_reason and n:
            self.fallbacks.labels(fallback_reason).inc(n)
