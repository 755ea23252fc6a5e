"""`score`: the same rows out, in order, every column kept, with the API's probabilities."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import tensorflow as tf


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def direct(path: Path, texts: list[str], **inputs) -> dict:
    """The version's serving_default signature called on all the texts in one batch."""
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    return signature(texts=tf.constant(texts), **inputs)


def test_score_keeps_rows_and_adds_sentiment(run_cli, two_versions, labelled, tmp_path) -> None:
    output = tmp_path / "scored.csv"
    result = run_cli(
        "score", "--model-dir", two_versions, "--version", 1, "--input", labelled,
        "--output", output, "--prefix", "predicted_", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    rows, scored = read_csv(labelled), read_csv(output)
    assert len(scored) == len(rows) == result.json["rows"]
    assert list(scored[0]) == [*rows[0], "predicted_positive_probability", "predicted_label"]
    for row, out in zip(rows, scored, strict=True):
        assert {key: out[key] for key in row} == row  # every value as it was, in order
        p = float(out["predicted_positive_probability"])
        assert out["predicted_label"] == ("positive" if p >= 0.5 else "negative")
    expected = direct(two_versions / "sentiment" / "1", [r["text"] for r in rows])
    probabilities = expected["positive_probability"].numpy().tolist()
    assert [float(r["predicted_positive_probability"]) for r in scored] == [
        round(p, 6) for p in probabilities
    ]
    assert result.json["texts_per_second"] > 0
    assert result.json["sentiment_version"] == 1


def test_score_equals_the_api(run_cli, model_dir, labelled, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from service.main import create_app
    from service.settings import Settings

    output = tmp_path / "scored.jsonl"
    args = ["--input", labelled, "--output", output, "--prefix", "p_"]
    assert run_cli("score", "--model-dir", model_dir, *args).code == 0
    scored = [json.loads(line) for line in output.read_text().splitlines()]
    texts = [row["text"] for row in scored]
    with TestClient(create_app(Settings(model_dir=model_dir))) as client:
        answers = []
        for start in range(0, len(texts), 64):
            reply = client.post("/sentiment", json={"texts": texts[start : start + 64]})
            assert reply.status_code == 200
            answers += reply.json()["results"]
    assert [(r["p_positive_probability"], r["p_label"]) for r in scored] == [
        (a["positive_probability"], a["label"]) for a in answers
    ]


def test_score_jsonl_keeps_objects_and_next_words(run_cli, model_dir, tmp_path) -> None:
    rows = [{"text": "a great movie", "n": 1, "meta": {"x": [1, 2]}}, {"text": "", "n": None}]
    rows.append({"other": True, "text": "i love this"})
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    output = tmp_path / "out.jsonl"
    args = ["--input", source, "--output", output, "--next-words", 3]
    assert run_cli("score", "--model-dir", model_dir, *args).code == 0
    scored = [json.loads(line) for line in output.read_text().splitlines()]
    assert [
        {k: v for k, v in s.items() if k in r} for s, r in zip(scored, rows, strict=True)
    ] == rows
    assert [list(s)[-3:] for s in scored] == [["positive_probability", "label", "next_words"]] * 3
    words = direct(model_dir / "next_word" / "1", [r["text"] for r in rows], k=tf.constant(3))
    expected = [" ".join(w.decode() for w in ws) for ws in words["words"].numpy()]
    assert [s["next_words"] for s in scored] == expected


def test_score_tsv_to_csv_with_another_text_column(run_cli, model_dir, tmp_path) -> None:
    source = tmp_path / "in.tsv"
    source.write_text("review\tstars\na great movie\t5\ndull and boring\t1\n")
    output = tmp_path / "out.csv"
    args = ["--input", source, "--output", output, "--text-column", "review"]
    assert run_cli("score", "--model-dir", model_dir, *args).code == 0
    scored = read_csv(output)
    assert [(r["review"], r["stars"]) for r in scored] == [
        ("a great movie", "5"),
        ("dull and boring", "1"),
    ]
    assert set(scored[0]) == {"review", "stars", "positive_probability", "label"}


def test_score_parquet(run_cli, model_dir, tmp_path) -> None:
    pa = pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (requirements/cli.txt)")
    import pyarrow.parquet as pq

    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [7, 8], "text": ["a great movie", "dull"]}), source)
    output = tmp_path / "out.parquet"
    assert (
        run_cli("score", "--model-dir", model_dir, "--input", source, "--output", output).code == 0
    )
    table = pq.read_table(output)
    assert table.column_names == ["id", "text", "positive_probability", "label"]
    assert table.column("id").to_pylist() == [7, 8]


def test_score_uses_the_promoted_version(run_cli, store, labelled, tmp_path) -> None:
    assert run_cli("promote", "--model-dir", store, 1, "--force").code == 0
    args = ["--input", labelled, "--output", tmp_path / "o.csv", "--prefix", "p_", "--json"]
    assert run_cli("score", "--model-dir", store, *args).json["sentiment_version"] == 1


@pytest.mark.parametrize(
    ("content", "name", "extra", "message"),
    [
        ("id,review\n1,good\n", "in.csv", [], "in.csv, line 1: missing column(s) text"),
        ('{"text": "ok"}\n{"text": 3}\n', "in.jsonl", [], "in.jsonl, line 2: text is not a string"),
        ('{"text": "ok"}\nnot json\n', "in.jsonl", [], "in.jsonl, line 2: invalid JSON"),
        ("text\nok\n", "in.txt", [], "in.txt: unknown format"),
        ("text,label\nok,1\n", "in.csv", [], "already has column(s) label"),
        ("text\nok\n", "in.csv", ["--version", 9], "no sentiment version 9 (versions: 1)"),
    ],
)
def test_score_refuses_bad_input(run_cli, model_dir, tmp_path, content, name, extra, message):
    source = tmp_path / name
    source.write_text(content)
    output = tmp_path / "out.csv"
    result = run_cli(
        "score", "--model-dir", model_dir, "--input", source, "--output", output, *extra, "--json"
    )
    assert result.code == 1
    assert message in result.err and message in result.json["error"]
    assert not output.exists() and list(tmp_path.iterdir()) == [source]  # nothing half-written


def test_score_refuses_a_missing_input(run_cli, model_dir, tmp_path) -> None:
    result = run_cli(
        "score",
        "--model-dir",
        model_dir,
        "--input",
        tmp_path / "no.csv",
        "--output",
        tmp_path / "o.csv",
    )
    assert result.code == 1
    assert "no.csv: no such file" in result.err
