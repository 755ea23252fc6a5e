"""`score --engine ray`: the same scoring as a Ray Data pipeline on an existing Ray cluster.

read (CSV and TSV by Arrow with every column kept as a string, JSONL as lines parsed by the
actors so every row stays the object it was, Parquet as it is) -> `map_batches` with
`RayScorer`, a callable class, so each actor loads the SavedModels once and scores its batches
through `cli.model.Scorer` (the local engine's code) -> the rows streamed back in order
(`preserve_order`) and written into one file by the driver, in any of the local formats.

The cluster's workers must see the model store and the input at the same paths (one machine, or
shared storage) and have the project's packages; the `cli` package itself is shipped with the
job (`runtime_env` `py_modules`).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import cli
from cli.errors import CliError
from cli.model import Batching, Scorer, label_of
from cli.tables import TableWriter, table_format

JSON_ROW = "__row__"  # JSONL: each line travels as one string column and comes back as one
READ_TASK = {"num_cpus": 0.25}  # reading is light; the actors' share is in actor_cpus


class RayScorer:
    """One Ray actor: the SavedModels loaded once, then `__call__` per batch (pyarrow tables)."""

    def __init__(
        self,
        sentiment_path: str,
        next_word_path: str | None,
        k: int,
        batch_size: int,
        text_column: str,
        names: list[str],
        json_lines: bool,
    ) -> None:
        self.scorer = Scorer(
            Path(sentiment_path),
            Path(next_word_path) if next_word_path else None,
            k,
            Batching(max_texts=batch_size),
        )
        self.text_column, self.names, self.json_lines = text_column, names, json_lines

    def __call__(self, batch: Any) -> Any:
        import pyarrow

        if self.json_lines:
            rows = [json.loads(line) for line in batch.column("text").to_pylist()]
            texts = [row.get(self.text_column) for row in rows]
            if not all(isinstance(text, str) for text in texts):
                raise ValueError(f"a row's {self.text_column} is missing or not a string")
        else:
            texts = [t or "" for t in batch.column(self.text_column).to_pylist()]
        probabilities = self.scorer.probabilities(texts)
        columns: dict[str, list] = {
            self.names[0]: probabilities,
            self.names[1]: [label_of(p) for p in probabilities],
        }
        if self.scorer.k:
            columns[self.names[2]] = [" ".join(w) for w in self.scorer.next_words(texts)]
        if self.json_lines:
            clash = [name for name in self.names if any(name in row for row in rows)]
            if clash:
                raise ValueError(f"rows already have {', '.join(clash)}: use --prefix")
            for i, row in enumerate(rows):
                row.update({name: values[i] for name, values in columns.items()})
            return pyarrow.table({JSON_ROW: [json.dumps(r, ensure_ascii=False) for r in rows]})
        for name, values in columns.items():
            batch = batch.append_column(name, pyarrow.array(values))
        return batch


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise CliError("--engine ray needs ray (installed by make setup)") from None
    return ray


def _read(ray: Any, path: Path, text_column: str) -> tuple[Any, list[str]]:
    """The dataset of `path` and its columns (JSONL: read as lines, columns found later)."""
    kind = table_format(path)
    if kind == "jsonl":
        return ray.data.read_text(str(path), ray_remote_args=READ_TASK), []
    if kind == "parquet":
        dataset = ray.data.read_parquet(str(path), ray_remote_args=READ_TASK)
        header = list(dataset.schema().names)
    else:
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        delimiter = "\t" if kind == "tsv" else ","
        with path.open(encoding="utf-8", newline="") as file:
            header = next(csv.reader(file, delimiter=delimiter), [])
        dataset = ray.data.read_csv(
            str(path),
            ray_remote_args=READ_TASK,
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    if text_column not in header:
        raise CliError(
            f"{path}, line 1: missing column(s) {text_column}; the columns are "
            f"{', '.join(header) or 'none'}"
        )
    return dataset, header


def actor_cpus(ray: Any, actors: int) -> float:
    """Each actor's share of the cluster's CPUs, at most one, leaving a READ_TASK's share free:
    actors that held every CPU would wait forever for batches nobody could read."""
    total = float(ray.cluster_resources().get("CPU", 1.0))
    return max(0.1, min(1.0, (total - READ_TASK["num_cpus"]) / actors))


def score_on_ray(args: argparse.Namespace, sentiment: Any, next_word: Any, output: Path) -> int:
    """Score the input on the cluster at `args.address` into `output`; the number of rows."""
    from cli.score import CHUNK_ROWS, added_columns, check_names

    ray = _ray()
    if not args.input.is_file():
        raise CliError(f"{args.input}: no such file")
    names = added_columns(args)
    try:
        ray.init(
            address=args.address,
            runtime_env={"py_modules": [str(Path(cli.__file__).parent)]},
            log_to_driver=False,
            logging_level="ERROR",
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise CliError(f"cannot join the Ray cluster at {args.address}: {error}") from None
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # rows come back in the input's order
        dataset, header = _read(ray, args.input.resolve(), args.text_column)
        json_lines = not header
        if header:
            check_names(header, names, args)
        scored = dataset.map_batches(
            RayScorer,
            fn_constructor_kwargs={
                "sentiment_path": str(sentiment.path.resolve()),
                "next_word_path": str(next_word.path.resolve()) if next_word else None,
                "k": args.next_words,
                "batch_size": args.batch_size,
                "text_column": args.text_column,
                "names": names,
                "json_lines": json_lines,
            },
            batch_size=CHUNK_ROWS,
            batch_format="pyarrow",
            concurrency=args.actors,
            num_cpus=actor_cpus(ray, args.actors),
        )
        return _write(scored, output, header + names, json_lines)
    finally:
        ray.shutdown()


def _write(scored: Any, output: Path, columns: list[str], json_lines: bool) -> int:
    from cli.score import CHUNK_ROWS

    writer: TableWriter | None = None
    count = 0
    try:
        for batch in scored.iter_batches(batch_size=CHUNK_ROWS, batch_format="pyarrow"):
            if json_lines:
                rows = [json.loads(line) for line in batch.column(JSON_ROW).to_pylist()]
            else:
                rows = batch.to_pylist()
            if writer is None:
                # JSONL rows bring their own keys, the added ones last (row.update appends them).
                keys = dict.fromkeys(k for row in rows for k in row)
                names = list(keys) if json_lines else columns
                writer = TableWriter(output, names)
            writer.write(rows)
            count += len(rows)
        if writer is None:
            writer = TableWriter(output, columns)
    finally:
        if writer is not None:
            writer.close()
    return count
