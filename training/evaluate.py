"""Next-word evaluation on held-out reviews, position for position like the trigram baseline.

Every token of a validation review from its second on is predicted, in the documents and order
that `baselines.kneser_ney_trigram` scores, so both models answer for the very same positions.
Each prediction reads what the served model reads: the words before it in its own review, the
last `context` of them (a little more, up to `context + STRIDE - 1`, for most positions: an
LSTM's state cannot drop its oldest word, so windows of `context + STRIDE` tokens advance by
STRIDE and each scores its last STRIDE positions). Cutting the reviews into training windows
instead would leave the first words of every window with almost no history, which the trigram,
reading each review whole, never lacks.

What the next-word model mixes into its softmax (`models.NextWordMix`: a cache of the text's own
history and a trigram model) is weighed here, on held-out reviews the metrics do not score, as the
sentiment model's blend weights are fitted on validation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from training.models import LanguageModel, NextWordMix, cache_votes, mixed_probabilities
from training.text import id_mask
from training.trigram_model import TrigramProbabilities

STRIDE = 16  # positions scored per window: 1 + context / STRIDE LSTM steps per scored word


def next_word_windows(
    docs: list[np.ndarray], context: int, max_positions: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, targets, scored), each (n, context + STRIDE): token windows right-padded with 0,
    the token after each input position, and which of those targets count. Positions 1.. of
    each document in turn, the first `max_positions` of them."""
    rows: list[tuple[np.ndarray, int, int]] = []  # (doc, start, first scored target)
    remaining = max_positions
    for doc in docs:
        for first in range(1, len(doc), STRIDE):
            if remaining > 0:
                rows.append((doc, max(0, first - context), first))
                remaining -= min(STRIDE, len(doc) - first)
    width = context + STRIDE
    inputs = np.zeros((len(rows), width), np.int32)
    targets = np.zeros((len(rows), width), np.int32)
    scored = np.zeros((len(rows), width), bool)
    budget = max_positions
    for i, (doc, start, first) in enumerate(rows):
        last = min(first + STRIDE, len(doc), first + budget)  # one past the last scored target
        inputs[i, : last - 1 - start] = doc[start : last - 1]
        targets[i, : last - 1 - start] = doc[start + 1 : last]
        scored[i, first - 1 - start : last - 1 - start] = True
        budget -= last - first
    return inputs, targets, scored


def next_word_metrics(
    language_model: LanguageModel,
    docs: list[np.ndarray],
    context: int,
    max_positions: int,
    mix: NextWordMix | None = None,
    punctuation: np.ndarray | None = None,
    form: str = "",
) -> dict[str, float]:
    """Next-word figures over the scored positions of `docs`, keyed `next_word{form}_*` for what
    is served (the language model with its mix) and `next_word_lstm{form}_*` for the language
    model alone:

    - `top1` / `top5`: at positions whose next token is a word, is it the first / among the first
      five suggestions? Suggestions are words, as served: the `punctuation` ids are not ranked.
    - `perplexity`: of every next token, punctuation included.
    - `punctuation_top1` / `_top5` (when `docs` have punctuation): at positions whose next token
      is punctuation, its rank among every token (how well the model foresees it)."""
    banned = id_mask(
        np.zeros(0, np.int32) if punctuation is None else punctuation, language_model.vocab_size
    )
    words_only = tf.constant(1.0 - banned)

    def hits(probabilities: tf.Tensor, targets: tf.Tensor) -> list[tf.Tensor]:
        """top-1 and top-5 among words, then among every token."""
        found = []
        for ranked in (probabilities * words_only, probabilities):
            found += [tf.cast(tf.math.in_top_k(targets, ranked, k), tf.float32) for k in (1, 5)]
        return found

    @tf.function(reduce_retracing=True)
    def score(tokens: tf.Tensor, queries: tf.Tensor, targets: tf.Tensor, counted: tf.Tensor):
        """(scored positions, 11): each position's figures, see `columns` below."""
        hidden = language_model(tokens, training=False)
        picked = tf.boolean_mask(tf.gather(hidden, queries, batch_dims=1), counted)
        scored_targets = tf.boolean_mask(targets, counted)
        loss = language_model.score(picked, scored_targets)[0]
        alone = tf.nn.softmax(language_model.next_word_logits(picked))
        if mix is None:
            served_loss, served = loss, alone
        else:
            trigram = mix.trigram.after(tokens, queries) if mix.trigram is not None else None
            target, voted = _target_votes(hidden, tokens, queries, targets, mix.cache_theta)
            in_trigram = (
                tf.zeros_like(target)
                if trigram is None
                else tf.gather(trigram, targets, batch_dims=2)
            )
            parts = (tf.boolean_mask(x, counted) for x in (target, voted, in_trigram))
            served_loss = -tf.math.log(_mixed(tf.exp(-loss), *parts, mix))
            served = tf.boolean_mask(
                mixed_probabilities(language_model, hidden, tokens, queries, mix, trigram), counted
            )
        is_punctuation = tf.gather(tf.constant(banned), scored_targets)
        return tf.stack(
            [loss, served_loss, *hits(alone, scored_targets), *hits(served, scored_targets)]
            + [is_punctuation],
            axis=-1,
        )

    table = np.concatenate(
        [score(*batch).numpy() for batch in _scored_batches(docs, context, max_positions)]
        or [np.zeros((0, 11))]
    )
    return _summary(table, form, mix)


