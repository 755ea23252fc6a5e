"""Next-word evaluation: the positions it scores and the context each one reads."""

import numpy as np
import pytest

from training.baselines import kneser_ney_trigram
from training.config import load_config
from training.evaluate import STRIDE, next_word_metrics, next_word_windows
from training.models import LanguageModel

RNG = np.random.default_rng(0)
DOCS = [RNG.integers(2, 50, size=n).astype(np.int32) for n in (1, 5, 40, 17, 33, 2)]


def scored_pairs(inputs: np.ndarray, targets: np.ndarray, scored: np.ndarray) -> list:
    """(context read, target) of every scored position, in order."""
    return [
        (inputs[i, : j + 1][inputs[i, : j + 1] != 0].tolist(), int(targets[i, j]))
        for i, j in zip(*np.nonzero(scored), strict=True)
    ]


@pytest.mark.parametrize("context", [1, 4, 16, 40])
def test_windows_score_every_word_after_the_first_with_its_own_history(context: int) -> None:
    pairs = scored_pairs(*next_word_windows(DOCS, context, max_positions=10_000))
    expected = [
        (doc[max(0, t - context) : t].tolist(), int(doc[t]))  # at least `context` words
        for doc in DOCS
        for t in range(1, len(doc))
    ]
    assert [target for _, target in pairs] == [target for _, target in expected]
    for (read, _), (needed, _) in zip(pairs, expected, strict=True):
        assert read[-len(needed) :] == needed  # the words just before, from its own document
        assert len(read) < context + STRIDE


def test_windows_stop_at_max_positions_like_the_trigram() -> None:
    for limit in (1, 10, 50, 10_000):
        scored = next_word_windows(DOCS, 8, max_positions=limit)[2]
        trigram = kneser_ney_trigram(DOCS, DOCS, 50, max_eval_positions=limit)
        assert scored.sum() == trigram["kn_trigram_eval_positions"] == min(limit, 92)


def test_next_word_metrics_of_a_tiny_model() -> None:
    config = load_config("tiny").override(vocab_size=50)
    model = LanguageModel(config)
    metrics = next_word_metrics(model, DOCS, context=8, max_positions=60)
    assert metrics["next_word_eval_positions"] == 60
    assert 0 <= metrics["next_word_top1"] <= metrics["next_word_top5"] <= 1
    assert 1 < metrics["next_word_perplexity"] < 1_000  # an untrained model: about the vocabulary


def test_word_targets_rank_words_only_and_punctuation_is_scored_apart() -> None:
    config = load_config("tiny").override(vocab_size=50)
    model = LanguageModel(config)
    marks = np.array([2, 3, 4], np.int32)  # the ids this test calls punctuation
    docs = [np.where(np.isin(doc, [5, 6]), doc - 3, doc) for doc in DOCS]  # plenty of them
    metrics = next_word_metrics(model, docs, context=8, max_positions=10_000, punctuation=marks)
    is_mark = np.isin(np.concatenate([doc[1:] for doc in docs]), marks)
    assert metrics["next_word_word_positions"] == int((~is_mark).sum())
    assert metrics["next_word_punctuation_positions"] == int(is_mark.sum())
    assert 0 <= metrics["next_word_punctuation_top1"] <= metrics["next_word_punctuation_top5"] <= 1
    # The same positions in another form are keyed apart.
    unpunctuated = [doc[~np.isin(doc, marks)] for doc in docs]
    other = next_word_metrics(
        model, unpunctuated, 8, 10_000, punctuation=marks, form="_unpunctuated"
    )
    assert "next_word_unpunctuated_top5" in other and "next_word_top5" not in other
    assert "next_word_unpunctuated_punctuation_top1" not in other  # no punctuation to score


def test_a_model_that_only_foresees_punctuation_suggests_words_anyway() -> None:
    """Banning punctuation from the ranking moves the words up: with the punctuation logits far
    above every word's, the words-only top-5 still hits word targets its all-token top-5 misses."""
    config = load_config("tiny").override(vocab_size=50)
    model = LanguageModel(config)
    model(np.zeros((1, 2), np.int32))  # build
    marks = np.arange(2, 12, dtype=np.int32)
    bias = np.zeros(50, np.float32)
    bias[marks] = 10.0  # ten punctuation tokens, each likelier than any word
    bias[12:16] = 5.0  # then the four words of the texts
    model.output_bias.assign(bias)
    docs = [RNG.integers(12, 16, size=60).astype(np.int32) for _ in range(3)]  # words only
    ranked_words = next_word_metrics(model, docs, 8, 10_000, punctuation=marks)
    every_token = next_word_metrics(model, docs, 8, 10_000)
    assert every_token["next_word_top5"] == 0.0
    assert ranked_words["next_word_top5"] == 1.0  # the four words come next
