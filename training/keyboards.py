"""Keyboards for the typist of training/keystrokes.py: the exported next-word model, asked as the
service asks it, and the Kneser-Ney trigram alone with its vocabulary filtered by the typed
prefix (the classic n-gram keyboard, the baseline).

Both ask what POST /next-word asks for a text without `complete` (`question`): a text that ends
inside a word is completed, never offering the fragment itself, unless that fragment is a whole
word likelier than the other words it begins together (`finished`, by the keyboard's own
probabilities), then the words after it are suggested; a text with no context is read as
following a sentence boundary ("."). That is the service's rule (`suggest`
in service/serving/completion.py), restated here because training does not import the service;
tests/training/test_keyboards.py checks the two agree. Only the ranking differs between the
keyboards, so their figures compare the models.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from training.keystrokes import SUGGESTIONS, Answer
from training.text import OOV_ID, PAD_ID, PUNCTUATION, standardized
from training.trigram_model import KneserNeyTrigram, trigram_probabilities

FRAGMENT = re.compile(r"(?:[^\W_]|')+\Z")  # a text ending in one of these ends inside a word
START = "."  # what the model reads before the first word of a text
LAST = "\U0010ffff"  # sorts after every character a word can hold
RULE_WORDS = 16  # the likeliest completions whose probabilities decide if a word is finished

Tokenize = Callable[[list[str]], list[np.ndarray]]
Ranked = list[tuple[str, float]]  # words and their probabilities, likeliest first


class Vocabulary:
    """The words a next-word model suggests (every token but padding, [UNK] and punctuation),
    sorted, with their ids: the words that start with a prefix are one contiguous range."""

    def __init__(self, tokens: list[str]) -> None:
        excluded = {PAD_ID, OOV_ID}
        pairs = sorted(
            (word, i)
            for i, word in enumerate(tokens)
            if i not in excluded and word and word not in PUNCTUATION
        )
        self.words = [word for word, _ in pairs]
        self.ids = np.array([i for _, i in pairs], np.int64)

    def span(self, prefix: str) -> tuple[int, int]:
        prefix = prefix.lower()
        start = bisect_left(self.words, prefix)
        return start, bisect_left(self.words, prefix + LAST, start)

    def starting(self, prefix: str) -> np.ndarray:
        """The ids of the words that start with `prefix` (case-insensitively)."""
        start, end = self.span(prefix)
        return self.ids[start:end]

    def is_word(self, fragment: str) -> bool:
        start, end = self.span(fragment)
        return start < end and self.words[start] == fragment.lower()


def question(text: str) -> tuple[str, str | None]:
    """The text the model reads for `text`'s completion, and the fragment to complete (None:
    next words, `text` read whole)."""
    match = FRAGMENT.search(text)
    fragment = match.group().lstrip("'") if match else None  # a leading ' is a quote mark
    if fragment:
        text = text[: len(text) - len(fragment)]
    return context(text), fragment or None


def context(text: str) -> str:
    """What the model reads: a sentence boundary when nothing precedes the word."""
    return text if text.strip() else START


def finished(fragment: str | None, ranked: Ranked, vocabulary: Vocabulary) -> bool:
    """Whether a completion shows its fragment to be a finished word: a whole word likelier
    than the other words it begins together, among its `RULE_WORDS` likeliest completions
    `ranked` (or no word was ranked)."""
    if fragment is None or not vocabulary.is_word(fragment):
        return False
    if not ranked:
        return True
    (first, probability), others = ranked[0], ranked[1:RULE_WORDS]
    return first == fragment.lower() and probability > sum(p for _, p in others)


def _decode(rows: np.ndarray) -> list[list[str]]:
    return [[w.decode("utf-8", "replace") for w in row] for row in rows.tolist()]


class RuleKeyboard:
    """A keyboard asked by the service's rule: each text's completion (or next words), then,
    for a fragment that proves a finished word, the words after it. Subclasses rank
    (`_rank`: each (context, fragment or None) to its `n` likeliest words that start with the
    fragment, with their probabilities)."""

    vocabulary: Vocabulary
    k: int

    def __call__(self, texts: list[str]) -> list[Answer]:
        asked = [question(text) for text in texts]
        ranked = self._rank(asked, max(self.k + 1, RULE_WORDS))
        answers = [
            Answer([w for w, _ in found if w != fragment.lower()][: self.k], fragment)
            if fragment is not None
            else Answer([w for w, _ in found[: self.k]], None)
            for found, (_, fragment) in zip(ranked, asked, strict=True)
        ]
        again = [
            i
            for i, (found, (_, fragment)) in enumerate(zip(ranked, asked, strict=True))
            if finished(fragment, found, self.vocabulary)
        ]
        nexts = self._rank([(context(texts[i]), None) for i in again], self.k)
        for i, found in zip(again, nexts, strict=True):
            answers[i] = Answer([w for w, _ in found], None)
        return answers

    def _rank(self, asked: list[tuple[str, str | None]], n: int) -> list[Ranked]:
        raise NotImplementedError


class ModelKeyboard(RuleKeyboard):
    """The exported next-word model's suggestions: its `serving_default` signature for next
    words, its `complete` signature for the word being typed, as the service calls them."""

    def __init__(self, module: Any, vocabulary: Vocabulary, k: int = SUGGESTIONS) -> None:
        self.module, self.vocabulary, self.k = module, vocabulary, k

    def _rank(self, asked: list[tuple[str, str | None]], n: int) -> list[Ranked]:
        ranked: list[Ranked] = [[] for _ in asked]
        nexts = [i for i, (_, fragment) in enumerate(asked) if fragment is None]
        typing = [
            i
            for i, (_, fragment) in enumerate(asked)
            if fragment is not None and len(self.vocabulary.starting(fragment))
        ]  # a fragment no word extends gets nothing, without a model call
        size = tf.constant(n, tf.int32)
        if nexts:
            out = self.module.signatures["serving_default"](
                texts=tf.constant([asked[i][0] for i in nexts]), k=size
            )
            for i, found in zip(nexts, _ranked(out), strict=True):
                ranked[i] = found
        if typing:
            out = self.module.signatures["complete"](
                texts=tf.constant([asked[i][0] for i in typing]),
                prefixes=tf.constant([str(asked[i][1]).lower() for i in typing]),
                k=size,
            )
            counts = out["count"].numpy()
            for i, found, count in zip(typing, _ranked(out), counts, strict=True):
                ranked[i] = found[:count]
        return ranked


def _ranked(out: dict[str, tf.Tensor]) -> list[Ranked]:
    """A signature's words and probabilities, row by row."""
    rows = zip(_decode(out["words"].numpy()), out["probabilities"].numpy().tolist(), strict=True)
    return [list(zip(words, probabilities, strict=True)) for words, probabilities in rows]


