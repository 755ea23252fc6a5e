"""The next-word model's trigram member: Kneser-Ney as the textbook defines it, its pruning, the
TensorFlow layer that serves it, and how it is mixed into the language model's prediction."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from trigram_data import VOCAB, trigram_documents

from training.config import load_config
from training.evaluate import fit_next_word_mix, next_word_metrics
from training.models import LanguageModel, NextWordMix, next_word_probabilities
from training.text import OOV_ID, PAD_ID
from training.trigram_model import (
    KneserNeyTrigram,
    TrigramProbabilities,
    fit_frequent_kneser_ney,
    fit_kneser_ney,
    frequent_trigrams,
    keep_trigrams,
    trigram_probabilities,
)


def random_documents(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 12, rng.integers(0, 40)).astype(np.int32) for _ in range(count)]


@pytest.fixture(scope="module")
def model() -> KneserNeyTrigram:
    return fit_kneser_ney(random_documents(200, seed=0), VOCAB, zero_mass=(PAD_ID,))


def histories(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) pairs, seen and unseen; u = VOCAB is the begin-of-document marker."""
    rng = np.random.default_rng(seed)
    u = np.append(rng.integers(1, 12, size=count), [VOCAB, VOCAB])
    v = np.append(rng.integers(1, 12, size=count), [3, 30])
    return u, v


def test_sum_kneser_ney_probabilities_to_one(model: KneserNeyTrigram) -> None:
    rng = np.random.default_rng(1)
    u = np.append(rng.integers(1, VOCAB + 1, size=50), VOCAB)  # VOCAB is begin-of-document
    v = np.append(rng.integers(1, VOCAB, size=50), 7)
    probs = trigram_probabilities(model, u, v)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert np.all(probs[:, 0] == 0)  # padding has no mass
    assert np.all(probs[:, 1:] > 0)  # every word, seen or not, keeps some


def reference_probability(documents: list[list[int]], size: int, u: int, v: int, w: int) -> float:
    """Interpolated Kneser-Ney from the textbook formulas, with dictionaries (D = 0.75)."""
    bos, d = size, 0.75
    trigrams: Counter = Counter()
    bigram_types = set()
    for doc in documents:
        padded = [bos, *doc]
        bigram_types |= set(zip(padded, padded[1:], strict=False))
        trigrams.update(zip(padded, padded[1:], padded[2:], strict=False))
    continuation = Counter((b, c) for (_, b, c) in trigrams)  # N1+(. v w)
    left = Counter(c for (_, c) in bigram_types)  # N1+(. w)

    def unigram(x: int) -> float:
        total = sum(left.values())
        return max(left[x] - d, 0) / total + d * len(left) / total / (size - 1)  # no padding

    def bigram(x: int) -> float:
        row = {c: n for (b, c), n in continuation.items() if b == v}
        if not row:
            return unigram(x)
        total = sum(row.values())
        return max(row.get(x, 0) - d, 0) / total + d * len(row) / total * unigram(x)

    row = {c: n for (a, b, c), n in trigrams.items() if (a, b) == (u, v)}
    if not row:
        return bigram(w)
    total = sum(row.values())
    return max(row.get(w, 0) - d, 0) / total + d * len(row) / total * bigram(w)


def test_match_kneser_ney_with_reference_formulas() -> None:
    documents = [[2, 3, 4, 2, 3, 5], [3, 4, 2, 1], [2, 3, 4], [5, 5, 5, 2]]
    size = 6
    model = fit_kneser_ney([np.array(doc) for doc in documents], size, zero_mass=(0,))
    histories = [(2, 3), (3, 4), (size, 2), (size, 5), (5, 5), (4, 4), (1, 2)]
    u, v = (np.array(column) for column in zip(*histories, strict=True))
    probs = trigram_probabilities(model, u, v)
    for row, (a, b) in enumerate(histories):
        for w in range(1, size):
            expected = reference_probability(documents, size, a, b, w)
            assert probs[row, w] == pytest.approx(expected), (a, b, w)


def test_pruning_drops_single_trigrams_and_keeps_a_distribution() -> None:
    # Twice: (2 3 4), (3 4 2), (4 2 3). Once: (BOS 2 3), (2 3 5).
    documents = [np.array([2, 3, 4, 2, 3, 4, 2, 3, 5], np.int32)]
    full = fit_kneser_ney(documents, 6, zero_mass=(PAD_ID,))
    pruned = keep_trigrams(full, frequent_trigrams(documents, 6))
    assert (full.trigram_rows.nnz, pruned.trigram_rows.nnz) == (5, 3)
    assert len(pruned.contexts) == len(full.contexts) - 1  # (BOS 2) has nothing left
    # After (2 3), 4 keeps its discounted count; 5 falls back to the bigram level.
    full_row, pruned_row = (
        trigram_probabilities(m, np.array([2]), np.array([3]))[0] for m in (full, pruned)
    )
    assert pruned_row[4] > full_row[4]
    assert pruned_row[5] < full_row[5]
    u, v = np.array([6, 2, 3, 4, 5, 1]), np.array([2, 3, 4, 2, 5, 1])  # 6: begin of document
    np.testing.assert_allclose(trigram_probabilities(pruned, u, v).sum(axis=1), 1.0)


