"""Scoring texts in-process with a version's SavedModels, through the `serving_default`
signatures the service calls (model/README.md), so the figures are the API's.

Texts are sorted by length into model calls, as the service's micro-batcher does (the graph pads
a call to its longest text): at most `max_texts` texts and `max_words` padded words a call, the
longest at most `ratio` x the shortest + `slack` words. Results come back in the texts' order.
Probabilities are rounded to 6 digits and labelled from the rounded value, as the API answers.

Only TensorFlow and NumPy are needed here: Ray workers import this module alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

# The service's micro-batching defaults (service settings batch_max_texts, batch_max_words,
# batch_length_ratio, batch_length_slack).
MAX_TEXTS = 64
MAX_WORDS = 8192
RATIO = 2.0
SLACK = 16


@dataclass(frozen=True)
class Batching:
    max_texts: int = MAX_TEXTS
    max_words: int = MAX_WORDS
    ratio: float = RATIO
    slack: int = SLACK


def plan_calls(lengths: list[int], batching: Batching) -> list[list[int]]:
    """Indices of the texts grouped into model calls, shortest texts first."""
    calls: list[list[int]] = []
    limit = 0.0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        size = len(calls[-1]) + 1 if calls else 1
        fits = size <= batching.max_texts and size * lengths[i] <= batching.max_words
        if size > 1 and fits and lengths[i] <= limit:
            calls[-1].append(i)
        else:
            calls.append([i])
            limit = lengths[i] * batching.ratio + batching.slack
    return calls


def label_of(probability: float) -> str:
    return "positive" if probability >= 0.5 else "negative"


def load_signature(path: Path) -> tuple[Any, Any]:
    """(the loaded module, its serving_default signature); the module owns the variables."""
    import tensorflow as tf

    module = tf.saved_model.load(str(path))
    return module, module.signatures["serving_default"]


class Scorer:
    """The sentiment of texts and, with `next_word_path` and `k`, the k likeliest next words."""

    def __init__(
        self,
        sentiment_path: Path | None,
        next_word_path: Path | None = None,
        k: int = 0,
        batching: Batching | None = None,
    ) -> None:
        self._sentiment = load_signature(sentiment_path) if sentiment_path else None
        self._next_word = load_signature(next_word_path) if next_word_path and k else None
        self.k = k if self._next_word else 0
        self.batching = batching or Batching()

    def probabilities(self, texts: list[str]) -> list[float]:
        """P(positive) of each text, rounded to 6 digits as the API answers."""
        import tensorflow as tf

        assert self._sentiment is not None
        found: list[float] = [0.0] * len(texts)
        for call in plan_calls(_word_counts(texts), self.batching):
            batch = tf.constant([texts[i] for i in call], dtype=tf.string)
            out = self._sentiment[1](texts=batch)["positive_probability"]
            for i, p in zip(call, tf.reshape(out, [-1]).numpy().tolist(), strict=True):
                found[i] = round(p, 6)
        return found

    def next_words(self, texts: list[str]) -> list[list[str]]:
        """The `k` likeliest words after each text, likeliest first."""
        import tensorflow as tf

        assert self._next_word is not None
        found: list[list[str]] = [[] for _ in texts]
        k = tf.constant(self.k, dtype=tf.int32)
        for call in plan_calls(_word_counts(texts), self.batching):
            batch = tf.constant([texts[i] for i in call], dtype=tf.string)
            words = self._next_word[1](texts=batch, k=k)["words"].numpy().tolist()
            for i, row in zip(call, words, strict=True):
                found[i] = [w.decode("utf-8", "replace") for w in row]
        return found


def _word_counts(texts: list[str]) -> list[int]:
    """Whitespace word counts: what the service sorts by, standing in for the token counts."""
    return [text.count(" ") + 1 for text in texts]
