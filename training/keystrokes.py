"""Keystrokes a word keyboard saves: a simulated typist, its keystroke saving rate (KSR) and the
top-3 recall after 0, 1 and 2 typed letters of each word.

The typist types a sentence character by character into an empty box. Before each keystroke
that starts or continues a word it asks the keyboard for `SUGGESTIONS` words for the text so
far (the partial word included). If the word it is typing, whole, is among them it taps it:
one keystroke enters the word and one space after it, so a space that follows the word in the
sentence is not typed; a punctuation mark that follows is typed and takes the space's place, as
phone keyboards do. Otherwise it types the next character. Spaces and punctuation are typed, a
keystroke each. KSR = 1 - keystrokes / characters.

Words are runs of letters, digits and apostrophes (what the tokenizer keeps inside a word), an
apostrophe at either end being a quote mark, typed. Suggestions are lower case; a tap counts
only if the suggestion, with the typed fragment's capitalisation applied (`with_case`: none
typed, lower case; a capital first letter, capitalised; two or more capitals, upper case),
equals the word. So in sentences as written "The" at a sentence start needs its "T" typed, and
a name is suggested once its capital is. The keyboard never capitalises on its own.

Two forms of the same sentences: lower case without punctuation (`lower_form`), and as written
(`written_form`). A keyboard is any function from texts to their `Answer`s, so the figures of
the served model and of any baseline come from one simulation (keyboards: training/keyboards.py;
the benchmark: benchmarks/keystrokes.py). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from training.data import split_sentences

SUGGESTIONS = 3  # words a keyboard shows at once
RECALL_LETTERS = (0, 1, 2)  # typed letters of a word at which recall is measured
WORD = re.compile(r"(?:[^\W_]|')+")


@dataclass(frozen=True)
class Answer:
    """A keyboard's suggestions for a text: the words, and the fragment of the last word they
    complete (None: they are next words, appended after the text)."""

    words: list[str]
    completing: str | None


Keyboard = Callable[[list[str]], list[Answer]]


# --- sentences ---------------------------------------------------------------------------------


def word_spans(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each word of `sentence`, quote marks at either end left out."""
    spans = []
    for match in WORD.finditer(sentence):
        start, end = match.span()
        while start < end and sentence[start] == "'":
            start += 1
        while end > start and sentence[end - 1] == "'":
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def written_form(sentence: str) -> str:
    """The sentence as written, with each run of white space one space."""
    return " ".join(sentence.split())


def lower_form(sentence: str) -> str:
    """The sentence in lower case, its words alone, one space apart (as many people type)."""
    lowered = sentence.lower()
    return " ".join(lowered[a:b] for a, b in word_spans(lowered))


def pick_sentences(
    reviews: list[str], count: int, seed: int, min_words: int = 4, max_words: int = 30
) -> list[str]:
    """`count` sentences as written, one from each of as many random reviews: a random
    sentence of the review with `min_words` to `max_words` words (reviews with none skipped)."""
    rng = np.random.default_rng(seed)
    picked: list[str] = []
    for index in rng.permutation(len(reviews)):
        if len(picked) == count:
            break
        fitting = [
            written_form(s)
            for s in split_sentences(reviews[index])
            if min_words <= len(word_spans(s)) <= max_words
        ]
        if fitting:
            picked.append(fitting[rng.integers(len(fitting))])
    return picked


# --- the typist --------------------------------------------------------------------------------


