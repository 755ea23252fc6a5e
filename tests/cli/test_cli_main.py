"""The command line as a whole: every subcommand has --help, errors are one line with a
non-zero status, --json's last line is one object, and the console script is declared."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cli.main import PROG

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["train", "serve", "score", "evaluate", "compare", "promote", "rollback", "versions"]


def test_console_script_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {PROG: "cli.main:main"}
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"


def test_help_lists_every_command(run_cli) -> None:
    with pytest.raises(SystemExit) as exit:
        run_cli("--help")
    assert exit.value.code == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", command, "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    if command != "train":  # train shows the pipeline's own options
        assert "--json" in done.stdout


def test_unknown_command_is_a_usage_error(run_cli) -> None:
    result = run_cli("frobnicate", "--json")
    assert result.code == 2
    assert "invalid choice" in result.err
    assert "error" in result.json


def test_missing_store_fails_with_one_line(run_cli, tmp_path: Path) -> None:
    result = run_cli("versions", "--model-dir", tmp_path / "nowhere", "--json")
    assert result.code == 1
    assert result.err.strip().count("\n") == 0
    assert "no such model store" in result.err
    assert result.json["error"].endswith("no such model store (a directory written by training)")


def test_train_passes_errors_on(run_cli, tmp_path: Path) -> None:
    result = run_cli("train", "--data", tmp_path / "missing.csv", "--model-dir", tmp_path, "--json")
    assert result.code == 1
    assert result.json == {"error": "training failed", "exit_code": 1}
