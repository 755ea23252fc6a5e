"""Unlabelled text of the user's own domain for the language model (`--lm-data`): reading it,
recording where it came from, and adding it to the split.

A plain-text file holds one text per paragraph when it has blank lines, else one per line; a
CSV/TSV/JSONL file gives the texts of one column. The texts join the training reviews the
language models read (so the next-word model and the classifiers' pretraining learn the
domain's words), and the vocabulary is fitted on them too, so the domain's words get ids. A
share of them is held out to measure next words in the domain (`next_word_lm_data_*`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data import Split, file_sha256
from training.tables import DataError, is_table, read_rows, read_text

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


@dataclass
class LmData:
    texts: list[str]
    sources: list[dict[str, object]]  # per file: path, sha256, texts, how it was read


def load_lm_data(paths: Sequence[Path], column: str) -> LmData:
    """Every text of every file in `paths`; a file with no text is an error."""
    found = LmData([], [])
    for path in paths:
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.is_dir():
            raise DataError(f"{path}: is a directory; give the files (e.g. {path}/*.txt)")
        if is_table(path):
            texts = _column_texts(path, column)
            read = f"column {column}"
        else:
            texts, read = _plain_texts(path)
        if not texts:
            raise DataError(f"{path}: no text for the language model")
        found.texts += texts
        found.sources.append(
            {"path": str(path), "sha256": file_sha256(path), "texts": len(texts), "read": read}
        )
    return found


def add_lm_data(
    split: Split, lm_data: LmData, validation_fraction: float, repeat: int, seed: int
) -> Split:
    """`split` with the texts of `lm_data` for the language model: a random
    `validation_fraction` of them held out (when there are at least two), the rest read
    `repeat` times, so a small corpus weighs more against the reviews."""
    if not lm_data.texts:
        return split
    if repeat < 1:
        raise DataError(f"lm_data_repeat must be at least 1, got {repeat}")
    order = np.random.default_rng(seed).permutation(len(lm_data.texts))
    n_val = round(validation_fraction * len(order)) if len(order) > 1 else 0
    held_out = [lm_data.texts[i] for i in sorted(order[:n_val])]
    kept = [lm_data.texts[i] for i in sorted(order[n_val:])]
    return dataclasses.replace(
        split, lm_train_texts=split.lm_train_texts + kept * repeat, lm_data_val_texts=held_out
    )


def _plain_texts(path: Path) -> tuple[list[str], str]:
    content = read_text(path).replace("\r\n", "\n")
    if _BLANK_LINE.search(content.strip()):
        paragraphs = (" ".join(part.split()) for part in _BLANK_LINE.split(content))
        return [text for text in paragraphs if text], "paragraphs"
    return [line.strip() for line in content.splitlines() if line.strip()], "lines"


def _column_texts(path: Path, column: str) -> list[str]:
    texts = []
    for line_number, row in read_rows(path, [column]):
        value = row[column]
        if value is None:
            continue
        if not isinstance(value, str):
            raise DataError(f"{path}, line {line_number}: {column} is not a string")
        if value.strip():
            texts.append(value)
    return texts
