"""Labelled files: texts with a binary label column (0/1, neg/pos, negative/positive, as
training reads them), scored by one or more versions in one pass, chunk by chunk; only the
labels and the probabilities are kept."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from cli.errors import CliError
from cli.model import Scorer
from cli.store import Version
from cli.tables import TableReader

LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}
WORD = re.compile(r"[a-z0-9']+")


def label_value(value: object, path: Path, row: int) -> int:
    name = str(value).strip().lower()
    if isinstance(value, bool) or name not in LABELS:
        raise CliError(f"{path}, row {row}: label {value!r} is not binary (use 0/1 or neg/pos)")
    return LABELS[name]


def score_labelled(
    versions: list[Version], path: Path, text_column: str, label_column: str, batch_size: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """(each version's probabilities, the labels) for the rows of `path`."""
    from cli.model import Batching

    scorers = [Scorer(v.path, batching=Batching(max_texts=batch_size)) for v in versions]
    found: list[list[float]] = [[] for _ in versions]
    labels: list[int] = []
    for chunk in TableReader(path, [text_column, label_column], text_column):
        start = len(labels) + 1
        labels += [label_value(r[label_column], path, start + i) for i, r in enumerate(chunk)]
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
