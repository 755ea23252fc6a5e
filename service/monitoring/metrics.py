"""Prometheus metrics of one app: requests, latency, batching, the served model versions and
what the texts and answers look like (the drift metrics, fed by `service.monitoring.drift`)."""

from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
RATIO_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# The bin edges of the reference distributions training writes (training/reference.py), so that
# the live histograms and the references read alike.
TOKEN_BUCKETS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
OOV_BUCKETS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
PROBABILITY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class ArrayHistogram:
    """A Prometheus histogram fed a whole array at a time: one `np.bincount` per model call
    instead of one locked `observe` per text. Fed and collected on the event loop only, so it
    needs no lock."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        labelnames: Sequence[str],
        registry: CollectorRegistry,
    ) -> None:
        self.name, self.documentation = name, documentation
        self.edges = np.asarray(buckets, np.float64)
        self.labelnames = list(labelnames)
        self._series: dict[tuple[str, ...], ArraySeries] = {}
        registry.register(self)

    def labels(self, *values: str) -> "ArraySeries":
        """The series of these label values, created on first use."""
        if (series := self._series.get(values)) is None:
            series = self._series[values] = ArraySeries(self.edges)
        return series

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        bounds = [floatToGoString(edge) for edge in self.edges] + ["+Inf"]
        for values, series in self._series.items():
            cumulative = np.cumsum(series.counts).tolist()
            family.add_metric(list(values), list(zip(bounds, cumulative, strict=True)), series.sum)
        yield family


class ArraySeries:
    """The bucket counts and sum of one labelled series of an `ArrayHistogram`."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.counts = np.zeros(len(edges) + 1, np.int64)  # per bucket; the last is +Inf
        self.sum = 0.0

    def observe(self, values: np.ndarray) -> None:
        """Count every value into its bucket (`le`: the first edge at or above it)."""
        bins = np.searchsorted(self.edges, values, side="left")
        self.counts += np.bincount(bins, minlength=len(self.counts))
        self.sum += float(values.sum())


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
        self.store_skipped = Gauge(
            "model_store_skipped_versions",
            "Version directories of each model that cannot be served (unreadable, incomplete).",
            ["model"],
            registry=r,
        )
        self.policy_unmet = Gauge(
            "model_policy_unmet",
            "1 while the promotion policy names a version of the model that is not the one served.",
            ["model"],
            registry=r,
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
        self.queue_limit = Gauge(
            "batch_queue_max_texts", "Texts a model's queue holds at most (then 503).", registry=r
        )
        self.ready = Gauge("service_ready", "1 once every model is loaded, else 0.", registry=r)
        self._add_drift_metrics(r)

    def _add_drift_metrics(self, r: CollectorRegistry) -> None:
        """What the texts and answers look like; see `service.monitoring.drift`."""
        self.input_tokens = ArrayHistogram(
            "model_input_tokens",
            "Tokens the model's tokenizer makes of each text, before the model cuts it.",
            TOKEN_BUCKETS,
            ["model"],
            r,
        )
        self.input_oov = ArrayHistogram(
            "model_input_oov_ratio",
            "Share of each text's tokens outside the model's vocabulary (1: no tokens at all).",
            OOV_BUCKETS,
            ["model"],
            r,
        )
        self.truncated = Counter(
            "model_input_truncated",
            "Texts longer than the model reads (its token cap): only part of them is read.",
            ["model"],
            registry=r,
        )
        self.positive_probability = ArrayHistogram(
            "model_positive_probability",
            "Positive probabilities the sentiment model served.",
            PROBABILITY_BUCKETS,
            ["model"],
            r,
        )
        self.input_drift = Gauge(
            "model_input_drift_psi",
            "Population stability index of the recent texts' feature against the version's "
            "reference (its validation reviews).",
            ["model", "version", "feature"],
            registry=r,
        )
        self.score_drift = Gauge(
            "model_score_drift_psi",
            "Population stability index of the recent positive probabilities against the "
            "version's reference (its validation reviews).",
            ["model", "version"],
            registry=r,
        )
