"""A file's label values mapped to 1 (positive) and 0 (negative), by one stated rule:

1. `positive_label` given: that value is 1 and the one other value 0;
2. else, when every value is a known spelling (0/1, neg/pos, negative/positive, false/true),
   by that convention;
3. else, two distinct values in sorted order: the first 0, the second 1 (with a warning, since
   nothing says which is positive).

Values are compared stripped and case-folded. The mapping goes into metadata.json and is applied
as it is to a separate test file, so its labels mean what the training labels meant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from training.tables import DataError

CONVENTIONS = {
    "0": 0,
    "1": 1,
    "neg": 0,
    "pos": 1,
    "negative": 0,
    "positive": 1,
    "false": 0,
    "true": 1,
}


@dataclass(frozen=True)
class LabelMap:
    """Which label value is which class, and by what rule ("convention", "positive_label" or
    "sorted")."""

    values: dict[str, int]
    rule: str

    def label(self, value: object) -> int | None:
        """The class of `value`, None when the mapping does not know it."""
        name = normalize(value)
        if name in self.values:
            return self.values[name]
        return CONVENTIONS.get(name) if self.rule == "convention" else None

    def known(self) -> str:
        return ", ".join(repr(name) for name in sorted(self.values))

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "values": dict(sorted(self.values.items()))}


# The aclImdb layout's pos/ and neg/ directories; a test file may spell its labels any known way.
IMDB_LABELS = LabelMap({"neg": 0, "pos": 1}, "convention")


def normalize(value: object) -> str:
    """A label value as compared: JSON booleans and integral numbers spelled as in a CSV."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def label_map(
    counts: Counter[str], first_line: dict[str, int], positive_label: str | None, source: str
) -> tuple[LabelMap, str | None]:
    """The mapping of the (normalized) label values counted in `source`, and a warning when it
    had to be guessed. `first_line` is where each value first occurs, for the messages."""
    if not counts:
        raise DataError(f"{source}: no labelled examples")
    found = sorted(counts)
    listed = ", ".join(f"{name!r} ({counts[name]:,} rows)" for name in found[:6])
    listed += ", ..." if len(found) > 6 else ""
    if positive_label is not None:
        positive = normalize(positive_label)
        if positive not in counts:
            raise DataError(
                f"{source}: --positive-label {positive_label!r} is not a label value; "
                f"found {listed}"
            )
        _check_two(found, first_line, listed, source)
        return LabelMap({name: int(name == positive) for name in found}, "positive_label"), None
    if all(name in CONVENTIONS for name in found):
        return LabelMap({name: CONVENTIONS[name] for name in found}, "convention"), None
    _check_two(found, first_line, listed, source)
    negative, positive = found
    warning = (
        f"labels {negative!r} and {positive!r} are not 0/1, neg/pos, negative/positive or "
        f"false/true: {positive!r} is read as positive, {negative!r} as negative (sorted order); "
        "--positive-label chooses"
    )
    return LabelMap({negative: 0, positive: 1}, "sorted"), warning


def _check_two(found: list[str], first_line: dict[str, int], listed: str, source: str) -> None:
    if len(found) == 1:
        raise DataError(
            f"{source}: every example has the label {found[0]!r}; sentiment needs both classes"
        )
    if len(found) > 2:
        third = sorted(found, key=lambda name: first_line[name])[2]
        raise DataError(
            f"{source}, line {first_line[third]}: label {third!r} is a third label value; "
            f"sentiment labels must be binary (found {listed})"
        )
