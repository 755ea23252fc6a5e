"""The model store on disk: `<model_dir>/<name>/<integer version>/`, as in TensorFlow Serving."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_NAMES = ("sentiment", "next_word")


@dataclass(frozen=True)
class VersionDir:
    """A complete version directory: it holds `saved_model.pb` and `metadata.json`."""

    name: str
    version: int
    path: Path
    stamp: tuple[int, int]  # mtimes of both files: a rewritten version is tried again


def complete_versions(model_dir: Path, name: str) -> list[VersionDir]:
    """Complete versions of one model, highest first; none when the store does not exist."""
    try:
        entries = list((model_dir / name).iterdir())
    except OSError:
        return []
    found = []
    for path in entries:
        if not (path.name.isascii() and path.name.isdigit()):
            continue  # hidden `.tmp-*` exports and anything else that is not a version
        try:
            stamp = (
                (path / "saved_model.pb").stat().st_mtime_ns,
                (path / "metadata.json").stat().st_mtime_ns,
            )
        except OSError:
            continue
        found.append(VersionDir(name, int(path.name), path, stamp))
    return sorted(found, key=lambda v: v.version, reverse=True)


def read_metadata(path: Path) -> dict[str, Any]:
    """The version's `metadata.json`, which must hold a JSON object."""
    metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    if not isinstance(metadata, dict):
        raise ValueError("metadata.json does not hold a JSON object")
    return metadata
