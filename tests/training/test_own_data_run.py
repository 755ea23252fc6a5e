"""One tiny run on the user's own data, end to end: a CSV with other column names, string labels
and a group column, a separate test file reported apart, and unlabelled text of another domain
that the next-word model then follows."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import tensorflow as tf

from tests.conftest import make_review
from training.__main__ import main

DOMAIN_LINES = [
    "i love recurrent neural networks for text",
    "a recurrent neural network reads one token at a time",
    "we trained the recurrent neural network on sequences",
    "the gradient of a recurrent neural network explodes without clipping",
]


def write_reviews(path: Path, rows: int, seed: int) -> Path:
    """Reviews under `body`, labelled "thumbs up"/"thumbs down" in `verdict`, 3 per `product`."""
    rng = random.Random(seed)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "product", "body", "verdict"])
        for i in range(rows):
            label = i % 2
            verdict = "thumbs up" if label else "thumbs down"
            writer.writerow([i, f"p{seed}-{i // 3}", make_review(rng, label), verdict])
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("own-data")
    domain = base / "domain.txt"
    rng = random.Random(1)
    domain.write_text("\n".join(rng.choice(DOMAIN_LINES) for _ in range(400)) + "\n")
    store = base / "model"
    argv = [
        *("--data", str(write_reviews(base / "reviews.csv", 360, seed=0))),
        *("--text-column", "body", "--label-column", "verdict", "--group-column", "product"),
        *("--positive-label", "Thumbs Up"),
        *("--test", str(write_reviews(base / "held_out.csv", 60, seed=1))),
        *("--lm-data", str(domain)),
        *("--model-dir", str(store), "--preset", "tiny", "--set", "clf_epochs=1"),
    ]
    assert main(argv) == 0
    sentiment = store / "sentiment" / "1"
    return {
        "store": store,
        "domain": domain,
        "metadata": json.loads((sentiment / "metadata.json").read_text()),
        "next_word_metadata": json.loads((store / "next_word/1/metadata.json").read_text()),
    }


def test_metadata_records_columns_and_label_mapping(run) -> None:
    data = run["metadata"]["data"]

    assert data["columns"] == {"text": "body", "label": "verdict", "group": "product"}
    assert data["labels"] == {
        "rule": "positive_label",
        "values": {"thumbs down": 0, "thumbs up": 1},
    }


def test_test_file_is_reported_apart(run) -> None:
    metadata, version = run["metadata"], run["store"] / "sentiment" / "1"
    test = metadata["test"]

    assert test["source"].endswith("held_out.csv") and len(test["sha256"]) == 64
    assert test["reviews"] == 60 and test["positive_share"] == 0.5
    assert sum(test["confusion_matrix"].values()) == 60
    assert 0 <= test["accuracy"] <= 1 and 0 <= test["auc"] <= 1
    assert test["texts_also_in_training"] == 0
    # The validation figures stay those of the training data's held-out groups.
    assert not any(key.startswith("test") for key in metadata["metrics"])
    assert metadata["metrics"]["sentiment_val_reviews"] < 360
    report = (version / "report.md").read_text()
    assert "### Test file" in report and "held_out.csv" in report
    assert (version / "test_confusion_matrix.png").stat().st_size > 1000


def test_lm_data_sources_are_recorded(run) -> None:
    for metadata in (run["metadata"], run["next_word_metadata"]):
        (source,) = metadata["data"]["lm_data"]
        assert source["path"] == str(run["domain"]) and source["texts"] == 400
        assert source["read"] == "lines" and len(source["sha256"]) == 64
    assert run["next_word_metadata"]["data"]["lm_data_held_out"] == 40
    assert "next_word_lm_data_top5" in run["next_word_metadata"]["metrics"]


def test_next_words_follow_the_lm_data(run, model_dir: Path) -> None:
    def suggestions(store: Path, text: str) -> list[str]:
        model = tf.saved_model.load(str(store / "next_word" / "1"))
        out = model.signatures["serving_default"](texts=tf.constant([text]), k=tf.constant(5))
        return [word.decode() for word in out["words"].numpy()[0]]

    before = suggestions(model_dir, "i love recurrent")
    after = suggestions(run["store"], "i love recurrent")

    assert "neural" not in before  # the reviews-only model has never read the word
    assert after[0] == "neural", after
    vocabulary = (run["store"] / "next_word" / "1" / "vocab.txt").read_text().splitlines()
    assert {"recurrent", "neural", "network"} <= set(vocabulary)
