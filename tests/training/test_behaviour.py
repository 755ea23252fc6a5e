"""The behavioural suite: fixed cases, failure rates that mean what they say, and its figures in
what training writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from training.behaviour import (
    NEGATIVE_ADJECTIVES,
    POSITIVE_ADJECTIVES,
    build_suite,
    run_suite,
)

POSITIVE = set(POSITIVE_ADJECTIVES) | {"loved", "love", "enjoyed", "liked", "recommend"}
NEGATIVE = set(NEGATIVE_ADJECTIVES) | {"hated", "hate", "waste", "never"}
NEGATORS = {"not", "didn't", "don't", "isn't", "wasn't", "can't", "never", "nobody"}


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A lexicon that counts opinion words and reads no sentence: the model the suite exposes."""
    scores = []
    for text in texts:
        words = re.findall(r"[a-z']+", text.lower())
        score = sum(w in POSITIVE for w in words) - sum(w in NEGATIVE for w in words)
        scores.append(1 / (1 + np.exp(-score)))
    return np.array(scores)


def clause_reader(texts: list[str]) -> np.ndarray:
    """The lexicon with negation scope and 'but': the kind of reading the suite asks for."""
    scores = []
    for text in texts:
        clause = re.split(r"\bbut\b", text.lower())[-1]
        score = 0.0
        negated = False
        for word in re.findall(r"[a-z']+|[.,!]", clause):
            if word in ".,!":
                negated = False
            elif word in NEGATORS:
                negated = True
            elif word in POSITIVE | NEGATIVE:
                score += (1 if word in POSITIVE else -1) * (-1 if negated else 1)
        scores.append(1 / (1 + np.exp(-score)))
    return np.array(scores)


def test_the_suite_is_fixed_and_covers_each_behaviour() -> None:
    first, second = build_suite(), build_suite()
    assert [c.cases for c in first] == [c.cases for c in second]
    names = " ".join(c.name for c in first)
    for behaviour in ("negated positive", "negated negative", "contrast", "change over time",
                      "intensifiers", "diminishers", "recommendations", "typo", "name",
                      "neutral", "negative sentence added", "positive sentence added"):  # fmt: skip
        assert behaviour in names
    assert all(len(c.cases) >= 20 for c in first)
    assert {c.kind for c in first} == {"expect", "invariant", "direction"}


def test_negations_are_labelled_against_their_words() -> None:
    suite = {c.name: c for c in build_suite()}
    assert all(label == 0 for _, label in suite["negated positive"].cases)
    assert any("wasn't" in text for text, _ in suite["negated positive"].cases)
    assert all(label == 1 for _, label in suite["negated negative, then an opinion"].cases)


def test_a_bag_of_words_fails_negation_and_a_clause_reader_does_not() -> None:
    words, clauses = run_suite(bag_of_words), run_suite(clause_reader)
    assert words["short positive sentences"] == 0.0
    assert words["negated positive"] == 1.0
    assert clauses["negated positive"] == 0.0
    assert words["contrast: the clause after 'but' decides"] > 0.3
    assert clauses["contrast: the clause after 'but' decides"] == 0.0
    assert words["invariance: a neutral sentence added"] == 0.0
    assert clauses["mean"] < words["mean"]


def test_direction_tests_fail_only_on_a_move_the_wrong_way() -> None:
    [added] = [c for c in build_suite() if c.name.startswith("direction: a negative")]
    texts = added.texts()
    unmoved = np.full(len(texts), 0.7)
    assert not added.failures(unmoved).any()
    wrong_way = np.where(np.arange(len(texts)) % 2, 0.9, 0.7)  # every second text rises
    assert added.failures(wrong_way).all()


def test_training_writes_the_failure_rates_per_model(model_dir: Path) -> None:
    [version] = sorted((model_dir / "sentiment").iterdir())
    metadata = json.loads((version / "metadata.json").read_text())
    behaviour = metadata["behaviour"]
    assert {"served", "lstm", "ngram"} <= set(behaviour)
    capabilities = [c.name for c in build_suite()] + ["mean"]
    for rates in behaviour.values():
        assert list(rates) == capabilities
        assert all(0.0 <= rate <= 1.0 for rate in rates.values())
    assert metadata["metrics"]["sentiment_behaviour_failure"] == behaviour["served"]["mean"]
    report = (version / "report.md").read_text()
    assert "| Capability | Ours (served) | LSTMs alone | n-gram alone" in report
    assert "| negated positive |" in report
