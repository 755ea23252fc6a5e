"""Suggestions as people type: the next word, the word being typed, the first words of a text,
and phrases, all ranked by the next-word model's own probabilities.

- A text that ends inside a word ("i loved this mov": no trailing space or punctuation) is
  *completed*: the context before the fragment ("i loved this ") is ranked for every word of
  the vocabulary (`EVERY_WORD`) and only the words that begin with the fragment, lower-cased as
  the tokenizer lower-cases, are kept, in the model's order. No word extends it: no suggestion.
- A text with no context (empty, only spaces, or only the fragment being typed) is read as
  following a sentence boundary ("."): the model's first words of a sentence.
- Phrases: a beam search over the same model, each word's probability given the text and the
  phrase's words before it, so a phrase's probability is the product of single-word answers.

This works beside the graph on any next-word SavedModel: a prefix is filtered with one
vectorised `numpy.char.startswith` over the ranked words (about 1 ms for 20,000 words).
"""

import asyncio
import re
from dataclasses import dataclass

import numpy as np

from service.serving.batching import Batcher
from service.serving.servable import EVERY_WORD, Ranking

# The characters the tokenizer keeps inside a word: letters, digits and apostrophes
# (training/text.py); a text ending in one of them ends inside a word.
FRAGMENT = re.compile(r"(?:[^\W_]|')+\Z")
# What the model reads before the first word of a text: it predicts what starts a sentence.
START = "."
# Words kept at each step of the phrase beam search.
BEAM = 4

Pairs = list[tuple[str, float]]


@dataclass
class Suggestions:
    """The words suggested for a text, and the fragment they complete (None: next words)."""

    words: Pairs
    completing: str | None
    context: str


def split_fragment(text: str, complete: bool | None = None) -> tuple[str, str | None]:
    """The context to rank and the fragment typed of the last word (None: a next word).
    `complete`: None completes when the text ends inside a word, False never, True always
    (a text that ends in a space completes the empty fragment: every word)."""
    match = FRAGMENT.search(text) if complete is not False else None
    fragment = match.group().lstrip("'") if match else None  # a leading ' is a quote mark
    if fragment:
        return context_of(text[: len(text) - len(fragment)]), fragment
    if complete:
        return context_of(text), ""
    return context_of(text), None


def context_of(text: str) -> str:
    """The text the model reads: a sentence boundary when nothing precedes the word."""
    return text if text.strip() else START


def completions(ranking: Ranking, fragment: str, k: int, min_probability: float = 0.0) -> Pairs:
    """The `k` likeliest words of `ranking` that begin with `fragment` (case-insensitive)."""
    prefix = fragment.lower().encode("utf-8")
    keep = np.char.startswith(ranking.words, prefix)
    keep &= ranking.probabilities >= min_probability
    chosen = np.flatnonzero(keep)[:k]
    return [
        (ranking.words[i].decode("utf-8", "replace"), float(ranking.probabilities[i]))
        for i in chosen
    ]


async def suggest(
    batcher: Batcher,
    text: str,
    k: int,
    complete: bool | None = None,
    min_probability: float = 0.0,
) -> Suggestions:
    """The `k` suggestions for `text`: completions of its last word, or its next words."""
    context, fragment = split_fragment(text, complete)
    if fragment is None:
        [pairs] = await batcher.predict([context], k)
        words = [(w, p) for w, p in pairs if p >= min_probability]  # type: ignore[union-attr]
        return Suggestions(words, None, context)
    [ranking] = await batcher.predict([context], EVERY_WORD)
    assert isinstance(ranking, Ranking)
    return Suggestions(completions(ranking, fragment, k, min_probability), fragment, context)


async def phrases(
    batcher: Batcher, first: Suggestions, length: int, k: int, min_probability: float = 0.0
) -> list[tuple[list[str], float]]:
    """The `k` likeliest phrases of up to `length` words that start with one of `first`'s
    words, by beam search: each step extends the `BEAM` best phrases by their `BEAM` likeliest
    next words, all texts of a step in one batcher request."""
    beam: list[tuple[list[str], float]] = [([w], p) for w, p in first.words[:BEAM]]
    for _ in range(length - 1):
        if not beam:
            break
        texts = [join(first.context, words) for words, _ in beam]
        answers = await batcher.predict(texts, BEAM)
        extended = [
            ([*words, word], p * q)
            for (words, p), pairs in zip(beam, answers, strict=True)
            for word, q in pairs  # type: ignore[union-attr]
        ]
        beam = sorted(extended, key=lambda phrase: -phrase[1])[:BEAM]
    ranked = sorted(beam, key=lambda phrase: -phrase[1])
    return [(words, p) for words, p in ranked if p >= min_probability][:k]


def join(context: str, words: list[str]) -> str:
    """The context followed by the phrase's words, as a person would have typed them."""
    separator = "" if context[-1:].isspace() else " "
    return context + separator + " ".join(words) + " "


async def suggest_many(
    batcher: Batcher, texts: list[str], k: int, complete: bool | None = None
) -> list[Suggestions]:
    """`suggest` for each text, side by side: they share the batcher's calls."""
    return list(await asyncio.gather(*(suggest(batcher, t, k, complete) for t in texts)))
