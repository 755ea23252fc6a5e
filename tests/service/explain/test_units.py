"""A text's explanation units are what the model's tokenizer reads, with offsets in the text."""

import pytest

from service.explain.units import Unit, group_units, split_units, without
from training.text import standardized

TEXTS = [
    "A great movie!!! I loved it.",
    "It 's dull , does n't work -LRB- sic -RRB- and 'quoted' rock'n'roll well-made",
    'Line one.<br /><br />Line TWO... really?! "Yes": 10/10; café 😀 $5 ___ x',
    "   leading spaces, trailing ones   ",
]


@pytest.mark.parametrize("text", TEXTS)
def test_split_units_match_the_tokenizer(text: str) -> None:
    units = split_units(text)
    tokens = standardized([text])[0].split()
    # Each unit is read as tokens of its own: the units' tokens, in order, are the text's.
    unit_tokens = [t for u in units for t in standardized([text[u.start : u.end]])[0].split()]
    assert unit_tokens == tokens
    assert all(text[u.start : u.end].strip() == text[u.start : u.end] for u in units)


def test_split_units_words_and_punctuation() -> None:
    text = "A great movie!!! I loved it, does n't it?"
    words = [text[u.start : u.end] for u in split_units(text)]
    assert words == ["A", "great", "movie", "!!!", "I", "loved", "it", ",", "does n't", "it", "?"]


def test_group_units_spans() -> None:
    units = [Unit(i * 2, i * 2 + 1) for i in range(10)]
    assert group_units(units, 10) == (units, 1)
    spans, size = group_units(units, 4)
    assert size == 3
    assert spans == [Unit(0, 5), Unit(6, 11), Unit(12, 17), Unit(18, 19)]


def test_without_keeps_neighbours_apart() -> None:
    assert without("great,fun", Unit(5, 6)) == "great fun"
