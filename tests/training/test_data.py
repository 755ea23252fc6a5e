"""Reading the corpus: every accepted format, the movie-level split, and every bad input."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from training.__main__ import main
from training.data import Corpus, last_sentences, load_corpus, split_by_movie


def read(path: Path):
    return load_corpus(path, cache_dir=path.parent / "cache")


def test_read_imdb_archive(imdb_archive: Path) -> None:
    corpus = read(imdb_archive)

    assert len(corpus.texts) == 640
    assert (corpus.labels == 1).sum() == 240 and (corpus.labels == 0).sum() == 240
    assert (corpus.labels == -1).sum() == 160
    assert corpus.groups[0].startswith("tt") and len(corpus.sha256) == 64


def test_read_imdb_directory_matches_archive(imdb_archive: Path, tmp_path: Path) -> None:
    with tarfile.open(imdb_archive) as archive:
        archive.extractall(tmp_path, filter="data")

    from_dir, from_archive = read(tmp_path / "aclImdb"), read(imdb_archive)

    assert from_dir.texts == from_archive.texts
    assert from_dir.groups == from_archive.groups


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_read_table_formats(tmp_path: Path, suffix: str) -> None:
    rows = [("a good film", "pos"), ('said "bad", really', 0), ("fine", 1), ("meh", "negative")]
    path = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    else:
        import csv

        with path.open("w", newline="") as file:
            writer = csv.writer(file, delimiter="\t" if suffix == ".tsv" else ",")
            writer.writerow(["text", "label"])
            writer.writerows(rows)

    corpus = read(path)

    assert corpus.texts == [t for t, _ in rows]
    assert corpus.labels.tolist() == [1, 0, 1, 0]


def test_split_by_movie_keeps_movies_whole(imdb_archive: Path) -> None:
    corpus = read(imdb_archive)

    split = split_by_movie(corpus, validation_fraction=0.2, seed=1)

    movie_of = dict(zip(corpus.texts, corpus.groups, strict=True))
    val_movies = {movie_of[text] for text in split.val_texts}
    train_movies = {movie_of[text] for text in split.train_texts}
    assert not val_movies & train_movies
    assert 0.1 < len(split.val_texts) / (len(split.val_texts) + len(split.train_texts)) < 0.3
    assert len(split.lm_train_texts) + len(split.lm_val_texts) == len(corpus.texts)
    assert split_by_movie(corpus, 0.2, seed=1).val_texts == split.val_texts  # fixed seed


def test_split_by_movie_scores_no_copy_of_a_training_review() -> None:
    movies = [f"tt{i:07d}" for i in range(20)]
    texts = [f"review {n} of {movie}" for movie in movies for n in range(4)]
    groups = [movie for movie in movies for _ in range(4)]
    # The same review posted under every movie.
    texts = [SAME if n % 4 == 0 else text for n, text in enumerate(texts)]
    labels = np.arange(len(texts)) % 2
    corpus = Corpus("reviews.csv", "0" * 64, texts, labels, groups)

    split = split_by_movie(corpus, validation_fraction=0.2, seed=1)

    assert SAME in split.train_texts and SAME in split.lm_train_texts
    assert SAME not in split.val_texts and SAME not in split.lm_val_texts
    assert len(split.val_texts) == 4 * 3  # four movies' other reviews


SAME = "I have seen this movie and I can say that it is a movie."


BAD_INPUTS = {
    "missing.csv": (None, "no such file"),
    "data.parquet": (b"PAR1", "unknown format"),
    "no_label.csv": (b"text,score\nhello,1\n", "missing column(s) label"),
    "three_classes.csv": (b"text,label\na,pos\nb,neg\nc,neutral\n", "line 4: label 'neutral'"),
    "empty.csv": (b"text,label\n", "no labelled examples"),
    "one_class.jsonl": (b'{"text": "a", "label": 1}\n{"text": "b", "label": "pos"}\n', "every"),
    "broken.jsonl": (b'{"text": "a", "label": 1}\n{"text": \n', "line 2: invalid JSON"),
    "latin1.csv": (b"text,label\ncaf\xe9,1\n", "not valid UTF-8"),
    "aclImdb_damaged.tar.gz": (gzip.compress(b"x" * 5000)[:200], "damaged"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_train_rejects_bad_input(tmp_path: Path, capsys, name: str) -> None:
    content, message = BAD_INPUTS[name]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    model_dir = tmp_path / "model"

    code = main(["--data", str(path), "--model-dir", str(model_dir), "--preset", "tiny"])

    assert code != 0
    error = capsys.readouterr().err
    assert str(path) in error and message in error
    assert not model_dir.exists() or not any(model_dir.rglob("saved_model.pb"))


def test_train_rejects_unknown_setting(tmp_path: Path, capsys) -> None:
    code = main(["--model-dir", str(tmp_path), "--preset", "tiny", "--set", "lstm_unitz=3"])

    assert code == 2
    assert "unknown setting 'lstm_unitz'" in capsys.readouterr().err


def test_read_table_reports_labels_as_integers(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("label,text\n1,yes\n0,no\n")

    assert read(path).labels.dtype == np.int64


def test_download_verifies_and_caches_the_archive(
    imdb_archive: Path, tmp_path: Path, monkeypatch
) -> None:
    import training.data as data

    monkeypatch.setattr(data, "IMDB_URL", imdb_archive.as_uri())
    monkeypatch.setattr(data, "IMDB_SHA256", data.file_sha256(imdb_archive))
    cache = tmp_path / "cache"

    first = load_corpus(None, cache)
    imdb_archive_mtime = (cache / "aclImdb_v1.tar.gz").stat().st_mtime_ns
    second = load_corpus(None, cache)

    assert first.texts == second.texts and len(first.texts) == 640
    assert (cache / "aclImdb_v1.tar.gz").stat().st_mtime_ns == imdb_archive_mtime  # reused


def test_download_rejects_a_corrupt_archive(imdb_archive: Path, tmp_path: Path, monkeypatch):
    import training.data as data

    monkeypatch.setattr(data, "IMDB_URL", imdb_archive.as_uri())
    monkeypatch.setattr(data, "IMDB_SHA256", "0" * 64)

    with pytest.raises(data.DataError, match="does not match its sha256"):
        load_corpus(None, tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())


def test_last_sentences_keep_each_reviews_last_short_sentence() -> None:
    texts = [
        "It starts well. Then it drags on and on for far too long.<br /><br />Skip it!",
        "Too short. No.",
        "One two three four five six. " + "word " * 40,
    ]
    sentences, labels = last_sentences(texts, np.array([0, 1, 1]))

    assert sentences == [
        "Then it drags on and on for far too long.",
        "One two three four five six.",
    ]
    assert labels.tolist() == [0, 1]