def test_a_trigram_both_forms_share_is_counted_within_each_form() -> None:
    # (2 3 4) once as written and once without punctuation (7): seen once in each form.
    # (3 4 5) twice, in the unpunctuated form only.
    written = [np.array([2, 3, 4, 7, 3, 4, 5], np.int32)]
    unpunctuated = [np.array([2, 3, 4, 3, 4, 5, 3, 4, 5], np.int32)]
    size = 8
    served = fit_frequent_kneser_ney([written, unpunctuated], size, zero_mass=(PAD_ID,))
    key = lambda u, v, w: (u * (size + 1) + v) * size + w  # noqa: E731
    rows = served.trigram_rows
    kept = {
        int(served.contexts[row]) * size + int(word)
        for row in range(rows.shape[0])
        for word in rows.indices[rows.indptr[row] : rows.indptr[row + 1]]
    }
    assert kept == {key(3, 4, 5)}
    u, v = np.array([2, 3, 4, size]), np.array([3, 4, 3, 2])
    np.testing.assert_allclose(trigram_probabilities(served, u, v).sum(axis=1), 1.0)


def test_served_layer_computes_what_numpy_computes(model: KneserNeyTrigram) -> None:
    u, v = histories(100, seed=2)
    served = TrigramProbabilities(model)(tf.constant(u), tf.constant(v)).numpy()
    np.testing.assert_allclose(served, trigram_probabilities(model, u, v), atol=1e-6)


def test_the_layers_arrays_give_the_model_back(model: KneserNeyTrigram) -> None:
    u, v = histories(100, seed=3)
    back = TrigramProbabilities(model).counts()
    assert back.vocab_size == model.vocab_size
    np.testing.assert_allclose(
        trigram_probabilities(back, u, v), trigram_probabilities(model, u, v), atol=1e-6
    )


def test_a_query_reads_its_own_word_and_the_one_before(model: KneserNeyTrigram) -> None:
    tokens = tf.constant([[3, 4, 5, PAD_ID], [7, 8, PAD_ID, PAD_ID]])
    queries = tf.constant([[0, 2], [1, 1]])
    after = TrigramProbabilities(model).after(tokens, queries).numpy()
    expected = trigram_probabilities(model, np.array([VOCAB, 4, 7, 7]), np.array([3, 5, 8, 8]))
    np.testing.assert_allclose(after.reshape(4, VOCAB), expected, atol=1e-6)


def test_mixed_prediction_stays_a_distribution_over_real_words(model: KneserNeyTrigram) -> None:
    language_model = LanguageModel(load_config("tiny").override(vocab_size=VOCAB))
    tokens = tf.constant([[3, 4, 5, OOV_ID, 6]])
    queries = tf.constant([[0, 2, 4]])
    hidden = language_model(tokens)
    alone = next_word_probabilities(language_model, hidden, tokens, queries, None).numpy()
    trigram = TrigramProbabilities(model)
    mix = NextWordMix(cache_theta=0.5, cache_weight=0.2, trigram=trigram, trigram_weight=0.4)
    mixed = next_word_probabilities(language_model, hidden, tokens, queries, mix).numpy()
    np.testing.assert_allclose(mixed.sum(axis=-1), 1.0, atol=1e-5)
    assert mixed[..., [PAD_ID, OOV_ID]].max() < 1e-6
    # The first word has no history for the cache: the model and the trigram alone.
    counts = trigram.after(tokens, queries).numpy()[0, 0]
    counts[[PAD_ID, OOV_ID]] = 0
    expected = 0.6 * alone[0, 0] + 0.4 * counts / counts.sum()
    np.testing.assert_allclose(mixed[0, 0], expected, atol=1e-5)


def test_the_trigram_is_weighed_in_where_it_knows_better() -> None:
    # An untrained language model cannot know the rule the texts follow; the trigram learns it.
    train, held_out, scored = (trigram_documents(n, s) for n, s in [(200, 0), (30, 1), (30, 2)])
    language_model = LanguageModel(load_config("tiny").override(vocab_size=VOCAB))
    trigram = TrigramProbabilities(fit_kneser_ney(train, VOCAB, zero_mass=(PAD_ID,)))

    mix = fit_next_word_mix(language_model, trigram, held_out, context=16, max_positions=500)
    metrics = next_word_metrics(language_model, scored, context=16, max_positions=500, mix=mix)

    assert mix.trigram_weight > 0.5
    assert metrics["next_word_trigram_weight"] == mix.trigram_weight
    assert metrics["next_word_top1"] > 0.8 > metrics["next_word_lstm_top1"] + 0.5
    assert metrics["next_word_perplexity"] < metrics["next_word_lstm_perplexity"] / 2
