"""The labelled corpus: reading it (IMDB archive or directory, CSV/TSV/JSONL with named text,
label and group columns), a separate labelled test file, downloading the IMDB archive when no
path is given, and splitting it into training and validation by movie (or by group).

Every problem with the input is a `DataError` whose message names the file (and line), raised
before anything is trained or written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tarfile
import urllib.request
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.labels import IMDB_LABELS, LabelMap, label_map, normalize
from training.tables import DataError, is_table, read_rows

__all__ = ["Columns", "Corpus", "DataError", "Split", "TestSet", "load_corpus", "load_test_file"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
UNLABELLED = -1

# aclImdb/<split>/<pos|neg|unsup>/<id>_<rating>.txt and aclImdb/<split>/urls_<kind>.txt
_REVIEW_PATH = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_\d+\.txt$")
_URLS_PATH = re.compile(r"(?:^|/)aclImdb/(train|test)/urls_(pos|neg|unsup)\.txt$")
_MOVIE_ID = re.compile(r"tt\d+")


@dataclass(frozen=True)
class Columns:
    """Where a CSV/TSV/JSONL file keeps each field; `group` (optional) names what must not
    straddle the split, `positive_label` which label value is positive (labels.py)."""

    text: str = "text"
    label: str = "label"
    group: str | None = None
    positive_label: str | None = None

    def is_default(self) -> bool:
        return self == Columns()


@dataclass
class TestSet:
    """A labelled file evaluated apart from the validation split."""

    source: str
    sha256: str
    texts: list[str]
    labels: np.ndarray


@dataclass
class Corpus:
    """Reviews in one place: labels are 1 positive, 0 negative, -1 unlabelled."""

    source: str
    sha256: str
    texts: list[str]
    labels: np.ndarray
    groups: list[str]  # reviews of one movie share a group; they never straddle the split
    test_texts: list[str] = field(default_factory=list)
    test_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    label_map: LabelMap = IMDB_LABELS
    columns: Columns | None = None  # None: an aclImdb archive or directory
    warnings: list[str] = field(default_factory=list)


@dataclass
class Split:
    train_texts: list[str]
    train_labels: np.ndarray
    val_texts: list[str]
    val_labels: np.ndarray
    lm_train_texts: list[str]  # labelled and unlabelled reviews of training movies
    lm_val_texts: list[str]  # every review of validation movies but copies of training ones
    # Held-out unlabelled text of the user's own (--lm-data), scored apart; its training part
    # is in lm_train_texts.
    lm_data_val_texts: list[str] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------------


def load_corpus(path: Path | None, cache_dir: Path, columns: Columns | None = None) -> Corpus:
    """Read the corpus at `path`, or download the IMDB archive into `cache_dir` when it is None.
    `columns` apply to CSV/TSV/JSONL files only."""
    columns = columns or Columns()
    if path is None:
        path = download_imdb(cache_dir)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if not is_table(path) and not columns.is_default():
        raise DataError(
            f"{path}: --text-column, --label-column, --group-column and --positive-label "
            "apply to CSV/TSV/JSONL files; an aclImdb archive is grouped by movie already"
        )
    if not path.is_dir():
        check_readable(path)
    if path.is_dir():
        corpus = _read_imdb_directory(path)
    elif path.name.endswith((".tar.gz", ".tgz", ".tar")):
        corpus = _read_imdb_archive(path)
    elif is_table(path):
        corpus = _read_table(path, columns)
    else:
        raise DataError(
            f"{path}: unknown format; expected an aclImdb .tar.gz archive, an aclImdb/ "
            "directory, or a .csv, .tsv or .jsonl file with text and label columns"
        )
    _check_labels(corpus, path)
    return corpus


def _read_imdb_archive(path: Path) -> Corpus:
    reviews: dict[tuple[str, str, int], str] = {}
    urls: dict[tuple[str, str], list[str]] = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                review, url_list = _REVIEW_PATH.search(member.name), _URLS_PATH.search(member.name)
                if not (review or url_list):
                    continue
                handle = archive.extractfile(member)
                content = handle.read().decode("utf-8", errors="replace") if handle else ""
                if review:
                    split, kind, index = review.groups()
                    reviews[(split, kind, int(index))] = content
                elif url_list:
                    urls[url_list.groups()] = content.splitlines()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(f"{path}: damaged or not a tar archive ({error})") from error
    return _assemble_imdb(reviews, urls, str(path), file_sha256(path))


def _read_imdb_directory(path: Path) -> Corpus:
    root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
    reviews: dict[tuple[str, str, int], str] = {}
    urls: dict[tuple[str, str], list[str]] = {}
    digest = hashlib.sha256()
    for file in sorted(root.glob("*/*/*.txt")) + sorted(root.glob("*/urls_*.txt")):
        relative = "aclImdb/" + file.relative_to(root).as_posix()
        review, url_list = _REVIEW_PATH.search(relative), _URLS_PATH.search(relative)
        if not (review or url_list):
            continue
        data = file.read_bytes()
        digest.update(relative.encode() + b"\0" + data)
        content = data.decode("utf-8", errors="replace")
        if review:
            split, kind, index = review.groups()
            reviews[(split, kind, int(index))] = content
        elif url_list:
            urls[url_list.groups()] = content.splitlines()
    return _assemble_imdb(reviews, urls, str(path), digest.hexdigest())


def _assemble_imdb(
    reviews: dict[tuple[str, str, int], str],
    urls: dict[tuple[str, str], list[str]],
    source: str,
    sha256: str,
) -> Corpus:
    if not any(split == "train" for split, _, _ in reviews):
        raise DataError(f"{source}: no aclImdb/train/pos|neg|unsup/*.txt reviews found")
    corpus = Corpus(source, sha256, [], np.zeros(0, np.int64), [])
    labels, test_labels = [], []
    for (split, kind, index), text in sorted(reviews.items()):
        label = {"pos": 1, "neg": 0, "unsup": UNLABELLED}[kind]
        if split == "test":
            if label != UNLABELLED:
                corpus.test_texts.append(text)
                test_labels.append(label)
            continue
        # The urls file's line <id> names the movie the review is about.
        movie_urls = urls.get((split, kind), [])
        movie = _MOVIE_ID.search(movie_urls[index]) if index < len(movie_urls) else None
        corpus.texts.append(text)
        labels.append(label)
        corpus.groups.append(movie.group() if movie else f"{kind}/{index}")
    corpus.labels = np.array(labels, np.int64)
    corpus.test_labels = np.array(test_labels, np.int64)
    return corpus


def _read_table(path: Path, columns: Columns) -> Corpus:
    table = read_labelled(path, columns)
    label_map, warning = label_map_of(table, columns.positive_label, str(path))
    labels = np.array([label_map.label(value) for value in table.labels], np.int64)
    # Without a group column every row is its own group: a random row-level split.
    groups = [
        f"{columns.group}={group}" if group else f"row/{i}"
        for i, group in enumerate(table.groups or [""] * len(table.texts))
    ]
    return Corpus(
        str(path),
        file_sha256(path),
        table.texts,
        labels,
        groups,
        label_map=label_map,
        columns=columns,
        warnings=[warning] if warning else [],
    )


@dataclass
class LabelledTable:
    """A labelled file's rows as read: texts, raw label values, groups (when asked for), and the
    line each row ends on."""

    texts: list[str]
    labels: list[object]
    groups: list[str] | None
    lines: list[int]


def read_labelled(path: Path, columns: Columns) -> LabelledTable:
    """The rows of a labelled CSV/TSV/JSONL file; empty texts and labels are errors."""
    names = [columns.text, columns.label] + ([columns.group] if columns.group else [])
    table = LabelledTable([], [], [] if columns.group else None, [])
    empty_texts: list[int] = []
    for line_number, row in read_rows(path, names):
        text, label = row[columns.text], row[columns.label]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise DataError(f"{path}, line {line_number}: {columns.text} is not a string")
        if not text.strip():
            empty_texts.append(line_number)
        if label is None or not str(label).strip():
            raise DataError(f"{path}, line {line_number}: no label in column {columns.label}")
        table.texts.append(text)
        table.labels.append(label)
        table.lines.append(line_number)
        if table.groups is not None:
            group = row[columns.group]
            table.groups.append("" if group is None else str(group).strip())
    if empty_texts:
        raise DataError(
            f"{path}: {len(empty_texts):,} of {len(table.texts):,} rows have an empty "
            f"{columns.text} (the first on line {empty_texts[0]}); fill or remove them"
        )
    if not table.texts:
        raise DataError(f"{path}: no labelled examples")
    return table


def label_map_of(
    table: LabelledTable, positive_label: str | None, source: str
) -> tuple[LabelMap, str | None]:
    counts: Counter[str] = Counter()
    first_line: dict[str, int] = {}
    for value, line_number in zip(table.labels, table.lines, strict=True):
        name = normalize(value)
        counts[name] += 1
        first_line.setdefault(name, line_number)
    return label_map(counts, first_line, positive_label, source)


def load_test_file(path: Path, columns: Columns, labels: LabelMap) -> TestSet:
    """A separate labelled file, its labels read by the training data's mapping."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir() or not is_table(path):
        raise DataError(f"{path}: the test file must be a .csv, .tsv or .jsonl file")
    check_readable(path)
    table = read_labelled(path, dataclasses.replace(columns, group=None))
    found = []
    for value, line_number in zip(table.labels, table.lines, strict=True):
        label = labels.label(value)
        if label is None:
            raise DataError(
                f"{path}, line {line_number}: label {value!r} is not one of the training "
                f"data's labels ({labels.known()})"
            )
        found.append(label)
    return TestSet(str(path), file_sha256(path), table.texts, np.array(found, np.int64))


