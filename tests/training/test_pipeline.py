"""The pipeline end to end: train tiny models, export them, load the SavedModels back, predict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from training.__main__ import main
from training.export import next_version
from training.text import PUNCTUATION

TEXTS = [
    "a great wonderful excellent film, loved it",
    "awful terrible boring waste of a movie",
    "",
    "😀 ¿¡ ???",
    "the plot " * 3000,
]


@pytest.fixture(scope="module")
def sentiment(model_dir: Path):
    return tf.saved_model.load(str(model_dir / "sentiment" / "1")).signatures["serving_default"]


@pytest.fixture(scope="module")
def next_word(model_dir: Path):
    return tf.saved_model.load(str(model_dir / "next_word" / "1")).signatures["serving_default"]


def test_export_writes_complete_versions(model_dir: Path) -> None:
    for name in ("sentiment", "next_word"):
        version = model_dir / name / "1"
        assert (version / "saved_model.pb").is_file()
        assert (version / "vocab.txt").read_text().splitlines()[:2] == ["", "[UNK]"]
        metadata = json.loads((version / "metadata.json").read_text())
        assert metadata["name"] == name and metadata["version"] == 1
        assert len(metadata["data"]["sha256"]) == 64
        assert metadata["config"]["lstm_units"] == 16
        assert metadata["vocab_size"] == len((version / "vocab.txt").read_text().splitlines())
        assert {"sentiment_accuracy", "sentiment_ece", "next_word_perplexity"} <= set(
            metadata["metrics"]
        )
        # Next words in both forms, punctuation targets apart, and no time budget fired.
        assert {
            "next_word_top5",
            "next_word_unpunctuated_top5",
            "next_word_punctuation_top5",
            "next_word_lstm_unpunctuated_top5",
        } <= set(metadata["metrics"])
        assert metadata["time_budget_cuts"] == {}
    assert not list(model_dir.glob("*/.tmp-*"))
    assert (model_dir / "sentiment" / "1" / "reliability.png").stat().st_size > 1000


def test_export_measures_keystrokes_of_the_exported_model(model_dir: Path) -> None:
    metadata = json.loads((model_dir / "next_word" / "1" / "metadata.json").read_text())
    metrics = metadata["metrics"]
    assert metrics["next_word_keystroke_sentences"] == metadata["config"]["keystroke_sentences"]
    for form in ("lower", "written"):
        for keyboard in ("next_word", "next_word_kn_keyboard"):
            assert 0.0 < metrics[f"{keyboard}_ksr_{form}"] < 1.0
            recalls = [metrics[f"{keyboard}_recall_after_{n}_{form}"] for n in (0, 1, 2)]
            assert all(0.0 <= r <= 1.0 for r in recalls)
        ours, theirs = (
            metrics[f"next_word_ksr_{form}"],
            metrics[f"next_word_kn_keyboard_ksr_{form}"],
        )
        assert metrics[f"next_word_ksr_ratio_{form}"] == pytest.approx(ours / theirs)
    assert metrics["next_word_keystroke_seconds"] < 60
    report = (model_dir / "next_word" / "1" / "report.md").read_text()
    assert "| Kneser-Ney trigram keyboard |" in report and "KSR as written" in report
    card = (model_dir / "next_word" / "1" / "README.md").read_text()
    assert "keystrokes saved (KSR), as written" in card


def test_sentiment_model_takes_raw_strings(sentiment) -> None:
    probabilities = sentiment(texts=tf.constant(TEXTS))["positive_probability"].numpy()

    assert probabilities.shape == (len(TEXTS),)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities[0] > probabilities[1]


def test_sentiment_batch_equals_single_texts(sentiment) -> None:
    batch = sentiment(texts=tf.constant(TEXTS))["positive_probability"].numpy()
    singles = [sentiment(texts=tf.constant([t]))["positive_probability"].numpy()[0] for t in TEXTS]

    np.testing.assert_allclose(batch, singles, atol=1e-5)


def test_next_word_returns_top_k_real_words(next_word) -> None:
    out = next_word(texts=tf.constant(TEXTS), k=tf.constant(5))
    words, probabilities = out["words"].numpy(), out["probabilities"].numpy()

    assert words.shape == probabilities.shape == (len(TEXTS), 5)
    assert not {b"", b"[UNK]", *(mark.encode() for mark in PUNCTUATION)} & set(words.ravel())
    assert np.all(np.diff(probabilities, axis=1) <= 0)
    assert np.all(probabilities.sum(axis=1) <= 1.0 + 1e-5)


def test_next_word_clips_k_to_the_words_of_the_vocabulary(next_word, model_dir: Path) -> None:
    vocabulary = (model_dir / "next_word" / "1" / "vocab.txt").read_text().splitlines()
    marks = [token for token in vocabulary if token in PUNCTUATION]

    out = next_word(texts=tf.constant(["the"]), k=tf.constant(10**6))

    assert marks, "the tiny corpus has punctuation"
    assert out["words"].shape == (1, len(vocabulary) - 2 - len(marks))
    # Every word's probability: all but what the model gives punctuation.
    assert 0.5 < out["probabilities"].numpy().sum() < 1.0


def test_train_adds_a_new_version_and_keeps_old_ones(
    model_dir: Path, imdb_archive: Path, tmp_path: Path, capsys
) -> None:
    store = tmp_path / "model"
    shutil.copytree(model_dir, store)

    code = main(
        [
            "--data",
            str(imdb_archive),
            "--model-dir",
            str(store),
            "--preset",
            "tiny",
            "--set",
            "lm_steps=10",
            "--set",
            "clf_epochs=1",
            "--set",
            "lm_minutes=0",  # the safety net fires: the version is still written, and says so
        ]
    )

    assert code == 0
    assert sorted(p.name for p in (store / "sentiment").iterdir() if p.name.isdigit()) == ["1", "2"]
    metadata = json.loads((store / "next_word" / "2" / "metadata.json").read_text())
    assert metadata["time_budget_cuts"] == {
        "forward language model": "stopped by its 0-minute budget after 1 of 20 planned steps"
    }
    assert "warning: the forward language model was stopped" in capsys.readouterr().out
    assert next_version(store) == 3
    assert (store / "next_word" / "1" / "saved_model.pb").read_bytes() == (
        model_dir / "next_word" / "1" / "saved_model.pb"
    ).read_bytes()


def test_failed_run_leaves_the_store_untouched(model_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "model"
    shutil.copytree(model_dir, store)
    before = sorted(str(p.relative_to(store)) for p in store.rglob("*"))
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nonly positive,1\n")

    code = main(["--data", str(bad), "--model-dir", str(store), "--preset", "tiny"])

    assert code == 1
    assert sorted(str(p.relative_to(store)) for p in store.rglob("*")) == before


def test_backward_model_reads_both_directions(imdb_archive: Path, tmp_path: Path) -> None:
    store = tmp_path / "model"
    settings = ["backward_model=true", "lm_steps=10", "clf_epochs=1"]
    args = ["--data", str(imdb_archive), "--model-dir", str(store), "--preset", "tiny"]

    assert main([*args, *(f"--set={s}" for s in settings)]) == 0

    metadata = json.loads((store / "sentiment" / "1" / "metadata.json").read_text())
    assert metadata["config"]["backward_model"] is True
    sentiment = tf.saved_model.load(str(store / "sentiment" / "1")).signatures["serving_default"]
    batch = sentiment(texts=tf.constant(TEXTS))["positive_probability"].numpy()
    singles = [sentiment(texts=tf.constant([t]))["positive_probability"].numpy()[0] for t in TEXTS]
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    assert sorted(p.name for p in store.glob("logs/*/*")) == ["backward", "forward"]
