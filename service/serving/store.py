"""The model store on disk: `<model_dir>/<name>/<integer version>/`, as in TensorFlow Serving.

Reading the store never raises: a version directory that cannot be read (permissions, a
half-deleted copy) is reported as skipped, with the reason, and the others are found as usual.
"""

import errno
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_NAMES = ("sentiment", "next_word")
REQUIRED_FILES = ("saved_model.pb", "metadata.json")


@dataclass(frozen=True)
class VersionDir:
    """A complete version directory: it holds `saved_model.pb` and `metadata.json`."""

    name: str
    version: int
    path: Path


@dataclass(frozen=True)
class SkippedVersion:
    """A numbered version directory that cannot be served, and why."""

    name: str
    version: int
    path: Path
    reason: str


@dataclass(frozen=True)
class StoreScan:
    """One model's version directories: the complete ones (highest first) and the skipped."""

    complete: list[VersionDir]
    skipped: list[SkippedVersion]


def incomplete_reason(path: Path) -> str | None:
    """Why `path` is not a complete version (None when it is): a required file missing (a copy
    in progress or half deleted), or the directory unreadable."""
    for file in REQUIRED_FILES:
        try:
            if not (path / file).is_file():
                return f"incomplete: no {file}"
        except OSError as error:  # e.g. a directory without read or search permission
            return f"unreadable: {error.strerror or error}"
    return None


def is_complete(path: Path) -> bool:
    """A version is complete once it holds `saved_model.pb` and `metadata.json` (written last)."""
    return incomplete_reason(path) is None


def scan_versions(model_dir: Path, name: str) -> StoreScan:
    """The version directories of one model; nothing when the store or the model is missing."""
    try:
        entries = list((Path(model_dir) / name).iterdir())
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return StoreScan([], [])
        reason = f"unreadable: {error.strerror or error}"
        return StoreScan([], [SkippedVersion(name, -1, Path(model_dir) / name, reason)])
    complete, skipped = [], []
    for path in entries:
        if not (path.name.isascii() and path.name.isdigit()):
            continue  # hidden `.tmp-*` exports and anything else that is not a version
        try:
            if not path.is_dir():
                continue
        except OSError as error:
            reason = f"unreadable: {error.strerror or error}"
            skipped.append(SkippedVersion(name, int(path.name), path, reason))
            continue
        reason = incomplete_reason(path)
        if reason is None:
            complete.append(VersionDir(name, int(path.name), path))
        else:
            skipped.append(SkippedVersion(name, int(path.name), path, reason))
    complete.sort(key=lambda v: v.version, reverse=True)
    skipped.sort(key=lambda v: v.version, reverse=True)
    return StoreScan(complete, skipped)


def complete_versions(model_dir: Path, name: str) -> list[VersionDir]:
    """Complete versions of one model, highest first; none when the store does not exist."""
    return scan_versions(model_dir, name).complete


def files_stamp(path: Path) -> int:
    """A digest of every file under `path` (name, size, mtime): it changes when a copy that
    was still in progress completes, so a version that failed to load is tried again."""
    entries = []
    try:
        files = sorted(path.rglob("*"))
    except OSError:
        files = []
    for file in files:
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