def with_case(suggestion: str, fragment: str) -> str:
    """The suggestion as it would be entered after `fragment`, in the fragment's case."""
    letters = [c for c in fragment if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return suggestion.upper()
    if letters and fragment[0].isupper():
        return suggestion[:1].upper() + suggestion[1:]
    return suggestion


def taps(answer: Answer, word: str, fragment: str) -> bool:
    """Whether the typist, having typed `fragment` of `word`, taps `word` in `answer`. Next
    words (completing None) enter after the text, so they can be the word only when nothing of
    it is typed yet."""
    if fragment and answer.completing is None:
        return False
    return any(with_case(s, fragment) == word for s in answer.words[:SUGGESTIONS])


@dataclass
class Typing:
    """One sentence being typed: where the typist is, and what it has cost so far."""

    sentence: str
    position: int = 0
    keystrokes: int = 0
    taps: int = 0
    owner: list[int] = field(init=False)  # per character: the word it is in, or -1
    spans: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.spans = word_spans(self.sentence)
        self.owner = [-1] * len(self.sentence)
        for index, (start, end) in enumerate(self.spans):
            self.owner[start:end] = [index] * (end - start)

    @property
    def done(self) -> bool:
        return self.position >= len(self.sentence)

    def word(self) -> tuple[int, int] | None:
        """The word the next keystroke types a character of (None: a space or punctuation)."""
        owner = self.owner[self.position]
        return self.spans[owner] if owner >= 0 else None

    def text(self) -> str:
        return self.sentence[: self.position]

    def step(self, answer: Answer | None) -> None:
        """One keystroke: tap the word if `answer` holds it, else type the next character."""
        self.keystrokes += 1
        span = self.word()
        if answer is not None and span is not None:
            start, end = span
            if taps(answer, self.sentence[start:end], self.sentence[start : self.position]):
                self.taps += 1
                follows_space = self.sentence[end : end + 1] == " "
                self.position = end + (1 if follows_space else 0)
                return
        self.position += 1


class Memo:
    """A keyboard that answers each distinct text once (the typist and recall ask many texts
    twice), in calls of at most `batch` texts."""

    def __init__(self, keyboard: Keyboard, batch: int = 256) -> None:
        self.keyboard, self.batch = keyboard, batch
        self.answers: dict[str, Answer] = {}

    def __call__(self, texts: list[str]) -> list[Answer]:
        new = list(dict.fromkeys(t for t in texts if t not in self.answers))
        for start in range(0, len(new), self.batch):
            chunk = new[start : start + self.batch]
            self.answers.update(zip(chunk, self.keyboard(chunk), strict=True))
        return [self.answers[t] for t in texts]


def type_sentences(keyboard: Keyboard, sentences: list[str]) -> list[Typing]:
    """Every sentence typed by the typist; all sentences advance together, a keystroke each per
    round, so each round's questions go to the keyboard in one call."""
    typings = [Typing(s) for s in sentences]
    active = [t for t in typings if not t.done]
    while active:
        asking = [t for t in active if t.word() is not None]
        answers = dict(zip(map(id, asking), keyboard([t.text() for t in asking]), strict=True))
        for typing in active:
            typing.step(answers.get(id(typing)))
        active = [t for t in active if not t.done]
    return typings


def recall(keyboard: Keyboard, sentences: list[str]) -> dict[int, tuple[int, int]]:
    """Per number of typed letters n in RECALL_LETTERS: (hits, words) over the words longer than
    n letters, a hit when the typist would tap the word with its first n letters typed."""
    asked: list[tuple[int, str, str, str]] = []  # (n, text, word, fragment)
    for sentence in sentences:
        for start, end in word_spans(sentence):
            for n in RECALL_LETTERS:
                if n < end - start:
                    fragment = sentence[start : start + n]
                    asked.append((n, sentence[: start + n], sentence[start:end], fragment))
    answers = keyboard([text for _, text, _, _ in asked])
    found = {n: [0, 0] for n in RECALL_LETTERS}
    for (n, _, word, fragment), answer in zip(asked, answers, strict=True):
        found[n][0] += taps(answer, word, fragment)
        found[n][1] += 1
    return {n: (hits, words) for n, (hits, words) in found.items()}


# --- figures -----------------------------------------------------------------------------------


def form_figures(keyboard: Keyboard, sentences: list[str]) -> dict[str, float]:
    """KSR, taps and recall of one form of the sentences (`keyboard` should be a `Memo`)."""
    typed = type_sentences(keyboard, sentences)
    characters = sum(len(t.sentence) for t in typed)
    keystrokes = sum(t.keystrokes for t in typed)
    words = sum(len(t.spans) for t in typed)
    figures: dict[str, float] = {
        "ksr": 1 - keystrokes / characters if characters else 0.0,
        "characters": characters,
        "keystrokes": keystrokes,
        "words": words,
        "tapped_share": sum(t.taps for t in typed) / words if words else 0.0,
    }
    for n, (hits, count) in recall(keyboard, sentences).items():
        figures[f"recall_after_{n}"] = hits / count if count else 0.0
        figures[f"recall_after_{n}_words"] = count
    return figures


FORMS = {"lower": lower_form, "written": written_form}


def keystroke_figures(keyboard: Keyboard, sentences: Iterable[str]) -> dict[str, dict]:
    """`form_figures` of the sentences in each of FORMS, one memo per keyboard."""
    memo = keyboard if isinstance(keyboard, Memo) else Memo(keyboard)
    chosen = list(sentences)
    return {name: form_figures(memo, [form(s) for s in chosen]) for name, form in FORMS.items()}


def keystroke_metrics(ours: dict[str, dict], trigram: dict[str, dict]) -> dict[str, float]:
    """The figures of `keystroke_figures` for the served model and the trigram keyboard as
    flat metrics: next_word_ksr_<form>, next_word_recall_after_<n>_<form>, the trigram
    keyboard's as next_word_kn_keyboard_*, and next_word_ksr_ratio_<form> (ours / trigram)."""
    found: dict[str, float] = {}
    for prefix, figures in (("next_word", ours), ("next_word_kn_keyboard", trigram)):
        for form, values in figures.items():
            found[f"{prefix}_ksr_{form}"] = values["ksr"]
            for n in RECALL_LETTERS:
                found[f"{prefix}_recall_after_{n}_{form}"] = values[f"recall_after_{n}"]
    for form in ours:
        theirs = trigram[form]["ksr"]
        found[f"next_word_ksr_ratio_{form}"] = ours[form]["ksr"] / theirs if theirs else 0.0
    return found
