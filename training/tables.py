"""Rows of CSV, TSV and JSONL files: named columns, the line each row starts on, and one-line
`DataError`s for what makes a file unusable (a missing column, a damaged line, bytes that are
not UTF-8, a file that cannot be read), each naming the file and where in it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")


class DataError(Exception):
    """The input data cannot be used; the message says which file and why."""


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def read_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, object]]]:
    """(line number, {column: value}) for each row of a CSV, TSV or JSONL file; every one of
    `columns` must be in the file."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:  # -sig: spreadsheets' BOM
            if path.suffix.lower() == ".jsonl":
                yield from _jsonl_rows(path, file, columns)
            else:
                yield from _delimited_rows(path, file, columns)
    except UnicodeDecodeError:
        raise DataError(not_utf8_message(path)) from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None


def read_text(path: Path) -> str:
    """The whole of a UTF-8 text file."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(not_utf8_message(path)) from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None


def not_utf8_message(path: Path) -> str:
    """Where the first byte that is not UTF-8 is: its line and byte offset in the file."""
    offset = 0
    # A newline byte never occurs inside a multi-byte UTF-8 sequence, so lines decode alone.
    with path.open("rb") as file:
        for line_number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = line[error.start]
                return (
                    f"{path}, line {line_number}: not valid UTF-8 (byte 0x{byte:02x} at byte "
                    f"offset {offset + error.start}: {error.reason}); save the file as UTF-8"
                )
            offset += len(line)
    return f"{path}: not valid UTF-8; save the file as UTF-8"


def _jsonl_rows(
    path: Path, file: Iterator[str], columns: Sequence[str]
) -> Iterator[tuple[int, dict[str, object]]]:
    for line_number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}, line {line_number}: invalid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}, line {line_number}: not a JSON object")
        missing = [column for column in columns if column not in row]
        if missing:
            raise DataError(
                f"{path}, line {line_number}: missing column(s) {', '.join(missing)}; "
                f"the row has {sorted(row) or 'no keys'}"
            )
        yield line_number, {column: row[column] for column in columns}


def _delimited_rows(
    path: Path, file: Iterator[str], columns: Sequence[str]
) -> Iterator[tuple[int, dict[str, object]]]:
    csv.field_size_limit(1 << 24)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(file, delimiter=delimiter)
    try:
        header = reader.fieldnames or []
        missing = [column for column in columns if column not in header]
        if missing:
            raise DataError(
                f"{path}, line 1: missing column(s) {', '.join(missing)}; "
                f"the header has {header or 'no columns'}"
            )
        for row in reader:
            # The line the row ends on: where a quoted field spanning lines closes.
            if any(row[column] is None for column in columns):
                raise DataError(f"{path}, line {reader.line_num}: too few fields")
            yield reader.line_num, {column: row[column] for column in columns}
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: {error}") from None
