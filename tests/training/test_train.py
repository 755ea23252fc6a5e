"""Training inputs and the time budget: what the language model reads, and what a cut reports."""

import keras
import numpy as np

from training.text import without_punctuation
from training.train import TimeBudget, mixed_forms

MARKS = np.array([2, 3], np.int32)  # the ids these tests call punctuation
DOCS = [np.array([5, 6, 2, 7, 3, 8], np.int32) for _ in range(200)]
BARE = without_punctuation(DOCS, MARKS)


def test_mixed_forms_drops_the_punctuation_of_a_share_of_whole_documents() -> None:
    mixed = mixed_forms(DOCS, BARE, share=0.3, seed=1)
    unpunctuated = [doc for doc in mixed if not np.isin(doc, MARKS).any()]
    assert all(doc.tolist() == [5, 6, 7, 8] for doc in unpunctuated)
    assert all(doc.tolist() == DOCS[0].tolist() for doc in mixed if np.isin(doc, MARKS).any())
    assert 0.2 < len(unpunctuated) / len(DOCS) < 0.4
    again = mixed_forms(DOCS, BARE, share=0.3, seed=1)
    assert [doc.tolist() for doc in again] == [doc.tolist() for doc in mixed]  # seeded


def test_mixed_forms_at_the_extremes() -> None:
    unchanged = mixed_forms(DOCS, BARE, 0.0, 1)
    assert all(doc is original for doc, original in zip(unchanged, DOCS, strict=True))
    assert not any(np.isin(doc, MARKS).any() for doc in mixed_forms(DOCS, BARE, 1.0, 1))


def fit_toy_model(epochs: int, budget: TimeBudget) -> None:
    """Eight steps an epoch of a one-weight model, with `budget` watching."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((64, 1), np.float32)
    model.fit(x, x, batch_size=8, epochs=epochs, verbose=0, callbacks=[budget])


def test_time_budget_stops_training_and_says_so(capsys) -> None:
    cuts: dict[str, str] = {}
    fit_toy_model(3, TimeBudget(0.0, "toy", 24, cuts))
    assert cuts == {"toy": "stopped by its 0-minute budget after 1 of 24 planned steps"}
    assert "time budget: toy stopped" in capsys.readouterr().out


def test_time_budget_reports_the_expected_time_and_no_cut(capsys) -> None:
    cuts: dict[str, str] = {}
    fit_toy_model(2, TimeBudget(5, "toy", 16, cuts))
    assert cuts == {}
    assert "toy: 16 steps planned, about" in capsys.readouterr().out
