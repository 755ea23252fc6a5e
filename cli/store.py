"""The model store as the command-line tool reads it (model/README.md): every version of each
model, complete or not, its metadata, and which version a service serves (the promoted one when
the store has a policy, else the newest complete one; see `service/serving/policy.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.errors import CliError
from cli.project import MODEL_NAMES, Policy, PolicyError, is_complete, read_policy

__all__ = ["MODEL_NAMES", "Version", "check_store", "policy", "resolve", "served_version"]


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


def served_version(model_dir: Path, name: str) -> int | None:
    """What a service would serve of `name`: the promoted version when the policy names it,
    else the newest complete version; None when there is neither."""
    rules = policy(model_dir)
    promoted = rules.promoted(name) if rules else None
    if promoted is not None:
        return promoted
    complete = [v.version for v in versions(model_dir, name) if v.complete]
    return complete[-1] if complete else None


def resolve(model_dir: Path, name: str, version: int | None) -> Version:
    """The complete version asked for, or the served one when `version` is None."""
    check_store(model_dir)
    if version is None:
        version = served_version(model_dir, name)
        if version is None:
            raise CliError(f"{model_dir}: no complete {name} version")
    found = Version(name, version, Path(model_dir) / name / str(version))
    if not found.path.is_dir():
        have = ", ".join(str(v.version) for v in versions(model_dir, name)) or "none"
        raise CliError(f"{model_dir}: no {name} version {version} (versions: {have})")
    if not found.complete:
        raise CliError(f"{found.path}: version {version} is not complete (no saved_model.pb)")
    return found
