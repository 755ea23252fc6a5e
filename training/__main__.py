"""Command line: `python -m training --data PATH --model-dir DIR [--preset quick|full]`."""

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
    from training.data import DataError
    from training.pipeline import run

    try:
        overrides = dict(item.split("=", 1) for item in args.overrides)
        config = load_config(args.preset, overrides)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"preset {args.preset}: {config}")
    try:
        result = run(config, args.data, args.model_dir, args.cache_dir)
    except (DataError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, path in result.paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
