"""Next-word evaluation on held-out reviews, position for position like the trigram baseline.

Every token of a validation review from its second on is predicted, in the documents and order
that `baselines.kneser_ney_trigram` scores, so both models answer for the very same positions.
Each prediction reads what the served model reads: the words before it in its own review, the
last `context` of them (a little more, up to `context + STRIDE - 1`, for most positions: an
LSTM's state cannot drop its oldest word, so windows of `context + STRIDE` tokens advance by
STRIDE and each scores its last STRIDE positions). Cutting the reviews into training windows
instead would leave the first words of every window with almost no history, which the trigram,
reading each review whole, never lacks.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from training.models import LanguageModel

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
    language_model: LanguageModel, docs: list[np.ndarray], context: int, max_positions: int
) -> dict[str, float]:
    """Perplexity and top-1 / top-5 accuracy over the scored positions of `docs`."""
    inputs, targets, scored = next_word_windows(docs, context, max_positions)

    @tf.function(reduce_retracing=True)
    def score(tokens: tf.Tensor, next_tokens: tf.Tensor, counted: tf.Tensor) -> tf.Tensor:
        hidden = tf.boolean_mask(language_model(tokens, training=False), counted)
        loss, top1, top5 = language_model.score(hidden, tf.boolean_mask(next_tokens, counted))
        return tf.stack([tf.reduce_sum(loss), tf.reduce_sum(top1), tf.reduce_sum(top5)])

    totals = np.zeros(3)
    for start in range(0, len(inputs), 128):
        batch = slice(start, start + 128)
        totals += score(inputs[batch], targets[batch], scored[batch]).numpy()
    count = max(int(scored.sum()), 1)
    return {
        "next_word_perplexity": float(np.exp(totals[0] / count)),
        "next_word_top1": float(totals[1] / count),
        "next_word_top5": float(totals[2] / count),
        "next_word_eval_positions": int(scored.sum()),
    }
