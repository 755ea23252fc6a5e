"""The model store as the command-line tool reads it (model/README.md): every version of each
model, complete or not, its metadata, and which version a service serves, as the service's
registry decides it (`service/serving/selection.py`): the promoted one when the store's policy
names the model, else the newest complete one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.errors import CliError
from cli.project import (
    MODEL_NAMES,
    Policy,
    PolicyError,
    Selection,
    is_complete,
    read_policy,
    select_versions,
)

__all__ = [
    "MODEL_NAMES",
    "Version",
    "check_store",
    "policy",
    "resolve",
    "selection",
    "served_version",
]


@dataclass(frozen=True)
class Version:
    """One version directory of one model."""

    name: str
    version: int
    path: Path

    @property
    def complete(self) -> bool:
        """Complete: it holds `saved_model.pb` and `metadata.json` (exports are renamed in)."""
        return is_complete(self.path)

    def metadata(self) -> dict[str, Any]:
        """The version's metadata.json ({} when it is missing or unreadable)."""
        try:
            data = json.loads((self.path / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def check_store(model_dir: Path) -> Path:
    """The store's path; CliError when it is not a directory."""
    if not Path(model_dir).is_dir():
        raise CliError(f"{model_dir}: no such model store (a directory written by training)")
    return Path(model_dir)


def versions(model_dir: Path, name: str) -> list[Version]:
    """Every version directory of `name`, lowest first (hidden `.tmp-*` exports left out)."""
    try:
        entries = list((Path(model_dir) / name).iterdir())
    except OSError:
        return []
    found = [
        Version(name, int(p.name), p)
        for p in entries
        if p.is_dir() and p.name.isascii() and p.name.isdigit()
    ]
    return sorted(found, key=lambda v: v.version)


def policy(model_dir: Path) -> Policy | None:
    """The store's promotion policy (None without one); CliError when it is malformed."""
    try:
        return read_policy(model_dir)
    except PolicyError as error:
        raise CliError(str(error)) from None


def selection(model_dir: Path, name: str) -> Selection:
    """What a service started now on the store serves of `name`, and why (the registry's
    own function); CliError when the policy is malformed."""
    policy(model_dir)
    return select_versions(Path(model_dir))[name]


def served_version(model_dir: Path, name: str) -> int | None:
    """The version a service started now would serve of `name`: the promoted one when the
    policy names it and it is complete, else the newest complete; None when there is none."""
    return selection(model_dir, name).version


def resolve(model_dir: Path, name: str, version: int | None) -> Version:
    """The complete version asked for, or the served one when `version` is None."""
    check_store(model_dir)
    if version is None:
        chosen = selection(model_dir, name)
        if chosen.version is None:
            raise CliError(f"{model_dir}: {chosen.problem or f'no complete {name} version'}")
        version = chosen.version
    found = Version(name, version, Path(model_dir) / name / str(version))
    if not found.path.is_dir():
        have = ", ".join(str(v.version) for v in versions(model_dir, name)) or "none"
        raise CliError(f"{model_dir}: no {name} version {version} (versions: {have})")
    if not found.complete:
        raise CliError(f"{found.path}: version {version} is not complete (no saved_model.pb)")
    return found
