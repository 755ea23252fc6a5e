"""The one error type of the command-line tool: its message is printed on one line and the
command exits with its code (1: the input or the store is not usable; 2: usage)."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can act on; `str(error)` says what and where."""

    def __init__(self, message: str, code: int = 1, result: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.result = result  # figures that explain the failure, printed with --json
