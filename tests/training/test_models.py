"""The next-word model's continuous cache: who votes, for what, and how the votes mix in."""

import numpy as np
import pytest
import tensorflow as tf

from training.config import load_config
from training.evaluate import fit_next_word_mix, next_word_metrics
from training.models import LanguageModel, NextWordMix, cache_votes, next_word_probabilities
from training.text import OOV_ID, PAD_ID

VOCAB = 12
# One text: 5 7 1(OOV) 9 5 ? and padding; position i votes for the token at i + 1.
TOKENS = tf.constant([[5, 7, OOV_ID, 9, 5, PAD_ID]])
# Hidden states: position 4 (the second 5) is exactly like position 0 (the first 5).
HIDDEN = tf.constant([[[1.0, 0], [0, 1], [0, 1], [0, 1], [1, 0], [0, 0]]])


def votes_of(query: int, theta: float) -> dict[int, float]:
    weights, followers = cache_votes(HIDDEN, TOKENS, tf.constant([[query]]), theta)
    totals: dict[int, float] = {}
    for weight, word in zip(weights.numpy()[0, 0], followers.numpy()[0], strict=True):
        if weight > 0:
            totals[int(word)] = totals.get(int(word), 0.0) + float(weight)
    return totals


def test_only_earlier_positions_vote_for_real_words() -> None:
    assert votes_of(0, theta=1.0) == {}  # the first word has no history
    assert votes_of(1, theta=1.0) == {7: pytest.approx(1.0)}
    assert set(votes_of(4, theta=1.0)) == {7, 9, 5}  # never the out-of-vocabulary token


def test_like_positions_get_the_most_weight() -> None:
    # After the second 5, the position most like it is the first 5, which was followed by 7.
    sharp = votes_of(4, theta=50.0)
    assert sharp[7] == pytest.approx(1.0, abs=1e-6)
    flat = votes_of(4, theta=0.0)  # theta 0: every earlier real follower counts the same
    assert flat == {7: pytest.approx(1 / 3), 9: pytest.approx(1 / 3), 5: pytest.approx(1 / 3)}


def test_mixed_probabilities_stay_a_distribution_over_real_words() -> None:
    model = LanguageModel(load_config("tiny").override(vocab_size=VOCAB, embedding_dim=2))
    model(TOKENS)  # builds the weights
    queries = tf.constant([[0, 4]])
    alone = next_word_probabilities(model, HIDDEN, TOKENS, queries, None).numpy()
    mixed = next_word_probabilities(
        model, HIDDEN, TOKENS, queries, NextWordMix(cache_theta=50.0, cache_weight=0.5)
    ).numpy()

    np.testing.assert_allclose(mixed.sum(axis=-1), 1.0, atol=1e-5)
    assert mixed[..., [PAD_ID, OOV_ID]].max() < 1e-6
    np.testing.assert_allclose(mixed[0, 0], alone[0, 0], atol=1e-6)  # no history: model alone
    assert mixed[0, 1, 7] == pytest.approx(0.5 * alone[0, 1, 7] + 0.5, abs=1e-5)


def test_a_cache_is_fitted_and_pays_off_where_texts_repeat_themselves() -> None:
    # An untrained model cannot guess how each text goes on; its cache can: every text is the
    # same four words over and over.
    rng = np.random.default_rng(0)
    words = [rng.choice(np.arange(2, 40), 4, replace=False) for _ in range(30)]
    docs = [np.tile(four, 6).astype(np.int32) for four in words]
    model = LanguageModel(load_config("tiny").override(vocab_size=40))

    mix = fit_next_word_mix(model, None, docs[15:], context=24, max_positions=300)
    metrics = next_word_metrics(model, docs[:15], context=24, max_positions=300, mix=mix)

    assert mix.cache_weight > 0.1
    assert metrics["next_word_top5"] > metrics["next_word_lstm_top5"] + 0.5
    assert metrics["next_word_perplexity"] < metrics["next_word_lstm_perplexity"]
    assert metrics["next_word_cache_weight"] == mix.cache_weight