class TrigramKeyboard(RuleKeyboard):
    """The Kneser-Ney trigram alone: P(w | the context's last two tokens) over the words that
    start with the typed fragment (every word for a next word)."""

    def __init__(
        self,
        trigram: KneserNeyTrigram,
        tokens: list[str],
        tokenize: Tokenize,
        k: int = SUGGESTIONS,
    ) -> None:
        self.trigram, self.tokens, self.tokenize, self.k = trigram, tokens, tokenize, k
        self.vocabulary = Vocabulary(tokens)

    def _rank(self, asked: list[tuple[str, str | None]], n: int) -> list[Ranked]:
        # A text with no known characters reads as one [UNK], as in the graph.
        tokenized = self.tokenize([text for text, _ in asked])
        ids = [row if len(row) else np.array([OOV_ID]) for row in tokenized]
        bos = self.trigram.vocab_size  # the begin marker: a text's first token has no u
        v = np.array([row[-1] for row in ids], np.int64)
        u = np.array([row[-2] if len(row) > 1 else bos for row in ids], np.int64)
        probabilities = trigram_probabilities(self.trigram, u, v)
        return [
            self._best(row, fragment or "", n)
            for row, (_, fragment) in zip(probabilities, asked, strict=True)
        ]

    def _best(self, probabilities: np.ndarray, prefix: str, n: int) -> Ranked:
        candidates = self.vocabulary.starting(prefix)
        scores = probabilities[candidates]
        top = np.argsort(-scores, kind="stable")[:n]
        return [(self.tokens[candidates[j]], float(scores[j])) for j in top]


def vocabulary_tokenizer(tokens: list[str]) -> Tokenize:
    """Texts → token ids as the exported models' tokenizer gives them (its standardization,
    then each word's id in `tokens`, [UNK] for the rest), without the Keras layer."""
    index = {token: i for i, token in enumerate(tokens) if i != PAD_ID}

    def tokenize(texts: list[str]) -> list[np.ndarray]:
        return [
            np.array([index.get(w, OOV_ID) for w in text.split()], np.int64)
            for text in standardized(texts)
        ]

    return tokenize
