"""`evaluate` and `compare` on a labelled file: the figures, the report, the verdict."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from cli.stats import mcnemar, sentiment_figures, verdict


def test_evaluate_gives_the_figures_and_the_report(run_cli, two_versions, labelled, tmp_path):
    report = tmp_path / "report"
    result = run_cli(
        "evaluate", "--model-dir", two_versions, "--version", 1, "--input", labelled,
        "--report-dir", report, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    figures = result.json
    assert figures["rows"] == 240 and figures["version"] == 1
    assert figures["accuracy"] > 0.9 and figures["auc"] > 0.9
    assert 0 <= figures["ece"] < 0.5 and figures["log_loss"] > 0
    assert sum(figures["confusion"].values()) == 240
    assert {p.name for p in report.iterdir()} == {
        "report.md",
        "reliability.png",
        "confusion_matrix.png",
    }
    assert "| accuracy |" in (report / "report.md").read_text()
    assert f"accuracy {figures['accuracy']:.4f}" in result.out


def test_evaluate_other_columns_and_bad_labels(run_cli, model_dir, tmp_path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "a great movie", "y": 1}\n{"body": "dull", "y": "maybe"}\n')
    args = ["--input", source, "--text-column", "body", "--label-column", "y"]
    result = run_cli("evaluate", "--model-dir", model_dir, *args, "--report-dir", tmp_path / "r")
    assert result.code == 1
    assert "in.jsonl, row 2: label 'maybe' is not one of '0', '1'," in result.err
    missing = run_cli("evaluate", "--model-dir", model_dir, "--input", source, "--json")
    assert missing.code == 1 and "line 1: no key text, label" in missing.json["error"]


def test_evaluate_reads_labels_as_training_mapped_them(run_cli, model_dir, labelled, tmp_path):
    """A version trained on "bad"/"good" labels is evaluated on a file spelled the same way,
    and refuses the spellings its training did not read."""
    store = Path(shutil.copytree(model_dir, tmp_path / "model"))
    [version] = sorted((store / "sentiment").iterdir())
    metadata_path = version / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["data"]["labels"] = {"rule": "sorted", "values": {"bad": 0, "good": 1}}
    metadata_path.write_text(json.dumps(metadata))
    spelled = tmp_path / "spelled.csv"
    rows = list(csv.reader(labelled.open(newline="")))
    with spelled.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow([row[0], row[1], "good" if row[2] == "pos" else "bad", row[3]])

    original = run_cli(
        "evaluate",
        "--model-dir",
        model_dir,
        "--input",
        labelled,
        "--json",
        "--report-dir",
        tmp_path / "a",
    )
    mapped = run_cli(
        "evaluate",
        "--model-dir",
        store,
        "--input",
        spelled,
        "--json",
        "--report-dir",
        tmp_path / "b",
    )
    assert mapped.code == 0, mapped.err
    assert mapped.json["accuracy"] == original.json["accuracy"]
    refused = run_cli(
        "evaluate",
        "--model-dir",
        store,
        "--input",
        labelled,
        "--json",
        "--report-dir",
        tmp_path / "c",
    )
    assert refused.code == 1
    assert "label 'neg' is not one of 'bad', 'good'" in refused.json["error"]


def test_compare_ranks_the_good_version_first(run_cli, two_versions, labelled) -> None:
    result = run_cli("compare", "--model-dir", two_versions, 2, 1, "--input", labelled, "--json")
    assert result.code == 0, result.err
    assert result.json["better"] == 1
    assert result.json["a"]["accuracy"] < result.json["b"]["accuracy"]
    assert result.json["test"]["only_b_right"] > result.json["test"]["only_a_right"]
    assert result.json["verdict"].startswith("version 1 is better than version 2 on this file (p=")
    assert result.out.splitlines()[-2] == result.json["verdict"]


def test_compare_a_version_with_itself(run_cli, two_versions, labelled) -> None:
    result = run_cli("compare", "--model-dir", two_versions, 1, 1, "--input", labelled, "--json")
    assert (
        result.json["verdict"] == "no significant difference between version 1 and version 1 (p=1)"
    )


def test_mcnemar_exact_for_few_discordant_pairs() -> None:
    a = [True] * 10 + [False] * 2
    b = [False] * 10 + [True] * 2
    test = mcnemar(a, b)
    assert (test.only_a, test.only_b, test.method) == (10, 2, "exact binomial")
    assert test.p_value == pytest.approx(0.03857, abs=1e-5)  # 2 * P(X <= 2), X ~ B(12, 1/2)
    assert verdict("A", "B", 0.9, 0.5, test) == "A is better than B on this file (p=0.0386)"


def test_mcnemar_chi_squared_for_many() -> None:
    test = mcnemar([True] * 30 + [False] * 20, [False] * 30 + [True] * 20)
    assert test.method == "chi-squared, corrected"
    assert test.p_value == pytest.approx(0.2031, abs=1e-4)  # (|30-20|-1)^2/50 = 1.62
    assert verdict("A", "B", 0.6, 0.4, test).startswith("no significant difference")


def test_sentiment_figures() -> None:
    figures = sentiment_figures([0.9, 0.8, 0.3, 0.6], [1, 1, 0, 0])
    assert figures["accuracy"] == 0.75 and figures["auc"] == 1.0
    assert figures["confusion"] == {
        "true_negative": 1, "false_positive": 1, "false_negative": 0, "true_positive": 2,
    }  # fmt: skip
    assert sentiment_figures([0.9], [1])["auc"] is None
