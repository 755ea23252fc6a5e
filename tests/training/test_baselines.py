"""Baselines on generated data: separable reviews the linear models must get right, and token
streams with a strong trigram structure the Kneser-Ney model must learn."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from trigram_data import VOCAB, trigram_documents

from training.baselines import (
    kneser_ney_trigram,
    nb_logistic_regression,
    preprocess,
    sentiment_baselines,
    tfidf_logistic_regression,
)
from training.ngram_model import log_count_ratio

POSITIVE = "great wonderful excellent loved brilliant superb moving fantastic".split()
NEGATIVE = "awful terrible boring hated dull worst poor waste".split()
FILLER = "the movie film plot actors story was and a it this i of to is with".split()


def make_reviews(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Filler with three cue words of the review's class and one of the other (noise)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for index in range(count):
        label = index % 2
        cues, noise = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        words = [rng.choice(FILLER) for _ in range(rng.randint(10, 30))]
        for word in [rng.choice(cues) for _ in range(3)] + [rng.choice(noise)]:
            words.insert(rng.randrange(len(words)), word)
        texts.append(" ".join(words).capitalize() + ".<br /><br />The end!")
        labels.append(label)
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def reviews() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    train_texts, train_labels = make_reviews(400, seed=0)
    val_texts, val_labels = make_reviews(200, seed=1)
    return train_texts, train_labels, val_texts, val_labels


def test_strip_line_breaks_in_preprocess() -> None:
    assert preprocess("Great<br /><br />FILM!") == "great  film!"


def test_score_tfidf_logistic_regression_on_separable_reviews(reviews) -> None:
    train_texts, train_labels, val_texts, val_labels = reviews
    predict = tfidf_logistic_regression(train_texts, train_labels)
    assert np.mean((predict(val_texts) >= 0.5) == val_labels) > 0.8


def test_score_nb_logistic_regression_on_separable_reviews(reviews) -> None:
    train_texts, train_labels, val_texts, val_labels = reviews
    predict = nb_logistic_regression(train_texts, train_labels)
    assert np.mean((predict(val_texts) >= 0.5) == val_labels) > 0.8


def test_return_sentiment_baselines_for_each_set(reviews) -> None:
    train_texts, train_labels, val_texts, val_labels = reviews
    eval_sets = {
        "accuracy": (val_texts, val_labels),
        "short_accuracy": (val_texts[:50], val_labels[:50]),
    }
    behaviour: dict[str, dict[str, float]] = {}
    results = sentiment_baselines(train_texts, train_labels, eval_sets, 3, behaviour)
    assert set(behaviour) == {"tfidf_lr", "nb_lr"}
    assert all(0.0 <= rate <= 1.0 for rates in behaviour.values() for rate in rates.values())
    assert set(results) == {
        "tfidf_lr_accuracy",
        "tfidf_lr_short_accuracy",
        "nb_lr_accuracy",
        "nb_lr_short_accuracy",
    }
    assert all(0.8 < value <= 1.0 for value in results.values())


def test_compute_log_count_ratio_signs() -> None:
    # feature 0 only in positive documents, feature 1 only in negative ones, feature 2 in both
    features = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float32)
    r = log_count_ratio(features, np.array([1, 1, 0, 0]))
    assert r[0] > 0 > r[1]
    assert r[2] == pytest.approx(0.0, abs=1e-6)


# --- Kneser-Ney trigram -------------------------------------------------------------------------


def test_score_kneser_ney_trigram_above_unigram_guess() -> None:
    train, val = trigram_documents(300, seed=0), trigram_documents(60, seed=1)
    results = kneser_ney_trigram(train, val, VOCAB)

    # the best context-free guess: the most frequent rankable training word, every time
    frequent = Counter(int(t) for doc in train for t in doc if t > 1).most_common(1)[0][0]
    targets = np.concatenate([doc[1:] for doc in val])
    assert results["kn_trigram_eval_positions"] == len(targets)
    assert results["kn_trigram_top1"] > 0.8
    assert results["kn_trigram_top1"] > np.mean(targets == frequent) + 0.5
    assert results["kn_trigram_top1"] <= results["kn_trigram_top5"] <= 1.0
    assert 1.0 < results["kn_trigram_perplexity"] < 5.0


def test_cap_kneser_ney_eval_positions() -> None:
    train, val = trigram_documents(50, seed=0), trigram_documents(20, seed=1)
    assert (
        kneser_ney_trigram(train, val, VOCAB, max_eval_positions=75)["kn_trigram_eval_positions"]
        == 75
    )


def test_never_rank_excluded_ids() -> None:
    # "2 3 X" repeated: X is [UNK] four times in five, else 4. Only when [UNK] cannot be
    # suggested does 4 win after (2, 3); then exactly the [UNK] targets are missed.
    rng = np.random.default_rng(0)
    documents = [
        np.array([t for x in rng.random(30) for t in (2, 3, 1 if x < 0.8 else 4)], np.int32)
        for _ in range(40)
    ]
    targets = np.concatenate([doc[1:] for doc in documents])
    excluded = kneser_ney_trigram(documents, documents, 5, excluded_ids=(0, 1))
    assert excluded["kn_trigram_top1"] == pytest.approx(np.mean(targets != 1))
    allowed = kneser_ney_trigram(documents, documents, 5, excluded_ids=(0,))
    assert allowed["kn_trigram_top1"] == pytest.approx(np.mean(targets != 4))
    assert math.isfinite(excluded["kn_trigram_perplexity"])
    assert excluded["kn_trigram_perplexity"] == pytest.approx(allowed["kn_trigram_perplexity"])


def test_kneser_ney_word_targets_rank_words_only() -> None:
    rng = np.random.default_rng(3)
    marks = np.array([2, 3], np.int64)
    docs = [rng.integers(2, 12, size=200).astype(np.int32) for _ in range(4)]
    results = kneser_ney_trigram(docs, docs, 12, punctuation=marks)
    targets = np.concatenate([doc[1:] for doc in docs])
    assert results["kn_trigram_word_positions"] == int((~np.isin(targets, marks)).sum())
    assert results["kn_trigram_punctuation_positions"] == int(np.isin(targets, marks).sum())
    # Banning punctuation can only move a word target up the ranking.
    assert results["kn_trigram_top1"] >= results["kn_trigram_all_tokens_top1"]
    assert results["kn_trigram_top5"] >= results["kn_trigram_all_tokens_top5"]
    assert results["kn_trigram_top5"] > results["kn_trigram_all_tokens_top5"]  # ten ids, two banned
    other = kneser_ney_trigram(docs, docs, 12, form="_unpunctuated")
    assert set(other) == {
        "kn_trigram_unpunctuated_top1",
        "kn_trigram_unpunctuated_top5",
        "kn_trigram_unpunctuated_perplexity",
        "kn_trigram_unpunctuated_eval_positions",
        "kn_trigram_unpunctuated_word_positions",
    }
