"""The drift score does its job on a real service process: reviews like those the model was
trained on keep it under the alert threshold, other text raises it above."""

import random
from pathlib import Path

import pytest

from benchmarks.drift import alert_threshold, measure, product_reviews, random_words
from benchmarks.servers import service_server
from tests.conftest import make_review

WINDOW = 200


@pytest.fixture(scope="module")
def scores(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    rng = random.Random(7)  # other reviews than the training corpus (seed 0)
    count = WINDOW + 40  # PSI is recomputed every 20 texts: the last one saw this stream only
    streams = {
        "reviews": [make_review(rng, i % 2) for i in range(count)],
        "product reviews": product_reviews(count),
        "random words": random_words(count),
    }
    env = {"DRIFT_WINDOW_TEXTS": str(WINDOW), "DRIFT_UPDATE_TEXTS": "20"}
    server = service_server(model_dir, env, tmp_path_factory.mktemp("drift") / "service.log")
    server.start(timeout=600)  # a busy machine may take minutes to import TensorFlow
    try:
        return measure(server, streams)
    finally:
        server.stop()


def test_drift_low_for_reviews_like_the_training_ones(scores: dict) -> None:
    assert max(scores["reviews"].values()) < alert_threshold("InputDrift")
    assert scores["reviews"]["positive_probability"] < alert_threshold("ScoreDrift")


@pytest.mark.parametrize("stream", ["product reviews", "random words"])
def test_drift_above_the_alert_threshold_for_other_text(scores: dict, stream: str) -> None:
    found = scores[stream]
    assert found["token_count"] > alert_threshold("InputDrift") or (
        found["oov_share"] > alert_threshold("InputDrift")
    )