def _summary(table: np.ndarray, form: str, mix: NextWordMix | None) -> dict[str, float]:
    """The figures of `next_word_metrics` from its table of per-position scores."""
    columns = dict(
        zip(
            "lstm_loss loss lstm_top1 lstm_top5 lstm_all_top1 lstm_all_top5 "
            "top1 top5 all_top1 all_top5 is_punctuation".split(),
            table.T,
            strict=True,
        )
    )
    word, mark = columns["is_punctuation"] == 0, columns["is_punctuation"] == 1
    found: dict[str, float] = {}
    for who, prefix in (("", "next_word"), ("lstm_", "next_word_lstm")):
        found |= {
            f"{prefix}{form}_perplexity": _mean_exp(columns[f"{who}loss"]),
            f"{prefix}{form}_top1": _mean(columns[f"{who}top1"][word]),
            f"{prefix}{form}_top5": _mean(columns[f"{who}top5"][word]),
        }
    found[f"next_word{form}_eval_positions"] = len(table)
    found[f"next_word{form}_word_positions"] = int(word.sum())
    if mark.any():
        found |= {
            f"next_word{form}_punctuation_top1": _mean(columns["all_top1"][mark]),
            f"next_word{form}_punctuation_top5": _mean(columns["all_top5"][mark]),
            f"next_word{form}_punctuation_positions": int(mark.sum()),
        }
    if not form:
        mix = mix or NextWordMix()
        found |= {
            "next_word_cache_theta": mix.cache_theta,
            "next_word_cache_weight": mix.cache_weight,
            "next_word_trigram_weight": mix.trigram_weight,
        }
    return found


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def _mean_exp(losses: np.ndarray) -> float:
    return float(np.exp(losses.mean())) if len(losses) else 0.0


