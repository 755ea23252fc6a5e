"""The simulated typist: keystrokes counted by hand for a small keyboard, the capitalisation
rule, the two forms of a sentence, recall after 0/1/2 letters, and the sentences it picks."""

from __future__ import annotations

import re

import pytest

from training.keystrokes import (
    Answer,
    Memo,
    keystroke_figures,
    lower_form,
    pick_sentences,
    recall,
    taps,
    type_sentences,
    with_case,
    word_spans,
)

LEXICON = ["the", "they", "movie", "moving", "was", "great"]
NEXT = ["the", "was", "a"]


def keyboard(texts: list[str]) -> list[Answer]:
    """Completes a trailing fragment from LEXICON, else suggests NEXT."""
    answers = []
    for text in texts:
        fragment = re.search(r"\w*\Z", text).group()  # type: ignore[union-attr]
        if fragment:
            found = [w for w in LEXICON if w.startswith(fragment.lower())]
            answers.append(Answer(found[:3], fragment))
        else:
            answers.append(Answer(NEXT, None))
    return answers


def test_type_lower_case_sentence() -> None:
    # "the" tapped at once, "m" + tap, "was" tapped, "g" + tap: 6 keystrokes.
    [typed] = type_sentences(keyboard, ["the movie was great"])
    assert (typed.keystrokes, typed.taps) == (6, 4)


def test_type_sentence_as_written() -> None:
    # "T" + tap, "m" + tap, tap, "g" + tap, "." typed (it takes the tap's space): 8.
    [typed] = type_sentences(keyboard, ["The movie was great."])
    assert (typed.keystrokes, typed.taps) == (8, 4)


def test_unknown_words_are_typed_letter_by_letter() -> None:
    [typed] = type_sentences(keyboard, ["a zq"])
    assert (typed.keystrokes, typed.taps) == (3, 1)  # "a" tapped with its space, then z, q


def test_figures_of_both_forms() -> None:
    figures = keystroke_figures(keyboard, ["The movie was great."])
    lower, written = figures["lower"], figures["written"]
    assert lower["characters"] == 19 and lower["ksr"] == pytest.approx(1 - 6 / 19)
    assert written["characters"] == 20 and written["ksr"] == pytest.approx(1 - 8 / 20)
    assert (lower["recall_after_0"], lower["recall_after_1"], lower["recall_after_2"]) == (
        0.5,
        1.0,
        1.0,
    )
    assert written["recall_after_0"] == 0.25  # "The" is not "the"
    assert written["tapped_share"] == 1.0 and written["words"] == 4


def test_recall_counts_only_words_longer_than_the_letters_typed() -> None:
    found = recall(keyboard, ["a was"])
    assert found == {0: (2, 2), 1: (1, 1), 2: (1, 1)}


def test_next_words_never_complete_a_typed_fragment() -> None:
    assert taps(Answer(["was"], None), "was", "")
    assert not taps(Answer(["was"], None), "was", "w")
    assert taps(Answer(["was"], "w"), "was", "w")
    assert not taps(Answer(["a", "b", "c", "was"], "w"), "was", "w")  # only three are shown


@pytest.mark.parametrize(
    ("suggestion", "fragment", "entered"),
    [("movie", "", "movie"), ("movie", "m", "movie"), ("movie", "M", "Movie")]
    + [("movie", "MO", "MOVIE"), ("movie", "Mo", "Movie"), ("i", "I", "I")],
)
def test_suggestion_takes_the_fragments_case(suggestion: str, fragment: str, entered: str) -> None:
    assert with_case(suggestion, fragment) == entered


def test_words_and_forms() -> None:
    sentence = "'Don't' (ever) watch it, 10/10!"
    assert [sentence[a:b] for a, b in word_spans(sentence)] == ["Don't", "ever", "watch", "it"] + [
        "10",
        "10",
    ]
    assert lower_form(sentence) == "don't ever watch it 10 10"


def test_memo_asks_each_text_once() -> None:
    asked: list[list[str]] = []

    def counting(texts: list[str]) -> list[Answer]:
        asked.append(texts)
        return keyboard(texts)

    memo = Memo(counting, batch=2)
    assert memo(["a", "b", "a"]) == keyboard(["a", "b", "a"])
    assert memo(["b", "c"]) == keyboard(["b", "c"])
    assert sorted(t for call in asked for t in call) == ["a", "b", "c"]


def test_pick_sentences_is_seeded_and_sized() -> None:
    reviews = [
        f"Short one. This review number {i} has enough words in it. Fine!<br />Also ok here."
        for i in range(20)
    ]
    picked = pick_sentences(reviews, 5, seed=3)
    assert picked == pick_sentences(reviews, 5, seed=3)
    assert len(picked) == 5 and picked != pick_sentences(reviews, 5, seed=4)
    assert all(4 <= len(word_spans(s)) <= 30 for s in picked)
