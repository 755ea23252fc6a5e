"""Suggestions as people type: the next word, the word being typed, the first words of a text,
and phrases, all ranked by the next-word model's own probabilities.

- Which question a text asks (`split_fragment`, `suggest`): with `complete` unset, a text that
  ends inside a word ("i loved this mov": no trailing space or punctuation) is *completed*.
  When that fragment is itself a whole word of the vocabulary, the person may have finished it
  ("i love this") or be typing a longer one ("i love this m", "the acting was go", "that the"
  on the way to "they"): it is read as finished when the model, given the text before it, finds
  it likelier than all the longer words it begins together (`finished`: more than half the
  probability of the `RULE_WORDS` likeliest), and then the words after it are predicted.
  `complete: true` always completes the last fragment (a keyboard while a word is being typed;
  after a space, the empty fragment: every word), `complete: false` never does.
- A completion ranks the context before the fragment ("i loved this ") and keeps only the words
  that begin with the fragment, lower-cased as the tokenizer lower-cases, in the model's order
  (`Servable.complete`: in the graph when the version can, else beside it), never the fragment
  itself: tapping that would only add the space a keystroke adds. A fragment that no word of the
  vocabulary extends gets no suggestion, without a model call.
- A text with no context (empty, only spaces, or only the fragment being typed) is read as
  following a sentence boundary ("."): the model's first words of a sentence.
- Phrases: a beam search over the same model, each word's probability given the text as typed
  and the phrase's words before it, so a phrase's probability is the product of the answers
  `suggest` gives for the text, then for the text followed by each of its words in turn (the
  sentence boundary is read for the first word only, as `suggest` reads it for that text).
"""

import asyncio
import re
from dataclasses import dataclass

from service.serving.batching import Batcher

# The characters the tokenizer keeps inside a word: letters, digits and apostrophes
# (training/text.py); a text ending in one of them ends inside a word.
FRAGMENT = re.compile(r"(?:[^\W_]|')+\Z")
# What the model reads before the first word of a text: it predicts what starts a sentence.
START = "."
# Words kept at each step of the phrase beam search.
BEAM = 4
# The likeliest completions whose probabilities decide whether a typed whole word is finished.
RULE_WORDS = 16

Pairs = list[tuple[str, float]]


@dataclass
class Suggestions:
    """The words suggested for a text, the fragment they complete (None: next words) and the
    text before that fragment, as typed (the phrases continue it)."""

    words: Pairs
    completing: str | None
    typed: str


def split_fragment(text: str, complete: bool | None = None) -> tuple[str, str | None]:
    """The text before the last word's typed fragment, and that fragment (None: a next word).
    `complete`: None or True complete a trailing fragment, False never does; True after a
    space completes the empty fragment (every word)."""
    match = FRAGMENT.search(text) if complete is not False else None
    fragment = match.group().lstrip("'") if match else None  # a leading ' is a quote mark
    if fragment:
        return text[: len(text) - len(fragment)], fragment
    return text, "" if complete else None


def context_of(text: str) -> str:
    """The text the model reads: a sentence boundary when nothing precedes the word."""
    return text if text.strip() else START


async def suggest(
    batcher: Batcher,
    text: str,
    k: int,
    complete: bool | None = None,
    min_probability: float = 0.0,
) -> Suggestions:
    """The `k` suggestions for `text`: completions of its last word, or its next words."""
    words = batcher.servable.words
    typed, fragment = split_fragment(text, complete)
    if fragment is None:
        [found] = await batcher.predict([context_of(typed)], k)
    elif words is not None and not words.count(fragment):
        found = []  # no word starts with it: nothing to rank
    else:
        [found] = await batcher.predict([context_of(typed)], max(k + 1, RULE_WORDS), [fragment])
        whole = complete is None and words is not None and words.is_word(fragment)
        if whole and finished(fragment, found):  # type: ignore[arg-type]
            typed, fragment = text, None
            [found] = await batcher.predict([context_of(typed)], k)
        else:
            found = [(w, p) for w, p in found if w != fragment.lower()][:k]  # type: ignore[union-attr]
    kept = [(w, p) for w, p in found if p >= min_probability]  # type: ignore[union-attr]
    return Suggestions(kept, fragment, typed)


def finished(fragment: str, ranked: Pairs) -> bool:
    """Whether a typed whole word is finished: no word was ranked, or it is likelier than the
    other words it begins together, among its `RULE_WORDS` likeliest completions (`ranked`)."""
    if not ranked:
        return True
    (first, probability), others = ranked[0], ranked[1:RULE_WORDS]
    return first == fragment.lower() and probability > sum(p for _, p in others)


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
        # The typed text, not the sentence boundary read for an empty one: each step then asks
        # what `suggest` asks for the text with the phrase's words typed after it.
        texts = [join(first.typed, words) for words, _ in beam]
        answers = await batcher.predict(texts, BEAM)
        extended = [
            ([*words, word], p * q)
            for (words, p), pairs in zip(beam, answers, strict=True)
            for word, q in pairs  # type: ignore[union-attr]
        ]
        beam = sorted(extended, key=lambda phrase: -phrase[1])[:BEAM]
    ranked = sorted(beam, key=lambda phrase: -phrase[1])
    return [(words, p) for words, p in ranked if p >= min_probability][:k]


def join(typed: str, words: list[str]) -> str:
    """The typed text followed by the phrase's words, as a person would have typed them."""
    separator = "" if not typed or typed[-1].isspace() else " "
    return typed + separator + " ".join(words) + " "


async def suggest_many(
    batcher: Batcher, texts: list[str], k: int, complete: bool | None = None
) -> list[Suggestions]:
    """`suggest` for each text, side by side: they share the batcher's calls."""
    return list(await asyncio.gather(*(suggest(batcher, t, k, complete) for t in texts)))
