"""Shared fixtures: a small generated IMDB-style corpus and a model store trained on it once.

Nothing is downloaded: the corpus is written by `write_imdb_archive`, in the layout of the real
aclImdb archive (reviews under train/pos|neg|unsup, the movie of each review in urls_*.txt).
"""

from __future__ import annotations

import io
import os
import random
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

POSITIVE = "great wonderful excellent loved brilliant superb moving fantastic".split()
NEGATIVE = "awful terrible boring hated dull worst poor waste".split()
FILLER = "the movie film plot actors story was and a it this i of to is with".split()


def make_review(rng: random.Random, label: int | None) -> str:
    """Filler words with a few sentiment words mixed in (none when the review is unlabelled)."""
    words = [rng.choice(FILLER) for _ in range(rng.randint(8, 40))]
    cues = [] if label is None else (POSITIVE if label == 1 else NEGATIVE)
    for _ in range(4 if cues else 0):
        words.insert(rng.randrange(len(words)), rng.choice(cues))
    return " ".join(words).capitalize() + ". <br /><br />The end!"


def write_imdb_archive(
    path: Path,
    reviews_per_class: int = 240,
    unlabelled: int = 160,
    review: Callable[[random.Random, int | None], str] = make_review,
) -> Path:
    """A .tar.gz with the aclImdb layout, reviews written by `review(rng, label)`; every 4
    reviews in a row share one movie."""
    rng = random.Random(0)
    files: dict[str, str] = {}
    for kind, label, count in (
        ("pos", 1, reviews_per_class),
        ("neg", 0, reviews_per_class),
        ("unsup", None, unlabelled),
    ):
        urls = []
        for index in range(count):
            rating = 0 if label is None else (8 if label else 2)
            files[f"aclImdb/train/{kind}/{index}_{rating}.txt"] = review(rng, label)
            urls.append(f"http://www.imdb.com/title/tt{1000 + index // 4:07d}/usercomments")
        files[f"aclImdb/train/urls_{kind}.txt"] = "\n".join(urls) + "\n"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="session")
def imdb_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_imdb_archive(tmp_path_factory.mktemp("data") / "aclImdb_small.tar.gz")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, imdb_archive: Path) -> Path:
    """A model store holding version 1 of both models, trained in seconds by the real pipeline."""
    from training.config import load_config
    from training.pipeline import run

    store = tmp_path_factory.mktemp("model")
    run(load_config("tiny"), imdb_archive, store, cache_dir=store / "unused-cache")
    return store
