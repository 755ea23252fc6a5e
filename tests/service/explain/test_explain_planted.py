"""Explanations find what decides the label: a tiny model is trained by the real pipeline on
generated reviews where one planted word decides the label (with some label noise, so that the
model's probabilities are not saturated), then explains held-out reviews with one or two planted
words: those words get the largest weights, with the sign of their class."""

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.conftest import FILLER, NEGATIVE, POSITIVE, write_imdb_archive
from tests.service.conftest import make_settings

NOISE = 0.1  # share of training reviews whose planted word disagrees with their label


def filler(rng: random.Random) -> list[str]:
    return [rng.choice(FILLER) for _ in range(rng.randint(4, 16))]


def planted_review(rng: random.Random, label: int | None) -> str:
    """Filler words and one planted word of the label's class (of the other class, at times)."""
    words = filler(rng)
    if label is not None:
        agrees = rng.random() >= NOISE
        cues = POSITIVE if (label == 1) == agrees else NEGATIVE
        words.insert(rng.randrange(len(words) + 1), rng.choice(cues))
    return " ".join(words)


@pytest.fixture(scope="module")
def planted_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from training.config import load_config
    from training.pipeline import run

    work = tmp_path_factory.mktemp("planted")
    archive = write_imdb_archive(work / "planted.tar.gz", 600, 100, planted_review)
    run(load_config("tiny"), archive, work / "model", cache_dir=work / "cache")
    settings = make_settings(work / "model", explain_max_texts=32)
    with TestClient(create_app(settings)) as client:
        yield client


def held_out_reviews(count: int) -> list[tuple[str, dict[str, int]]]:
    """Reviews of filler with one or two planted words: (text, {planted word: +1 or -1})."""
    rng = random.Random(2024)
    reviews = []
    for _ in range(count):
        words = filler(rng)
        planted: dict[str, int] = {}
        for _ in range(rng.randint(1, 2)):
            sign = rng.choice([1, -1])
            word = rng.choice(POSITIVE if sign > 0 else NEGATIVE)
            if word not in planted:
                planted[word] = sign
                words.insert(rng.randrange(len(words) + 1), word)
        reviews.append((" ".join(words), planted))
    return reviews


def planted_figures(client: TestClient, reviews: list[tuple[str, dict[str, int]]]) -> dict:
    """How the explanations of `reviews` treat their planted words."""
    response = client.post("/sentiment", json={"texts": [t for t, _ in reviews], "explain": True})
    assert response.status_code == 200
    right_sign, top_is_planted, planted_weights, filler_weights = 0, 0, [], []
    for (_, planted), result in zip(reviews, response.json()["results"], strict=True):
        words = result["explanation"]["words"]
        top = max(words, key=lambda w: abs(w["weight"]))
        top_is_planted += top["word"] in planted
        for w in words:
            if w["word"] in planted:
                right_sign += w["weight"] * planted[w["word"]] > 0
                planted_weights.append(abs(w["weight"]))
            else:
                filler_weights.append(abs(w["weight"]))
    return {
        "right_sign": right_sign / len(planted_weights),
        "top_is_planted": top_is_planted / len(reviews),
        "planted_over_filler": (sum(planted_weights) / len(planted_weights))
        / (sum(filler_weights) / len(filler_weights)),
    }


def test_explain_sentiment_planted_words_weigh_most(planted_client: TestClient) -> None:
    figures = planted_figures(planted_client, held_out_reviews(32))
    assert figures["right_sign"] >= 0.95, figures
    assert figures["top_is_planted"] >= 0.75, figures
    assert figures["planted_over_filler"] >= 3, figures
