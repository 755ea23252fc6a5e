"""Drift metrics: PSI, the sliding window, the array histograms, and what the app exports."""

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from benchmarks.servers import metric_samples
from service.monitoring.drift import Reference, Window, psi, read_references
from service.monitoring.metrics import TOKEN_BUCKETS, ArrayHistogram
from training.reference import EDGES

REVIEW = "the movie was great and the plot was moving, the actors were wonderful"


def test_psi_zero_for_same_shares_and_large_for_a_shift() -> None:
    reference = np.array([10, 40, 40, 10], float)
    assert psi(reference, reference * 3) == pytest.approx(0.0, abs=1e-3)
    assert psi(reference, np.array([12, 38, 41, 9], float)) < 0.01
    assert psi(reference, np.array([60, 30, 10, 0], float)) > 0.25


def test_psi_finite_for_empty_bins() -> None:
    assert np.isfinite(psi(np.array([100, 0, 0], float), np.array([0, 0, 100], float)))


def test_read_references_keeps_only_well_formed_features() -> None:
    metadata = {
        "reference": {
            "features": {
                "token_count": {"edges": [1, 2], "counts": [1, 2, 3]},
                "oov_share": {"edges": [2, 1], "counts": [1, 2, 3]},  # edges not increasing
                "positive_probability": {"edges": [0.5], "counts": [1]},  # one bin short
                "other": "nonsense",
            }
        }
    }
    found = read_references(metadata)
    assert list(found) == ["token_count"]
    assert found["token_count"].counts.tolist() == [1, 2, 3]
    assert read_references({}) == {} and read_references({"reference": [1]}) == {}


def test_window_psi_waits_for_a_full_window_and_keeps_the_latest() -> None:
    window = Window(Reference(np.array([1.0, 2.0]), np.array([0.0, 0.0, 1000.0])), size=200)
    window.add(np.full(199, 3.0))
    assert window.psi() is None
    window.add(np.full(1, 3.0))
    assert window.psi() == pytest.approx(0.0, abs=0.02)
    window.add(np.full(500, 0.5))  # more than the window: only the last 200 count
    assert window.psi() > 1.0
    window.add(np.full(200, 3.0))
    assert window.psi() == pytest.approx(0.0, abs=0.02)


def test_array_histogram_exports_what_prometheus_histogram_does() -> None:
    values = np.array([0, 1, 2, 3, 4, 8, 9, 300, 5000], np.int64)
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    ArrayHistogram("tokens", "doc", TOKEN_BUCKETS, ["model"], ours).labels("m").observe(values)
    histogram = Histogram("tokens", "doc", ["model"], buckets=TOKEN_BUCKETS, registry=theirs)
    for value in values:
        histogram.labels("m").observe(value)
    exported = metric_samples(generate_latest(theirs).decode())
    exported = {k: v for k, v in exported.items() if "_created" not in k}
    assert metric_samples(generate_latest(ours).decode()) == exported


def test_service_buckets_are_the_reference_edges() -> None:
    from service.monitoring import metrics

    assert metrics.TOKEN_BUCKETS == EDGES["token_count"]
    assert metrics.OOV_BUCKETS == EDGES["oov_share"]
    assert metrics.PROBABILITY_BUCKETS == EDGES["positive_probability"]


def test_metrics_count_each_texts_tokens_and_truncation(serve: Callable) -> None:
    # The tiny sentiment model reads 16 + 16 tokens of a text.
    texts = ["a great film", "zzqx qqzx great", "🎬🎬", REVIEW + " the end" * 30]
    with serve() as client:
        response = client.post("/sentiment", json={"texts": texts})
        samples = metric_samples(client.get("/metrics").text)
    assert response.status_code == 200
    label = '{model="sentiment"}'
    assert samples[f"model_input_tokens_count{label}"] == 4
    assert samples[f"model_input_tokens_sum{label}"] == 3 + 3 + 0 + 14 + 60
    assert samples['model_input_tokens_bucket{le="2.0",model="sentiment"}'] == 1  # the emoji
    assert samples[f"model_input_truncated_total{label}"] == 1
    # "zzqx qqzx great": 2 of 3 tokens unknown; the emoji: no tokens, counted as all unknown.
    assert samples['model_input_oov_ratio_bucket{le="0.5",model="sentiment"}'] == 2
    assert samples['model_input_oov_ratio_bucket{le="1.0",model="sentiment"}'] == 4
    assert samples[f"model_positive_probability_count{label}"] == 4


