"""`evaluate`: one sentiment version's figures on a labelled file of the user's (accuracy, AUC,
log loss, ECE, the confusion matrix) and a report directory with training's plots of them
(reliability diagram, confusion matrix) and `report.md`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from cli.labelled import score_labelled
from cli.output import add_json_flag, say, table
from cli.project import training_report
from cli.stats import sentiment_figures
from cli.store import resolve


def add_labelled_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", type=Path, required=True, metavar="LABELLED", help="labelled CSV/TSV/JSONL file"
    )
    parser.add_argument(
        "--text-column", default="text", metavar="C", help="column of the texts (text)"
    )
    parser.add_argument(
        "--label-column",
        default="label",
        metavar="L",
        help="column of the labels, read as the version was trained to read them (label)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, metavar="N", help="most texts per model call"
    )
    add_json_flag(parser)


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="a version's accuracy, AUC, log loss, ECE and confusion matrix on a labelled file",
        description="Evaluate one sentiment version on a labelled file and write a report "
        "with the reliability diagram and the confusion matrix.",
    )
    parser.add_argument(
        "--model-dir", type=Path, required=True, metavar="DIR", help="the model store"
    )
    parser.add_argument(
        "--version", type=int, metavar="V", help="default: the version a service serves"
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        metavar="DIR",
        help="where to write the report (evaluation-<input>-v<V>)",
    )
    add_labelled_options(parser)
    parser.set_defaults(run=run)


def figure_lines(figures: dict[str, Any]) -> list[str]:
    matrix = figures["confusion"]
    return [
        f"accuracy {figures['accuracy']:.4f}, AUC {_maybe(figures['auc'])}, "
        f"log loss {figures['log_loss']:.4f}, ECE {figures['ece']:.4f}",
        *table(
            ["true \\ predicted", "negative", "positive"],
            [
                ["negative", matrix["true_negative"], matrix["false_positive"]],
                ["positive", matrix["false_negative"], matrix["true_positive"]],
            ],
        ),
    ]


def _maybe(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    version = resolve(args.model_dir, "sentiment", args.version)
    [probabilities], labels = score_labelled(
        [version], args.input, args.text_column, args.label_column, args.batch_size
    )
    figures = sentiment_figures(probabilities, labels)
    recorded = version.metadata().get("metrics", {}).get("sentiment_accuracy")
    report_dir = args.report_dir or Path(f"evaluation-{args.input.stem}-v{version.version}")
    write_evaluation(report_dir, figures, probabilities, labels, version.version, args.input)
    say(f"sentiment version {version.version} on {args.input} ({figures['rows']:,} rows):")
    for line in figure_lines(figures):
        say(f"  {line}")
    if recorded is not None:
        say(f"  (accuracy on its own validation split at training: {recorded:.4f})")
    say(f"report: {report_dir / 'report.md'}")
    return {
        "version": version.version,
        "input": str(args.input),
        **figures,
        "validation_accuracy": recorded,
        "report": str(report_dir / "report.md"),
    }


def write_evaluation(
    directory: Path,
    figures: dict[str, Any],
    probabilities: np.ndarray,
    labels: np.ndarray,
    version: int,
    source: Path,
) -> None:
    """report.md, reliability.png and confusion_matrix.png, drawn by training's functions."""
    report = training_report()
    directory.mkdir(parents=True, exist_ok=True)
    report.plot_reliability_diagram(probabilities, labels, directory / "reliability.png")
    report.plot_confusion_matrix(figures["confusion"], directory / "confusion_matrix.png")
    rows = [
        ("rows", f"{figures['rows']:,}"),
        ("share positive", f"{figures['positive_share']:.2%}"),
        ("accuracy", f"{figures['accuracy']:.2%}"),
        ("AUC", _maybe(figures["auc"])),
        ("log loss", f"{figures['log_loss']:.4f}"),
        ("ECE (15 bins)", f"{figures['ece']:.4f}"),
        *((name.replace("_", " "), f"{n:,}") for name, n in figures["confusion"].items()),
    ]
    lines = [
        f"# Evaluation of sentiment version {version}",
        "",
        f"On `{source}`; `label` is positive when `positive_probability >= 0.5`, as served.",
        "",
        "| figure | value |",
        "| --- | ---: |",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "![reliability](reliability.png)",
        "",
        "![confusion_matrix](confusion_matrix.png)",
    ]
    (directory / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
