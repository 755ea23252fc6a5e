"""`score`: a file of texts in, the same rows out with `positive_probability` and `label` added
(and `next_words` with `--next-words K`), scored in-process by the SavedModels (`--engine
local`, chunk by chunk in constant memory) or by a Ray Data pipeline on a Ray cluster (`--engine
ray`, cli/ray_engine.py). The output is written beside its final name and renamed into place
once complete, so a failed run leaves no half-written file."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from cli.errors import CliError
from cli.model import Batching, Scorer, label_of
from cli.output import add_json_flag, is_terminal, say
from cli.store import Version, resolve
from cli.tables import Row, TableReader, TableWriter, table_format

CHUNK_ROWS = 4096  # rows read, scored and written at a time: what bounds the memory used


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "score",
        help="add the sentiment (and next words) of each row of a file",
        description="Score every row of a CSV, TSV, JSONL or Parquet file and write the same "
        "rows, in the same order with every column, plus positive_probability and label "
        "(positive when positive_probability >= 0.5), as the API answers.",
    )
    parser.add_argument(
        "--model-dir", type=Path, required=True, metavar="DIR", help="the model store"
    )
    parser.add_argument(
        "--version", type=int, metavar="V", help="the version (default: the one a service serves)"
    )
    parser.add_argument("--input", type=Path, required=True, metavar="IN", help="file of texts")
    parser.add_argument(
        "--output", type=Path, required=True, metavar="OUT", help="file to write (any format)"
    )
    parser.add_argument(
        "--text-column", default="text", metavar="C", help="column of the texts (text)"
    )
    parser.add_argument(
        "--next-words", type=int, default=0, metavar="K", help="add the K likeliest next words"
    )
    parser.add_argument(
        "--prefix", default="", help="prefix of the added columns' names (when the input has them)"
    )
    parser.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="where to score (local)"
    )
    parser.add_argument(
        "--address", metavar="HOST:PORT", help="the Ray cluster, HOST:PORT or ray://HOST:PORT"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        metavar="N",
        help="most texts per model call (64, as served)",
    )
    parser.add_argument("--actors", type=int, default=1, metavar="N", help="Ray: model actors (1)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def added_columns(args: argparse.Namespace) -> list[str]:
    names = ["positive_probability", "label"] + (["next_words"] if args.next_words else [])
    return [args.prefix + name for name in names]


def models(args: argparse.Namespace) -> tuple[Version, Version | None]:
    """The sentiment version to score with and, with --next-words, the next-word version."""
    sentiment = resolve(args.model_dir, "sentiment", args.version)
    next_word = resolve(args.model_dir, "next_word", args.version) if args.next_words else None
    return sentiment, next_word


def check_args(args: argparse.Namespace) -> None:
    table_format(args.input)
    table_format(args.output)
    if args.input.resolve() == args.output.resolve():
        raise CliError(f"{args.output}: the output would overwrite the input")
    if args.batch_size < 1 or args.next_words < 0 or args.actors < 1:
        raise CliError("--batch-size and --actors must be at least 1, --next-words at least 0")
    if args.engine == "ray" and not args.address:
        raise CliError("--engine ray needs --address HOST:PORT of a running Ray cluster", code=2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    check_args(args)
    sentiment, next_word = models(args)
    partial = args.output.with_name(f".{args.output.stem}.partial{args.output.suffix}")
    started = time.perf_counter()
    try:
        if args.engine == "ray":
            from cli.ray_engine import score_on_ray

            rows, loading = score_on_ray(args, sentiment, next_word, partial), None
        else:
            rows, loading = score_locally(args, sentiment, next_word, partial)
        os.replace(partial, args.output)
    finally:
        partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    rate = rows / seconds if seconds > 0 else 0.0
    scoring = seconds - (loading or 0.0)
    after_load = (
        f"; {rows / scoring:,.1f} after loading the models in {loading:.1f}s"
        if (loading is not None and scoring > 0)
        else ""
    )
    say(
        f"scored {rows:,} texts with sentiment version {sentiment.version} in {seconds:.1f}s "
        f"({rate:,.1f} texts/s{after_load}, engine {args.engine}); wrote {args.output}"
    )
    return {
        "input": str(args.input),
        "output": str(args.output),
        "rows": rows,
        "seconds": round(seconds, 3),
        "load_seconds": None if loading is None else round(loading, 3),
        "texts_per_second": round(rate, 1),
        "texts_per_second_after_load": round(rows / scoring, 1)
        if loading and scoring > 0
        else None,
        "engine": args.engine,
        "sentiment_version": sentiment.version,
        "next_word_version": next_word.version if next_word else None,
    }


def score_rows(scorer: Scorer, rows: list[Row], text_column: str, names: list[str]) -> list[Row]:
    """The rows with the added columns (`names`: probability, label[, next words])."""
    texts = [row[text_column] for row in rows]
    probabilities = scorer.probabilities(texts)
    suggestions = scorer.next_words(texts) if scorer.k else None
    for i, (row, p) in enumerate(zip(rows, probabilities, strict=True)):
        row[names[0]], row[names[1]] = p, label_of(p)
        if suggestions is not None:
            row[names[2]] = " ".join(suggestions[i])
    return rows


def score_locally(
    args: argparse.Namespace, sentiment: Version, next_word: Version | None, output: Path
) -> tuple[int, float]:
    """Score the input chunk by chunk into `output`; the number of rows, the seconds spent
    loading the models."""
    from tqdm import tqdm

    names = added_columns(args)
    reader = TableReader(args.input, [args.text_column], args.text_column, CHUNK_ROWS)
    writer: TableWriter | None = None
    scorer: Scorer | None = None
    count, loaded = 0, 0.0
    with tqdm(unit=" texts", disable=not is_terminal(), smoothing=0.1) as progress:
        try:
            for chunk in reader:
                if writer is None:  # the input's columns checked before a model is loaded
                    writer = TableWriter(output, check_names(reader.columns, names, args))
                    loading = time.perf_counter()
                    scorer = Scorer(
                        sentiment.path,
                        next_word.path if next_word else None,
                        args.next_words,
                        Batching(max_texts=args.batch_size),
                    )
                    loaded = time.perf_counter() - loading
                assert scorer is not None
                writer.write(score_rows(scorer, chunk, args.text_column, names))
                count += len(chunk)
                progress.update(len(chunk))
            if writer is None:  # no rows: the header (or an empty file) all the same
                writer = TableWriter(output, check_names(reader.columns, names, args))
        finally:
            if writer is not None:
                writer.close()
    return count, loaded


def check_names(columns: list[str], names: list[str], args: argparse.Namespace) -> list[str]:
    """The output's columns: the input's, then the added ones, which must be new."""
    clash = [name for name in names if name in columns]
    if clash:
        raise CliError(
            f"{args.input}: already has column(s) {', '.join(clash)}; "
            "name the added columns with --prefix, e.g. --prefix predicted_"
        )
    return columns + names
