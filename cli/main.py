"""The command line: `lstm-service COMMAND ...` (also `python -m cli`), one subcommand per module.

Every subcommand takes `--help` and `--json`; with `--json` its last line of standard output is
one JSON object (the command's result, or `{"error": ...}` on failure). Exit status: 0 done,
1 failed (the message, one line on standard error, says what and where), 2 bad usage,
3 a promotion refused (the figures printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from cli import compare, evaluate, programs, promote, score, versions
from cli.errors import CliError

PROG = "lstm-service"
COMMANDS: list[ModuleType] = [programs, score, evaluate, compare, promote, versions]


class Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and a one-line message, keeping `--json`'s last line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message}", code=2)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Score files, evaluate, compare, promote and roll back model versions; "
        "train and serve.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for module in COMMANDS:
        module.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        handled = programs.forward(argv)  # train takes the pipeline's options
        if handled is not None:
            result: dict[str, Any] = handled
        else:
            args = build_parser().parse_args(argv)
            run: Callable[[argparse.Namespace], dict[str, Any]] = args.run
            result = run(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        if as_json:
            print(json.dumps({"error": str(error), **(error.result or {})}))
        return error.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if as_json:
        print(json.dumps(result))
    return int(result.get("exit_code", 0))
