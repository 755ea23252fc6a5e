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


def is_complete(path: Path) -> bool:
    """A version is complete once it holds `saved_model.pb` and `metadata.json` (written last)."""
    return (path / "saved_model.pb").is_file() and (path / "metadata.json").is_file()


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
        if is_complete(path):
            found.append(VersionDir(name, int(path.name), path))
    return sorted(found, key=lambda v: v.version, reverse=True)


def files_stamp(path: Path) -> int:
    """A digest of every file under `path` (name, size, mtime): it changes when a copy that
    was still in progress completes, so a version that failed to load is tried again."""
    entries = []
    for file in sorted(path.rglob("*")):
        try:
            info = file.stat()
        except OSError:
            continue
        entries.append((str(file.relative_to(path)), info.st_size, info.st_mtime_ns))
    return hash(tuple(entries))


def read_metadata(path: Path) -> dict[str, Any]:
    """The version's `metadata.json`, which must hold a JSON object."""
    metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    if not isinstance(metadata, dict):
        raise ValueError("metadata.json does not hold a JSON object")
    return metadata