def _check_labels(corpus: Corpus, path: Path) -> None:
    labelled = corpus.labels[corpus.labels != UNLABELLED]
    if labelled.size == 0:
        raise DataError(f"{path}: no labelled examples")
    if len(np.unique(labelled)) < 2:
        only = "positive" if labelled[0] == 1 else "negative"
        raise DataError(f"{path}: every example is {only}; sentiment needs both classes")


def check_readable(path: Path) -> None:
    """A one-line error now rather than a confusing one later (an archive read as damaged)."""
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- downloading -------------------------------------------------------------------------------


def download_imdb(cache_dir: Path) -> Path:
    """The canonical IMDB archive, downloaded once into `cache_dir` and verified by sha256."""
    from tqdm import tqdm

    target = cache_dir / "aclImdb_v1.tar.gz"
    if target.exists() and file_sha256(target) == IMDB_SHA256:
        print(f"data: using cached {target}")
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    print(f"data: downloading {IMDB_URL} (84 MB) into {cache_dir}")
    try:
        with urllib.request.urlopen(IMDB_URL, timeout=60) as response, partial.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="aclImdb_v1.tar.gz") as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"{IMDB_URL}: download failed ({error}); pass --data with a local copy of the "
            "archive, an extracted aclImdb/ directory, or a CSV/TSV/JSONL file"
        ) from None
    if file_sha256(partial) != IMDB_SHA256:
        partial.unlink()
        raise DataError(f"{IMDB_URL}: downloaded file does not match its sha256; try again")
    os.replace(partial, target)
    return target


