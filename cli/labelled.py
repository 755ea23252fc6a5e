"""Labelled files: texts with a binary label column, scored by one or more versions in one pass,
chunk by chunk; only the labels and the probabilities are kept.

Labels are read as the version was trained to read them: the mapping training recorded in
metadata.json (`data.labels`, e.g. {"bad": 0, "good": 1}), and the usual spellings (0/1,
neg/pos, negative/positive, false/true) when training read those."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli.errors import CliError
from cli.model import Scorer
from cli.store import Version
from cli.tables import TableReader

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
WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class LabelReading:
    """Which label value is which class: training's recorded values, and the usual spellings
    unless training mapped labels of its own (`--positive-label`, or two other strings)."""

    values: dict[str, int]
    conventions: bool = True

    @classmethod
    def of(cls, version: Version) -> LabelReading:
        recorded = version.metadata().get("data", {}).get("labels", {})
        values = recorded.get("values") if isinstance(recorded, dict) else None
        if not isinstance(values, dict) or not values:
            return cls({})
        rule = recorded.get("rule", "convention")
        return cls({str(k): int(v) for k, v in values.items()}, rule == "convention")

    def label(self, value: object, path: Path, row: int) -> int:
        name = normalize(value)
        if name in self.values:
            return self.values[name]
        if self.conventions and name in CONVENTIONS:
            return CONVENTIONS[name]
        raise CliError(f"{path}, row {row}: label {value!r} is not one of {self.known()}")

    def agrees(self, other: LabelReading) -> bool:
        """Whether both read every label value the same way."""
        if self.conventions and other.conventions:
            return True
        return self.values == other.values and self.conventions == other.conventions

    def known(self) -> str:
        names = set(self.values) | (set(CONVENTIONS) if self.conventions else set())
        return ", ".join(repr(name) for name in sorted(names))


def normalize(value: object) -> str:
    """A label value as training compares it: booleans and integral numbers spelled as in a CSV."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def reading_of(versions: list[Version]) -> LabelReading:
    """The one label reading of `versions`; CliError when they were trained to read labels
    differently (their figures on one file would not be comparable). Versions that all read the
    usual spellings agree, whichever spellings their own data used."""
    readings = [LabelReading.of(v) for v in versions]
    first = readings[0]
    for other, version in zip(readings[1:], versions[1:], strict=True):
        if not first.agrees(other):
            raise CliError(
                f"version {versions[0].version} and version {version.version} read labels "
                f"differently ({first.values} against {other.values})"
            )
    values = {name: v for reading in readings for name, v in reading.values.items()}
    return LabelReading(values, all(reading.conventions for reading in readings))


def score_labelled(
    versions: list[Version], path: Path, text_column: str, label_column: str, batch_size: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """(each version's probabilities, the labels) for the rows of `path`."""
    from cli.model import Batching

    scorers = [Scorer(v.path, batching=Batching(max_texts=batch_size)) for v in versions]
    found: list[list[float]] = [[] for _ in versions]
    labels: list[int] = []
    reading = reading_of(versions)
    for chunk in TableReader(path, [text_column, label_column], text_column):
        start = len(labels) + 1
        labels += [reading.label(r[label_column], path, start + i) for i, r in enumerate(chunk)]
        texts = [row[text_column] for row in chunk]
        for scores, scorer in zip(found, scorers, strict=True):
            scores += scorer.probabilities(texts)
    if not labels:
        raise CliError(f"{path}: no rows")
    return [np.array(s) for s in found], np.array(labels)


def next_word_positions(
    path: Path, text_column: str, max_texts: int = 2000, per_text: int = 8
) -> tuple[list[str], list[str]]:
    """(contexts, next words) from the first `max_texts` texts: every 4th word of a text from
    its second on, up to `per_text` of them, with the words before it (lower case, no
    punctuation: as typed in a box)."""
    contexts, targets = [], []
    read = 0
    for chunk in TableReader(path, [text_column], text_column, chunk_rows=512):
        for row in chunk:
            words = WORD.findall(row[text_column].lower())
            for i in list(range(1, len(words), 4))[:per_text]:
                contexts.append(" ".join(words[:i]))
                targets.append(words[i])
            read += 1
            if read == max_texts:
                return contexts, targets
    return contexts, targets


def next_word_hits(version: Version, contexts: list[str], targets: list[str], k: int) -> np.ndarray:
    """Whether each target is among the version's `k` suggestions for its context."""
    scorer = Scorer(None, version.path, k)
    suggestions = scorer.next_words(contexts)
    return np.array([t in s for t, s in zip(targets, suggestions, strict=True)], bool)
