"""A text's units for explanations: the words and punctuation the sentiment model reads, with
their character offsets in the text as sent, grouped into spans when there are too many.

The rules follow the tokenizer inside the exported graph (training/text.py): letters, digits and
apostrophes inside words make a word; each of `!?.,;:()"-` is read as a token of its own (a run
of them, like "!!!" or "...", is one unit here); Penn Treebank brackets (-lrb-) and contractions
written apart ("does n't") are read as one token with what they belong to; HTML line breaks and
every other symbol are dropped, so they are never units.
"""

import re
from dataclasses import dataclass

# Order matters: line breaks and treebank brackets before words and punctuation.
UNIT = re.compile(
    r"(?P<skip><br\s*/?>)"
    r"|(?P<punct>-[lr][rsc]b-|[!?.,;:()\"-]+)"
    r"|(?P<word>(?:[^\W_]|')+)",
    re.IGNORECASE,
)
# A treebank contraction the graph joins to the word before it ("does n't" -> "doesn't").
CONTRACTION = re.compile(r"(?:n't|'s|'re|'ve|'ll|'d|'m)", re.IGNORECASE)


@dataclass(frozen=True)
class Unit:
    """Characters `start:end` of a text, removed together when the model is asked without them."""

    start: int
    end: int


def split_units(text: str) -> list[Unit]:
    """The words and punctuation runs of `text` that the model reads, in order."""
    units: list[Unit] = []
    for match in UNIT.finditer(text):
        if match.lastgroup == "skip":
            continue
        start, end = match.span()
        if match.lastgroup == "word":
            if CONTRACTION.fullmatch(match.group()) and follows_word(text, units, start):
                units[-1] = Unit(units[-1].start, end)
                continue
            # Apostrophes that do not sit between letters are quote marks, dropped by the graph.
            token = match.group()
            start += len(token) - len(token.lstrip("'"))
            end -= len(token) - len(token.rstrip("'"))
            if start >= end:
                continue
        units.append(Unit(start, end))
    return units


def follows_word(text: str, units: list[Unit], start: int) -> bool:
    """Whether only spaces (at least one) part `start` from a previous unit ending in a letter."""
    if not units or not text[units[-1].end - 1].isalpha():
        return False
    gap = text[units[-1].end : start]
    return bool(gap) and not gap.strip(" ")


def group_units(units: list[Unit], max_units: int) -> tuple[list[Unit], int]:
    """At most `max_units` units: consecutive runs of equal size (the last may be shorter) when
    there are more; also the number of units per run (1 when nothing was grouped)."""
    size = -(-len(units) // max_units) if units else 1
    if size == 1:
        return units, 1
    runs = [units[i : i + size] for i in range(0, len(units), size)]
    return [Unit(run[0].start, run[-1].end) for run in runs], size


def without(text: str, unit: Unit) -> str:
    """`text` with the unit's characters blanked out (spaces keep its neighbours apart)."""
    return text[: unit.start] + " " + text[unit.end :]
