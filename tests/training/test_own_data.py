"""The user's own labelled data: named columns, label values mapped to 0/1 by a stated rule,
groups kept on one side of the split, a separate test file, and one clear error per bad input
with nothing written into the model store."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from training.__main__ import main
from training.data import Columns, DataError, load_corpus, load_test_file, split_by_movie
from training.labels import LabelMap, label_map


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, delimiter="\t" if path.suffix == ".tsv" else ",")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read(path: Path, **columns: str | None):
    return load_corpus(path, path.parent / "cache", Columns(**columns))


def mapping(values: list[str], positive: str | None = None) -> tuple[LabelMap, str | None]:
    first_line = {}
    for line, value in enumerate(values, start=2):
        first_line.setdefault(value, line)
    return label_map(Counter(values), first_line, positive, "data.csv")


# --- label values ------------------------------------------------------------------------------


def test_known_spellings_map_by_convention() -> None:
    found, warning = mapping(["pos", "0", "true", "negative", "false"])

    assert found.rule == "convention" and warning is None
    assert found.values == {"0": 0, "false": 0, "negative": 0, "pos": 1, "true": 1}


def test_positive_label_chooses_even_against_convention() -> None:
    found, warning = mapping(["1", "0", "0"], positive="0")

    assert found.rule == "positive_label" and warning is None
    assert found.values == {"0": 1, "1": 0}


def test_two_other_strings_map_in_sorted_order_with_a_warning() -> None:
    found, warning = mapping(["spam", "ham", "spam"])

    assert found.values == {"ham": 0, "spam": 1} and found.rule == "sorted"
    assert warning is not None and "'spam' is read as positive" in warning
    assert "--positive-label" in warning


@pytest.mark.parametrize(
    ("values", "positive", "message"),
    [
        (["good", "bad", "meh", "good"], None, "line 4: label 'meh' is a third label value"),
        (["good", "good"], None, "every example has the label 'good'"),
        (["good", "bad"], "great", "--positive-label 'great' is not a label value"),
    ],
)
def test_label_values_that_cannot_be_mapped(values, positive, message) -> None:
    with pytest.raises(DataError, match=message):
        mapping(values, positive)


def test_labels_are_compared_stripped_and_case_folded(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["review", "stars"], [("a", " Good"), ("b", "BAD")])

    corpus = read(path, text="review", label="stars")

    assert corpus.labels.tolist() == [1, 0]
    assert corpus.label_map.to_dict() == {"rule": "sorted", "values": {"bad": 0, "good": 1}}
    assert corpus.warnings


def test_jsonl_booleans_and_numbers_are_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [{"body": "a", "y": True}, {"body": "b", "y": 0.0}, {"body": "c", "y": 1}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    assert read(path, text="body", label="y").labels.tolist() == [1, 0, 1]


# --- columns and groups ------------------------------------------------------------------------


def grouped_rows(products: int = 30, per_product: int = 5) -> list[tuple[str, str, str]]:
    return [
        (f"review {n} of product {p}", "good" if (p + n) % 2 else "bad", f"sku-{p}")
        for p in range(products)
        for n in range(per_product)
    ]


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_group_column_keeps_each_group_on_one_side(tmp_path: Path, suffix: str) -> None:
    path = write_csv(tmp_path / f"d{suffix}", ["body", "verdict", "product"], grouped_rows())

    corpus = read(path, text="body", label="verdict", group="product", positive_label="good")
    split = split_by_movie(corpus, validation_fraction=0.2, seed=3)

    product_of = dict(zip(corpus.texts, corpus.groups, strict=True))
    train_groups = {product_of[text] for text in split.train_texts}
    val_groups = {product_of[text] for text in split.val_texts}
    assert val_groups and not train_groups & val_groups
    assert len(val_groups) == 6  # a fifth of the 30 products, all of each one's reviews
    assert len(split.val_texts) == 6 * 5


def test_without_a_group_column_rows_are_split_one_by_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["text", "label", "product"], grouped_rows())

    corpus = read(path)
    split = split_by_movie(corpus, validation_fraction=0.2, seed=3)

    assert len(set(corpus.groups)) == len(corpus.texts)
    product_of = {text: text.rsplit(" ", 1)[1] for text in corpus.texts}
    straddling = {product_of[t] for t in split.val_texts} & {
        product_of[t] for t in split.train_texts
    }
    assert straddling  # a random row-level split: products land on both sides


def test_columns_do_not_apply_to_an_imdb_archive(imdb_archive: Path) -> None:
    with pytest.raises(DataError, match="apply to CSV/TSV/JSONL files"):
        load_corpus(imdb_archive, imdb_archive.parent, Columns(group="movie"))


def test_test_file_labels_are_read_with_the_training_mapping(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", ["t", "y"], [("a", "spam"), ("b", "ham")])
    corpus = read(train, text="t", label="y")
    good = write_csv(tmp_path / "test.csv", ["t", "y"], [("c", "ham"), ("d", "SPAM")])
    bad = write_csv(tmp_path / "bad.csv", ["t", "y"], [("c", "ham"), ("d", "pos")])

    test = load_test_file(good, Columns("t", "y"), corpus.label_map)

    assert test.labels.tolist() == [0, 1] and len(test.sha256) == 64
    with pytest.raises(DataError, match=r"line 3: label 'pos' is not one of .*'ham', 'spam'"):
        load_test_file(bad, Columns("t", "y"), corpus.label_map)


# --- bad input: one line, a non-zero exit, nothing written -------------------------------------

ROWS = "body,verdict\nfine film,pos\nawful,neg\n"
BAD_INPUTS = {
    "missing column": (
        {"train.csv": ROWS},
        ["--text-column", "review", "--label-column", "verdict"],
        "missing column(s) review; the header has ['body', 'verdict']",
    ),
    "missing jsonl key": (
        {"train.jsonl": '{"body": "a", "verdict": 1}\n'},
        ["--text-column", "text", "--label-column", "verdict"],
        "line 1: missing column(s) text; the row has ['body', 'verdict']",
    ),
    "one class": (
        {"train.csv": "body,verdict\na,pos\nb,1\nc,positive\n"},
        ["--text-column", "body", "--label-column", "verdict"],
        "every example is positive; sentiment needs both classes",
    ),
    "empty texts": (
        {"train.csv": "body,verdict\n,pos\nok,neg\n  ,neg\ngood,pos\n"},
        ["--text-column", "body", "--label-column", "verdict"],
        "2 of 4 rows have an empty body (the first on line 2)",
    ),
    "three labels": (
        {"train.csv": "body,verdict\na,good\nb,bad\nc,so-so\n"},
        ["--text-column", "body", "--label-column", "verdict"],
        "line 4: label 'so-so' is a third label value",
    ),
    "not utf-8": (
        {"train.csv": b"body,verdict\nfine,pos\ncaf\xe9 au lait,neg\n"},
        ["--text-column", "body", "--label-column", "verdict"],
        "line 3: not valid UTF-8 (byte 0xe9 at byte offset 25",
    ),
    "group column missing": (
        {"train.csv": ROWS},
        ["--text-column", "body", "--label-column", "verdict", "--group-column", "sku"],
        "missing column(s) sku",
    ),
    "test file missing column": (
        {"train.csv": ROWS, "test.csv": "text,verdict\na,pos\n"},
        ["--text-column", "body", "--label-column", "verdict", "--test", "test.csv"],
        "test.csv, line 1: missing column(s) body",
    ),
    "test file not utf-8": (
        {"train.csv": ROWS, "test.csv": b"body,verdict\n\xff,pos\n"},
        ["--text-column", "body", "--label-column", "verdict", "--test", "test.csv"],
        "test.csv, line 2: not valid UTF-8 (byte 0xff at byte offset 13",
    ),
    "lm data missing": (
        {"train.csv": ROWS},
        ["--text-column", "body", "--label-column", "verdict", "--lm-data", "nowhere.txt"],
        "nowhere.txt: no such file",
    ),
    "lm data not utf-8": (
        {"train.csv": ROWS, "domain.txt": b"one line\nanother \xc3( line\n"},
        ["--text-column", "body", "--label-column", "verdict", "--lm-data", "domain.txt"],
        "domain.txt, line 2: not valid UTF-8 (byte 0xc3 at byte offset 17",
    ),
    "lm data empty": (
        {"train.csv": ROWS, "domain.txt": "\n\n  \n"},
        ["--text-column", "body", "--label-column", "verdict", "--lm-data", "domain.txt"],
        "domain.txt: no text for the language model",
    ),
    "lm data column missing": (
        {"train.csv": ROWS, "domain.jsonl": '{"body": "x"}\n'},
        ["--text-column", "body", "--label-column", "verdict", "--lm-data", "domain.jsonl"]
        + ["--lm-text-column", "abstract"],
        "domain.jsonl, line 1: missing column(s) abstract",
    ),
}


def train_on(tmp_path: Path, files: dict[str, str | bytes], options: list[str]) -> int:
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
    data_file = next(name for name in files if name.startswith("train"))
    # Paths in the options are relative to the data's directory.
    options = [str(tmp_path / o) if "." in o and not o.startswith("-") else o for o in options]
    argv = ["--data", str(tmp_path / data_file), "--model-dir", str(tmp_path / "model")]
    return main([*argv, "--preset", "tiny", *options])


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line(tmp_path: Path, capsys, case: str) -> None:
    files, options, message = BAD_INPUTS[case]

    code = train_on(tmp_path, files, options)

    err = capsys.readouterr().err
    assert code == 1
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "model").exists()  # nothing written into the model store


def test_unreadable_file_is_one_clear_line(tmp_path: Path, capsys) -> None:
    # /proc/self/mem opens but cannot be read from offset 0 (an I/O error), even as root.
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs Linux's /proc")
    data = tmp_path / "train.csv"
    data.symlink_to("/proc/self/mem")

    code = main(["--data", str(data), "--model-dir", str(tmp_path / "model"), "--preset", "tiny"])

    err = capsys.readouterr().err
    assert code == 1 and f"{data}: cannot read (" in err and err.count("\n") == 1
    assert not (tmp_path / "model").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_one_clear_line(tmp_path: Path, capsys) -> None:
    data = write_csv(tmp_path / "train.csv", ["text", "label"], [("a", 1), ("b", 0)])
    data.chmod(0)

    code = main(["--data", str(data), "--model-dir", str(tmp_path / "model"), "--preset", "tiny"])

    assert code == 1 and "cannot read (Permission denied)" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_labels_read_back_as_integers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["text", "label"], [("a", "true"), ("b", "false")])

    assert read(path).labels.dtype == np.int64


def test_the_console_script_takes_the_same_options(tmp_path: Path, capsys) -> None:
    from cli.main import main as cli_main

    (tmp_path / "train.csv").write_text(ROWS)
    argv = ["train", "--data", str(tmp_path / "train.csv"), "--model-dir", str(tmp_path / "m")]

    code = cli_main([*argv, "--text-column", "review", "--label-column", "verdict", "--json"])

    captured = capsys.readouterr()
    assert code == 1 and "missing column(s) review" in captured.err
    assert json.loads(captured.out.splitlines()[-1]) == {"error": "training failed", "exit_code": 1}
    assert not (tmp_path / "m").exists()
