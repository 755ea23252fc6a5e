"""Drift: whether the texts coming in, and the answers going out, still look like those a model
version was trained for.

Each model call's answer carries what the version's own tokenizer made of each text (the
`token_count` and `oov_count` outputs of its signature). Per call, never per request, and with
numpy, a `DriftMonitor` feeds the model's histograms in /metrics (token count, out-of-vocabulary
share, positive probability), counts the texts longer than the model reads, and keeps the bins
of the last `drift_window_texts` texts. Every `drift_update_texts` texts, once that window is
full, it sets the population stability index (PSI) of the window against the version's
reference distributions (`reference` in its metadata.json, written by training from its
validation reviews): `model_input_drift_psi{feature}` and `model_score_drift_psi`.

PSI = sum over bins of (live - reference) * ln(live / reference), with shares smoothed by half a
text per bin so that an empty bin gives a large but finite figure. Below 0.1 is usually read as
no shift, above 0.25 as a large one.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.monitoring.metrics import Metrics
from service.serving.servable import ModelOutput, Servable
from service.settings import Settings

log = logging.getLogger(__name__)

INPUT_FEATURES = ("token_count", "oov_share")
SCORE_FEATURE = "positive_probability"


@dataclass(frozen=True)
class Reference:
    """One feature's reference histogram: upper bin edges and the count of each bin (one more
    bin than edges: the values above the last edge)."""

    edges: np.ndarray
    counts: np.ndarray


def read_references(metadata: dict[str, Any]) -> dict[str, Reference]:
    """The well-formed reference histograms in a version's metadata, by feature name."""
    block = metadata.get("reference")
    features = block.get("features") if isinstance(block, dict) else None
    found: dict[str, Reference] = {}
    for name, spec in (features if isinstance(features, dict) else {}).items():
        try:
            edges = np.asarray(spec["edges"], np.float64)
            counts = np.asarray(spec["counts"], np.float64)
        except (TypeError, KeyError, ValueError):
            continue
        if (
            edges.ndim == 1
            and counts.shape == (len(edges) + 1,)
            and np.all(np.diff(edges) > 0)
            and np.all(counts >= 0)
            and counts.sum() > 0
        ):
            found[name] = Reference(edges, counts)
    return found


def psi(reference: np.ndarray, live: np.ndarray) -> float:
    """Population stability index of the bin counts `live` against `reference`."""
    expected = (reference + 0.5) / (reference.sum() + 0.5 * len(reference))
    actual = (live + 0.5) / (live.sum() + 0.5 * len(live))
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class Window:
    """The reference bins of one feature's last `size` values, in a ring."""

    def __init__(self, reference: Reference, size: int) -> None:
        self.reference = reference
        self._bins = np.zeros(size, np.int16)
        self._next = 0
        self.filled = 0

    def add(self, values: np.ndarray) -> None:
        bins = np.searchsorted(self.reference.edges, values, side="left")[-len(self._bins) :]
        at = (self._next + np.arange(len(bins))) % len(self._bins)
        self._bins[at] = bins
        self._next = (self._next + len(bins)) % len(self._bins)
        self.filled = min(self.filled + len(bins), len(self._bins))

    def psi(self) -> float | None:
        """The window's PSI against the reference; None until the window is full."""
        if self.filled < len(self._bins):
            return None
        live = np.bincount(self._bins, minlength=len(self.reference.counts))
        return psi(self.reference.counts, live)


class DriftMonitor:
    """The drift metrics of one served version."""

    def __init__(self, servable: Servable, settings: Settings, metrics: Metrics) -> None:
        name, version = servable.name, servable.version
        self._labels = (name, version)
        self._cap = servable.token_cap
        self._update_every = settings.drift_update_texts
        self._since_update = 0
        self._metrics = metrics
        self._tokens = metrics.input_tokens.labels(name)
        self._oov = metrics.input_oov.labels(name)
        self._truncated = metrics.truncated.labels(name)
        self._scores = metrics.positive_probability.labels(name) if name == "sentiment" else None
        references = read_references(servable.metadata)
        wanted = [*INPUT_FEATURES, SCORE_FEATURE] if self._scores else [*INPUT_FEATURES]
        if not servable.text_stats:
            wanted = [f for f in wanted if f not in INPUT_FEATURES]
            log.info(
                "%s version %s gives no token_count/oov_count: no input drift metrics for it",
                name,
                version,
            )
        self._windows = {
            feature: Window(references[feature], settings.drift_window_texts)
            for feature in wanted
            if feature in references
        }
        if missing := [f for f in wanted if f not in references]:
            log.info("%s version %s has no reference for %s: no PSI", name, version, missing)

    def record(self, answer: ModelOutput) -> None:
        """Count one model call's texts and answers into the histograms and windows."""
        values: dict[str, np.ndarray] = {}
        if answer.token_counts is not None and answer.oov_counts is not None:
            counts = answer.token_counts
            share = np.where(counts > 0, answer.oov_counts / np.maximum(counts, 1), 1.0)
            self._tokens.observe(counts)
            self._oov.observe(share)
            if truncated := int(np.count_nonzero(counts > self._cap)):
                self._truncated.inc(truncated)
            values = {"token_count": counts, "oov_share": share}
        if self._scores is not None:
            values[SCORE_FEATURE] = np.asarray(answer.predictions, np.float64)
            self._scores.observe(values[SCORE_FEATURE])
        for feature, window in self._windows.items():
            if feature in values:
                window.add(values[feature])
        self._since_update += len(answer.predictions)
        if self._since_update >= self._update_every:
            self._since_update = 0
            self.update()

    def update(self) -> None:
        """Set the PSI gauges of every full window."""
        for feature, window in self._windows.items():
            if (score := window.psi()) is None:
                continue
            if feature == SCORE_FEATURE:
                self._metrics.score_drift.labels(*self._labels).set(score)
            else:
                self._metrics.input_drift.labels(*self._labels, feature).set(score)

    def close(self) -> None:
        """Drop the version's gauges: a released version reports no drift."""
        for feature in self._windows:
            if feature == SCORE_FEATURE:
                self._metrics.score_drift.remove(*self._labels)
            else:
                self._metrics.input_drift.remove(*self._labels, feature)