# --- splitting ---------------------------------------------------------------------------------


def split_by_movie(corpus: Corpus, validation_fraction: float, seed: int) -> Split:
    """Hold out every review of a random set of movies.

    Reviews of one movie resemble each other, so a random review-level split overstates accuracy
    on unseen movies by about two points; a movie-level split estimates it honestly. A held-out
    review whose text is also a training review's is left out of validation.
    """
    rng = np.random.default_rng(seed)
    pairs = zip(corpus.groups, corpus.labels, strict=True)
    labelled_movies = sorted({group for group, label in pairs if label != UNLABELLED})
    shuffled = rng.permutation(len(labelled_movies))
    n_val = max(1, round(validation_fraction * len(labelled_movies)))
    val_movies = {labelled_movies[i] for i in shuffled[:n_val]}
    in_val = np.array([g in val_movies for g in corpus.groups])
    # The same review is sometimes posted under several movies (39 of the 2,439 IMDB validation
    # reviews copy a training one): scored, a copy would measure memory, not generalisation.
    training_texts = {corpus.texts[i] for i in np.flatnonzero(~in_val)}
    copied = in_val & np.array([text in training_texts for text in corpus.texts], dtype=bool)
    labelled = corpus.labels != UNLABELLED
    train = np.flatnonzero(labelled & ~in_val)
    val = np.flatnonzero(labelled & in_val & ~copied)
    if len(train) == 0 or len(np.unique(corpus.labels[train])) < 2:
        raise DataError(f"{corpus.source}: too few labelled examples to hold some out")
    return Split(
        train_texts=[corpus.texts[i] for i in train],
        train_labels=corpus.labels[train],
        val_texts=[corpus.texts[i] for i in val],
        val_labels=corpus.labels[val],
        lm_train_texts=[corpus.texts[i] for i in np.flatnonzero(~in_val)],
        lm_val_texts=[corpus.texts[i] for i in np.flatnonzero(in_val & ~copied)],
    )


def subsample(corpus: Corpus, max_labelled: int, max_unlabelled: int, seed: int) -> Corpus:
    """Keep a random subset of the reviews (smoke runs); 0 / -1 mean keep every review."""
    rng = np.random.default_rng(seed)
    labelled = np.flatnonzero(corpus.labels != UNLABELLED)
    unlabelled = np.flatnonzero(corpus.labels == UNLABELLED)
    if max_labelled > 0 and len(labelled) > max_labelled:
        labelled = rng.choice(labelled, max_labelled, replace=False)
    if max_unlabelled >= 0 and len(unlabelled) > max_unlabelled:
        unlabelled = rng.choice(unlabelled, max_unlabelled, replace=False)
    keep = np.sort(np.concatenate([labelled, unlabelled]))
    return dataclasses.replace(
        corpus,
        texts=[corpus.texts[i] for i in keep],
        labels=corpus.labels[keep],
        groups=[corpus.groups[i] for i in keep],
    )


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>")


def split_sentences(text: str) -> list[str]:
    """A review's sentences, in order: split after . ! ? and at HTML line breaks."""
    return [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def last_sentences(
    texts: list[str], labels: np.ndarray, min_words: int = 5, max_words: int = 30
) -> tuple[list[str], np.ndarray]:
    """Each review's last sentence of `min_words` to `max_words` words, labelled like its review.

    Short single sentences are a second kind of input users send; this is a noisy stand-in for
    them (a review's verdict is often at its end, but some sentences disagree with their review),
    so it compares models with each other rather than measuring any one of them.
    """
    sentences, kept = [], []
    for text, label in zip(texts, labels, strict=True):
        for sentence in reversed(split_sentences(text)):
            if min_words <= len(sentence.split()) <= max_words:
                sentences.append(sentence)
                kept.append(label)
                break
    return sentences, np.asarray(kept, dtype=np.asarray(labels).dtype)
