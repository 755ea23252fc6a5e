"""Reading and writing tables of texts in chunks: CSV, TSV, JSONL and Parquet, chosen by the
file's suffix. A reader yields lists of rows (dicts in column order) of at most `chunk_rows`
rows, so memory stays constant whatever the file's size; a writer appends such lists.

CSV and TSV values are kept as the strings they were (nothing is re-typed), JSONL rows as the
objects they were, so every original column comes out as it went in. Every problem names the
file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from cli.errors import CliError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
Row = dict[str, Any]


def table_format(path: Path) -> str:
    """csv, tsv, jsonl or parquet, from the suffix; CliError for anything else."""
    found = FORMATS.get(Path(path).suffix.lower())
    if found is None:
        raise CliError(f"{path}: unknown format; use a .csv, .tsv, .jsonl or .parquet file")
    return found


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CliError("Parquet files need pyarrow (installed by make setup)") from None
    return pyarrow


class TableReader:
    """Chunks of rows of one file; `columns` lists its columns once the first chunk is read.

    `required` columns must exist (checked on the header, or on each JSONL row); the values of
    `text_column` must be strings."""

    def __init__(
        self, path: Path, required: Sequence[str], text_column: str, chunk_rows: int = 4096
    ) -> None:
        self.path, self.required, self.text_column = Path(path), list(required), text_column
        self.format, self.chunk_rows = table_format(path), chunk_rows
        self.columns: list[str] = []
        if not self.path.is_file():
            raise CliError(f"{path}: no such file")

    def __iter__(self) -> Iterator[list[Row]]:
        try:
            if self.format == "parquet":
                yield from self._parquet()
                return
            with self.path.open(encoding="utf-8", newline="") as file:
                rows = self._jsonl(file) if self.format == "jsonl" else self._csv(file)
                yield from _chunks(rows, self.chunk_rows)
        except UnicodeDecodeError as error:
            raise CliError(
                f"{self.path}: not valid UTF-8 ({error.reason} at byte {error.start})"
            ) from None
        except OSError as error:
            raise CliError(f"{self.path}: cannot read ({error.strerror})") from None

    def _check_header(self, header: Sequence[str]) -> None:
        missing = [c for c in self.required if c not in header]
        if missing:
            raise CliError(
                f"{self.path}, line 1: missing column(s) {', '.join(missing)}; "
                f"the columns are {', '.join(header) or 'none'}"
            )
        self.columns = list(header)

    def _csv(self, file: TextIO) -> Iterator[Row]:
        csv.field_size_limit(1 << 24)
        reader = csv.DictReader(file, delimiter="\t" if self.format == "tsv" else ",")
        try:
            if reader.fieldnames is None:
                raise CliError(f"{self.path}: empty file (no header line)")
            self._check_header(reader.fieldnames)
            for row in reader:
                if None in row or None in row.values():
                    raise CliError(f"{self.path}, line {reader.line_num}: wrong number of fields")
                yield row
        except csv.Error as error:
            raise CliError(f"{self.path}, line {reader.line_num}: {error}") from None

    def _jsonl(self, file: TextIO) -> Iterator[Row]:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise CliError(f"{self.path}, line {number}: invalid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise CliError(f"{self.path}, line {number}: not a JSON object")
            missing = [c for c in self.required if c not in row]
            if missing:
                raise CliError(f"{self.path}, line {number}: no key {', '.join(missing)}")
            if not isinstance(row[self.text_column], str):
                raise CliError(f"{self.path}, line {number}: {self.text_column} is not a string")
            self.columns += [key for key in row if key not in self.columns]
            yield row

    def _parquet(self) -> Iterator[list[Row]]:
        pyarrow = _pyarrow()
        try:
            source = pyarrow.parquet.ParquetFile(self.path)
        except pyarrow.ArrowException as error:
            raise CliError(f"{self.path}: not a Parquet file ({error})") from None
        self._check_header(source.schema_arrow.names)
        if source.schema_arrow.field(self.text_column).type not in (
            pyarrow.string(),
            pyarrow.large_string(),
        ):
            raise CliError(f"{self.path}: column {self.text_column} does not hold strings")
        for batch in source.iter_batches(batch_size=self.chunk_rows):
            rows = batch.to_pylist()
            for row in rows:
                if row[self.text_column] is None:
                    row[self.text_column] = ""
            yield rows


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class TableWriter:
    """Appends chunks of rows to one file, in the format its suffix names; `columns` fixes the
    columns (and their order) of CSV, TSV and Parquet output."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path, self.format, self.columns = Path(path), table_format(path), list(columns)
        self._parquet: Any = None
        self._schema: Any = None
        self._csv: csv.DictWriter | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = self.format != "parquet"
            self._file = self.path.open("w", encoding="utf-8", newline="") if text else None
        except OSError as error:
            raise CliError(f"{path}: cannot write ({error.strerror})") from None
        if self.format in ("csv", "tsv"):
            delimiter = "\t" if self.format == "tsv" else ","
            self._csv = csv.DictWriter(self._file, self.columns, delimiter=delimiter)
            self._csv.writeheader()

    def write(self, rows: list[Row]) -> None:
        if self._csv is not None:
            try:
                self._csv.writerows(rows)
            except ValueError as error:  # a JSONL row with a key the first rows did not have
                raise CliError(f"{self.path}: {error}") from None
        elif self.format == "jsonl":
            assert self._file is not None
            self._file.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            self._write_parquet(rows)

    def _write_parquet(self, rows: list[Row]) -> None:
        pyarrow = _pyarrow()
        table = pyarrow.Table.from_pylist([{c: row.get(c) for c in self.columns} for row in rows])
        if self._parquet is None:
            self._schema = table.schema  # the first chunk's types hold for every chunk
            self._parquet = pyarrow.parquet.ParquetWriter(self.path, self._schema)
        self._parquet.write_table(table.cast(self._schema))

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self.format == "parquet":  # no rows at all: still a valid file with the columns
            pyarrow = _pyarrow()
            schema = pyarrow.schema([(c, pyarrow.string()) for c in self.columns])
            pyarrow.parquet.write_table(schema.empty_table(), self.path)
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
