"""`compare`: two sentiment versions on the same labelled rows, side by side, with McNemar's
paired test of their right and wrong answers and a one-line verdict."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from cli.evaluate import add_labelled_options
from cli.labelled import score_labelled
from cli.output import say, table
from cli.stats import mcnemar, sentiment_figures, verdict
from cli.store import Version, resolve

ROWS = [("accuracy", "accuracy"), ("AUC", "auc"), ("log loss", "log_loss"), ("ECE", "ece")]


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "compare",
        help="two versions side by side on a labelled file, with a paired test",
        description="Compare sentiment versions A and B on the same labelled rows: their "
        "figures, McNemar's test of the rows one gets right and the other wrong, a verdict.",
    )
    parser.add_argument(
        "--model-dir", type=Path, required=True, metavar="DIR", help="the model store"
    )
    parser.add_argument("a", type=int, metavar="A", help="a version")
    parser.add_argument("b", type=int, metavar="B", help="another version")
    add_labelled_options(parser)
    parser.set_defaults(run=run)


def compare_versions(
    versions: list[Version], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], dict[str, Any], str, int | None]:
    """(each version's figures, the test, the verdict, the better version or None)."""
    probabilities, labels = score_labelled(
        versions, args.input, args.text_column, args.label_column, args.batch_size
    )
    figures = [sentiment_figures(p, labels) for p in probabilities]
    rights = [(p >= 0.5) == (labels > 0.5) for p in probabilities]
    test = mcnemar(*rights)
    a, b = (f"version {v.version}" for v in versions)
    line = verdict(a, b, figures[0]["accuracy"], figures[1]["accuracy"], test)
    better = None
    if not line.startswith("no significant"):
        better = versions[int(np.argmax([f["accuracy"] for f in figures]))].version
    return figures, test.to_json(), line, better


def run(args: argparse.Namespace) -> dict[str, Any]:
    versions = [resolve(args.model_dir, "sentiment", v) for v in (args.a, args.b)]
    figures, test, line, better = compare_versions(versions, args)
    say(f"sentiment versions {args.a} and {args.b} on {args.input} ({figures[0]['rows']:,} rows):")
    rows = [[name, *(f[key] for f in figures)] for name, key in ROWS]
    for text in table(["", f"version {args.a}", f"version {args.b}"], rows):
        say(f"  {text}")
    say(
        f"  right only by {args.a}: {test['only_a_right']:,}, only by {args.b}: "
        f"{test['only_b_right']:,} (McNemar, {test['method']}: p={test['p_value']:.3g})"
    )
    say(line)
    return {
        "input": str(args.input),
        "a": {"version": args.a, **figures[0]},
        "b": {"version": args.b, **figures[1]},
        "test": test,
        "verdict": line,
        "better": better,
    }
