"""Prometheus metrics of one app: requests, latency, batching and the served model versions."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
RATIO_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Metrics:
    """The metric families, registered in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request to response.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("http_requests_in_flight", "Requests being served.", registry=r)
        self.model_version = Gauge(
            "model_version", "Version of each model being served.", ["model"], registry=r
        )
        self.model_loads = Counter(
            "model_loads", "Model version loads by outcome.", ["model", "outcome"], registry=r
        )
        self.batch_size = Histogram(
            "batch_size", "Texts per model call.", ["model"], buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_requests = Histogram(
            "batch_requests",
            "Requests sharing one model call.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "batch_queue_wait_seconds",
            "Time a request waits before its model call starts.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_call = Histogram(
            "model_call_seconds",
            "Time of one model call.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.padding = Histogram(
            "batch_padding_ratio",
            "Share of a model call's padded word slots that are padding.",
            ["model"],
            buckets=RATIO_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "batch_queue_texts", "Texts waiting for a model call.", ["model"], registry=r
        )
        self.explanation = Histogram(
            "explanation_seconds",
            "Time to explain the texts of one request, once it has an explanation slot.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "batch_rejected", "Requests refused with 503.", ["model", "reason"], registry=r
        )
