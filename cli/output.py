"""What every subcommand shares on the way out: the `--json` flag and human-readable lines on
standard output (progress bars go to standard error, only on a terminal)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the result as one JSON object, last line"
    )


def say(line: str = "") -> None:
    print(line, flush=True)


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """Rows as aligned text columns (numbers right-aligned)."""
    cells = [header] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in rows) and rows for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if numeric[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def is_terminal() -> bool:
    return sys.stderr.isatty()
