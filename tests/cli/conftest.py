"""Command-line fixtures: a store with a good and a worse version, labelled files, and
`run_cli`, which runs `lstm-service ARGS` in-process and captures what it prints."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests.conftest import make_review, write_imdb_archive


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        """The last line of standard output, which --json makes one JSON object."""
        return json.loads(self.out.strip().splitlines()[-1])


def invoke(*args: object) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., Result]:
    """`run_cli("score", "--model-dir", store, ...)`: exit code, stdout, stderr."""
    return invoke


def shuffled_review(rng: random.Random, label: int | None) -> str:
    """A review whose sentiment words are those of a random class: the labels say nothing."""
    return make_review(rng, None if label is None else rng.randint(0, 1))


@pytest.fixture(scope="session")
def two_versions(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """The session store plus version 2, trained by the real pipeline on shuffled labels."""
    from training.config import load_config
    from training.pipeline import run

    base = tmp_path_factory.mktemp("two-versions")
    store = Path(shutil.copytree(model_dir, base / "model"))
    archive = write_imdb_archive(base / "shuffled.tar.gz", review=shuffled_review)
    run(load_config("tiny"), archive, store, cache_dir=base / "unused-cache")
    return store


@pytest.fixture
def store(two_versions: Path, tmp_path: Path) -> Path:
    """A private copy of the two-version store, for tests that promote."""
    return Path(shutil.copytree(two_versions, tmp_path / "model"))


def write_labelled(path: Path, rows: int = 240, seed: int = 99) -> Path:
    """Held-out labelled reviews (new texts, same style) with columns around the text whose
    values must come back unchanged: quotes, commas, a newline, digits with leading zeros."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "text", "label", "note"])
        for i in range(rows):
            label = i % 2
            text = make_review(rng, label)
            if i % 7 == 0:
                text = text.replace(".", '. "Quoted", and\nsplit', 1)
            writer.writerow([f"{i:05d}", text, "pos" if label else "neg", f'a, "b" {i}'])
    return path


@pytest.fixture(scope="session")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_labelled(tmp_path_factory.mktemp("files") / "held_out.csv")
