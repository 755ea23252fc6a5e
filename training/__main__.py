"""Command line: `python -m training --data PATH --model-dir DIR [--preset quick|full]`, with the
columns of a CSV/TSV/JSONL file, a separate test file and extra text for the language model."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "2"
)  # before TensorFlow is imported: keep logs readable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "imdb-lstm"
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train the sentiment and next-word models and export them as new versions.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="aclImdb .tar.gz archive, extracted aclImdb/ directory, or CSV/TSV/JSONL with "
        "text,label columns (default: download the IMDB archive)",
    )
    table = parser.add_argument_group("CSV/TSV/JSONL data")
    table.add_argument("--text-column", default="text", metavar="C", help="default: text")
    table.add_argument(
        "--label-column",
        default="label",
        metavar="C",
        help="default: label; two values: 0/1, neg/pos, negative/positive, false/true, or any "
        "two strings (--positive-label says which is positive, else sorted order: the second)",
    )
    table.add_argument("--positive-label", metavar="VALUE", help="the label value that is positive")
    table.add_argument(
        "--group-column",
        metavar="C",
        help="rows sharing a value stay on one side of the train/validation split "
        "(default: a random split of rows)",
    )
    parser.add_argument(
        "--test",
        type=Path,
        metavar="FILE",
        help="a labelled CSV/TSV/JSONL file (same columns) evaluated and reported apart",
    )
    parser.add_argument(
        "--lm-data",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="unlabelled text the language model reads too: plain-text files (a text per "
        "paragraph, or per line when there is no blank line) or CSV/TSV/JSONL files",
    )
    parser.add_argument(
        "--lm-text-column",
        metavar="C",
        help="the column of --lm-data tables (default: --text-column)",
    )
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="the model store")
    parser.add_argument("--preset", default="full", help="full (default, ~1 hour), quick, tiny")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting of training/config.py, e.g. --set lm_steps=500",
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache, help="download cache")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from training.config import load_config
    from training.data import Columns, DataError
    from training.pipeline import Inputs, run

    try:
        overrides = dict(item.split("=", 1) for item in args.overrides)
        config = load_config(args.preset, overrides)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"preset {args.preset}: {config}")
    try:
        inputs = Inputs(
            Columns(args.text_column, args.label_column, args.group_column, args.positive_label),
            args.test,
            tuple(args.lm_data),
            args.lm_text_column,
        )
        result = run(config, args.data, args.model_dir, args.cache_dir, inputs)
    except (DataError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, path in result.paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