def fit_next_word_mix(
    language_model: LanguageModel,
    trigram: TrigramProbabilities | None,
    docs: list[np.ndarray],
    context: int,
    max_positions: int,
) -> NextWordMix:
    """The mix's cache theta, cache weight and trigram weight that maximise the likelihood of
    the next words of `docs` (held-out text the metrics do not score), by grid search."""
    thetas = (0.1, 0.2, 0.3, 0.5, 0.8)
    cache_weights = np.linspace(0.0, 0.3, 31)[:, None]
    trigram_weights = (
        np.linspace(0.0, 0.8, 17)[None, :] if trigram is not None else np.zeros((1, 1))
    )

    @tf.function(reduce_retracing=True)
    def columns(tokens: tf.Tensor, queries: tf.Tensor, targets: tf.Tensor, counted: tf.Tensor):
        """(positions, 2 + 2 * thetas): the language model's and the trigram's probability of
        each next word, then per theta the cache's votes for it and its votes in all."""
        hidden = language_model(tokens, training=False)
        loss = language_model.score(
            tf.boolean_mask(tf.gather(hidden, queries, batch_dims=1), counted),
            tf.boolean_mask(targets, counted),
        )[0]
        parts = [tf.exp(-loss)]
        for theta in thetas:
            votes = _target_votes(hidden, tokens, queries, targets, theta)
            parts += [tf.boolean_mask(part, counted) for part in votes]
        parts.append(tf.boolean_mask(_trigram_target(trigram, tokens, queries, targets), counted))
        return tf.stack(parts, axis=-1)

    table = np.concatenate(
        [columns(*batch).numpy() for batch in _scored_batches(docs, context, max_positions)]
    )
    model, in_trigram = table[:, 0, None, None], table[:, -1, None, None]
    candidates = []
    for i, theta in enumerate(thetas):
        target, voted = table[:, 1 + 2 * i, None, None], table[:, 2 + 2 * i, None, None]
        with_cache = (1 - cache_weights * voted) * model + cache_weights * target
        mixed = (1 - trigram_weights) * with_cache + trigram_weights * in_trigram
        log_likelihood = np.log(np.maximum(mixed, 1e-30)).mean(axis=0)  # (cache, trigram)
        best = np.unravel_index(np.argmax(log_likelihood), log_likelihood.shape)
        candidates.append(
            (
                log_likelihood[best],
                theta,
                float(cache_weights[best[0], 0]),
                float(trigram_weights[0, best[1]]),
            )
        )
    _, theta, cache_weight, trigram_weight = max(candidates)
    return NextWordMix(theta, cache_weight, trigram, trigram_weight)


def _trigram_target(
    trigram: TrigramProbabilities | None, tokens: tf.Tensor, queries: tf.Tensor, targets: tf.Tensor
) -> tf.Tensor:
    """(batch, q) the trigram's probability of the true next word (0 without a trigram)."""
    if trigram is None:
        return tf.zeros(tf.shape(queries), tf.float32)
    return tf.gather(trigram.after(tokens, queries), targets, batch_dims=2)


def _mixed(
    model: tf.Tensor, target: tf.Tensor, voted: tf.Tensor, trigram: tf.Tensor, mix: NextWordMix
) -> tf.Tensor:
    """The served probability of the true next word, from its parts (`models.NextWordMix`)."""
    with_cache = (1 - mix.cache_weight * voted) * model + mix.cache_weight * target
    return (1 - mix.trigram_weight) * with_cache + mix.trigram_weight * trigram


def _target_votes(
    hidden: tf.Tensor, tokens: tf.Tensor, queries: tf.Tensor, targets: tf.Tensor, theta: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """(batch, q) each: the cache's votes for the true next word, and its votes in all."""
    weights, followers = cache_votes(hidden, tokens, queries, theta)
    hits = tf.cast(tf.equal(followers[:, None, :], targets[:, :, None]), weights.dtype)
    return tf.reduce_sum(weights * hits, axis=-1), tf.reduce_sum(weights, axis=-1)


def _scored_batches(
    docs: list[np.ndarray], context: int, max_positions: int, batch_size: int = 64
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of (tokens, queries, targets, counted): windows, the STRIDE positions of each
    whose next word is scored, those next words, and which of them count (a window's last
    rows may score fewer)."""
    inputs, next_tokens, scored = next_word_windows(docs, context, max_positions)
    first = np.argmax(scored, axis=1)[:, None] + np.arange(STRIDE)[None, :]
    queries = np.minimum(first, scored.shape[1] - 1).astype(np.int32)
    counted = np.take_along_axis(scored, queries, axis=1) & (first < scored.shape[1])
    targets = np.take_along_axis(next_tokens, queries, axis=1)
    for start in range(0, len(inputs), batch_size):
        rows = slice(start, start + batch_size)
        yield inputs[rows], queries[rows], targets[rows], counted[rows]
