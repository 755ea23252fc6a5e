"""Report numbers checked against hand-computed cases; figures and report.md written for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.report import (
    confusion_matrix,
    expected_calibration_error,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_reliability_diagram,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_small_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert 1_000 < len(data) < 150_000


def test_compute_ece_zero_for_calibrated_bins() -> None:
    # a quarter of the 0.25 reviews are positive, three quarters of the 0.75 ones
    probabilities = np.array([0.25] * 4 + [0.75] * 4)
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0)


def test_compute_ece_hand_case() -> None:
    # bin [0.1, 0.2): mean 0.1, half positive -> 2/4 * 0.4; bin [0.9, 1]: mean 0.95, all positive
    # -> 2/4 * 0.05; p == 1.0 belongs to the last bin
    probabilities = np.array([[0.1], [0.1], [0.9], [1.0]])  # Keras-shaped (N, 1)
    labels = np.array([0, 1, 1, 1])
    assert expected_calibration_error(probabilities, labels, bins=10) == pytest.approx(0.225)


def test_reject_ece_with_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="as many probabilities as labels"):
        expected_calibration_error(np.array([0.5, 0.5]), np.array([1]))


def test_count_confusion_matrix() -> None:
    probabilities = np.array([0.2, 0.6, 0.4, 0.9, 0.5])
    labels = np.array([0, 0, 1, 1, 1])
    assert confusion_matrix(probabilities, labels) == {
        "true_negative": 1,
        "false_positive": 1,
        "false_negative": 1,
        "true_positive": 2,  # 0.5 is labelled positive, as the service does
    }
    assert confusion_matrix(probabilities, labels, threshold=0.3)["true_positive"] == 3


def test_write_reliability_diagram_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.random(500)
    labels = rng.random(500) < probabilities
    plot_reliability_diagram(probabilities, labels, tmp_path / "reliability.png")
    assert_small_png(tmp_path / "reliability.png")


def test_write_learning_curves_png(tmp_path: Path) -> None:
    histories = {
        "language model": {"loss": [6.1, 5.4, 5.1], "val_loss": [5.6, 5.3], "val_top5": [0.3, 0.4]},
        "sentiment": {
            "loss": [0.5, 0.3],
            "val_loss": [0.4, 0.35],
            "accuracy": [0.8, 0.9],
            "val_accuracy": [0.85, 0.88],
        },
    }
    plot_learning_curves(histories, tmp_path / "curves.png")
    assert_small_png(tmp_path / "curves.png")


def test_write_learning_curves_png_one_epoch(tmp_path: Path) -> None:
    plot_learning_curves({"sentiment": {"loss": [0.6], "val_loss": [0.5]}}, tmp_path / "one.png")
    assert_small_png(tmp_path / "one.png")


def test_write_confusion_matrix_png(tmp_path: Path) -> None:
    matrix = {"true_negative": 40, "false_positive": 8, "false_negative": 5, "true_positive": 47}
    plot_confusion_matrix(matrix, tmp_path / "confusion.png")
    assert_small_png(tmp_path / "confusion.png")


def test_write_report_tables(tmp_path: Path) -> None:
    metrics = {
        "sentiment_accuracy": 0.896,
        "sentiment_short_accuracy": 0.8,
        "sentiment_ece": 0.0123,
        "sentiment_val_reviews": 2500,
        "sentiment_lstm_weight": 0.4,
        "sentiment_ngram_weight": 0.3,
        "sentiment_lstm_accuracy": 0.891,
        "sentiment_lstm_short_accuracy": 0.75,
        "sentiment_ngram_accuracy": 0.887,
        "sentiment_ngram_short_accuracy": 0.76,
        "next_word_top1": 0.2345,
        "next_word_top5": 0.4321,
        "next_word_perplexity": 98.76,
        "next_word_lstm_top1": 0.2301,
        "next_word_lstm_top5": 0.4299,
        "next_word_lstm_perplexity": 101.2,
        "next_word_unpunctuated_top1": 0.2101,
        "next_word_unpunctuated_top5": 0.4102,
        "next_word_unpunctuated_perplexity": 120.5,
        "next_word_punctuation_top1": 0.51,
        "next_word_punctuation_top5": 0.91,
        "next_word_cache_weight": 0.05,
        "next_word_trigram_weight": 0.35,
    }
    baselines = {
        "tfidf_lr_accuracy": 0.9084,
        "nb_lr_accuracy": 0.9176,
        "nb_lr_short_accuracy": 0.7,
        "kn_trigram_top1": 0.2,
        "kn_trigram_top5": 0.4165,
        "kn_trigram_perplexity": 126.94,
        "kn_trigram_eval_positions": 200_000,
        "kn_trigram_all_tokens_top1": 0.19,
        "kn_trigram_all_tokens_top5": 0.4001,
        "kn_trigram_punctuation_top1": 0.45,
        "kn_trigram_punctuation_top5": 0.9,
        "kn_trigram_unpunctuated_top1": 0.2002,
        "kn_trigram_unpunctuated_top5": 0.3999,
        "kn_trigram_unpunctuated_perplexity": 150.25,
    }
    write_report(tmp_path / "report.md", metrics, baselines, figures=["reliability.png"])
    text = (tmp_path / "report.md").read_text()
    assert "| LSTMs blended with the n-gram model (ours) | 89.60% | 80.00% |" in text
    assert "| the LSTMs alone | 89.10% | 75.00% |" in text
    assert "| the n-gram model alone | 88.70% | 76.00% |" in text
    assert "| NB-LR uni-to-trigrams (Wang & Manning 2012) | 91.76% | 70.00% |" in text
    assert "| TF-IDF uni+bigrams + logistic regression | 90.84% | – |" in text
    assert (
        "| LSTM language model + cache + trigram (ours, served) | 23.45% | 43.21% | 98.8 "
        "| 21.01% | 41.02% | 120.5 |"
    ) in text
    assert "| LSTM language model alone | 23.01% | 42.99% | 101.2 | – | – | – |" in text
    assert (
        "| Kneser-Ney trigram of the matching form | 20.00% | 41.65% | 126.9 "
        "| 20.02% | 39.99% | 150.2 |"
    ) in text
    assert (
        "| Kneser-Ney trigram, ranking punctuation too | 19.00% | 40.01% | – | – | – | – |" in text
    )
    assert "| ours | 51.00% | 91.00% |" in text
    assert "| Kneser-Ney trigram | 45.00% | 90.00% |" in text
    assert "| sentiment_val_reviews | 2,500 |" in text
    assert "![reliability](reliability.png)" in text


def test_write_report_without_baselines(tmp_path: Path) -> None:
    write_report(tmp_path / "report.md", {"sentiment_accuracy": 0.5}, {})
    text = (tmp_path / "report.md").read_text()
    assert "| LSTM classifier (ours) | 50.00% | – |" in text
    assert "| LSTM language model (ours, served) | – | – | – | – | – | – |" in text
    assert "TF-IDF" not in text and "Kneser-Ney" not in text