def test_metrics_drift_psi_per_served_version(serve: Callable) -> None:
    with serve(drift_window_texts=20, drift_update_texts=10) as client:
        client.post("/sentiment", json={"texts": [REVIEW] * 19})
        before = client.get("/metrics").text
        client.post("/sentiment", json={"texts": [REVIEW] * 10 + ["great"]})
        for _ in range(20):
            client.post("/next-word", json={"text": REVIEW})
        samples = metric_samples(client.get("/metrics").text)
    assert "model_input_drift_psi{" not in before  # the window is not full yet
    for model in ("sentiment", "next_word"):
        for feature in ("token_count", "oov_share"):
            key = f'model_input_drift_psi{{feature="{feature}",model="{model}",version="1"}}'
            assert samples[key] >= 0
    assert samples['model_score_drift_psi{model="sentiment",version="1"}'] >= 0
    assert 'model_score_drift_psi{model="next_word"' not in str(samples)


def test_metrics_drift_off(serve: Callable) -> None:
    with serve(drift_metrics=False, drift_window_texts=10, drift_update_texts=1) as client:
        response = client.post("/sentiment", json={"texts": [REVIEW] * 20})
        text = client.get("/metrics").text
    assert response.status_code == 200
    assert "# TYPE model_input_tokens histogram" in text
    assert "model_input_tokens_count" not in text  # no series at all
    assert "model_input_drift_psi{" not in text


def test_metrics_drift_gauges_follow_the_served_version(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable
) -> None:
    with serve(store=store, drift_window_texts=10, drift_update_texts=5) as client:
        client.post("/sentiment", json={"texts": [REVIEW] * 10})
        assert 'model_score_drift_psi{model="sentiment",version="1"}' in client.get("/metrics").text
        add_version(store, 2)
        eventually(lambda: client.get("/ready").json()["models"]["sentiment"] == "2")
        eventually(lambda: 'version="1"' not in client.get("/metrics").text)
        client.post("/sentiment", json={"texts": [REVIEW] * 10})
        text = client.get("/metrics").text
    assert 'model_score_drift_psi{model="sentiment",version="2"}' in text


def write_version_without_text_stats(store: Path, version: int) -> None:
    """A sentiment version as exported before the signature gave token statistics: the same
    model behind a signature with only `positive_probability`, and no reference."""
    source = store / "sentiment" / "1"
    loaded = tf.saved_model.load(str(source))
    module = tf.Module()
    module.loaded = loaded  # keeps the model's variables and tables in the new SavedModel

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(texts: tf.Tensor) -> dict[str, tf.Tensor]:
        out = loaded.signatures["serving_default"](texts=texts)
        return {"positive_probability": out["positive_probability"]}

    target = store / "sentiment" / str(version)
    tf.saved_model.save(module, str(target), signatures={"serving_default": serve})
    metadata = json.loads((source / "metadata.json").read_text())
    del metadata["reference"]
    (target / "metadata.json").write_text(json.dumps(metadata | {"version": version}))


def test_serve_version_without_text_stats(
    serve: Callable, store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_version_without_text_stats(store, 2)
    with caplog.at_level(logging.INFO, logger="service.monitoring.drift"):
        with serve(store=store, drift_window_texts=10, drift_update_texts=1) as client:
            responses = [client.post("/sentiment", json={"texts": [REVIEW] * 5}) for _ in "ab"]
            text = client.get("/metrics").text
            version = client.get("/ready").json()["models"]["sentiment"]
    assert version == "2"
    assert [r.status_code for r in responses] == [200, 200]
    assert 'model_positive_probability_count{model="sentiment"} 10.0' in text
    assert 'model_input_tokens_count{model="sentiment"} 0.0' in text
    assert "model_input_drift_psi{" not in text and "model_score_drift_psi{" not in text
    said = [r.getMessage() for r in caplog.records if "no token_count/oov_count" in r.getMessage()]
    assert said == [
        "sentiment version 2 gives no token_count/oov_count: no input drift metrics for it"
    ]


def test_list_models_shows_reference(client) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    for model in response.json()["models"]:
        reference = model["metadata"]["reference"]
        assert reference["source"] == "validation reviews"
        features = reference["features"]
        expected = {"token_count", "oov_share"} | (
            {"positive_probability"} if model["name"] == "sentiment" else set()
        )
        assert set(features) == expected
        for spec in features.values():
            assert sum(spec["counts"]) == reference["texts"] > 0
            assert len(spec["counts"]) == len(spec["edges"]) + 1
