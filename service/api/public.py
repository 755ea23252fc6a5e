"""What the answers show of the machine the service and its training ran on: data files by name
and checksum, the model store as `MODEL_DIR`, never a path of the host.

Training records each data file's path as it was given (`data.source`, `data.lm_data[].path`,
the test set's `source`), often an absolute path that tells a caller about the host's layout and
users; the store's problems (an unreadable policy file) name the store's path. /models and
/ready keep each such path's file name, and every other field as it is; URLs (a download
source) are public and stay whole.
"""

from pathlib import Path, PureWindowsPath
from typing import Any

# The metadata keys whose values are file paths.
PATH_KEYS = frozenset({"source", "path"})
STORE = "MODEL_DIR"


def public_metadata(metadata: Any) -> Any:
    """`metadata` with every path under a `PATH_KEYS` key, or absolute anywhere, cut to its
    file name."""
    if isinstance(metadata, dict):
        return {
            key: file_name(value) if key in PATH_KEYS else public_metadata(value)
            for key, value in metadata.items()
        }
    if isinstance(metadata, list):
        return [public_metadata(item) for item in metadata]
    if isinstance(metadata, str) and is_absolute(metadata):
        return file_name(metadata)
    return metadata


def file_name(value: Any) -> Any:
    """A path's last part (either separator); a URL, or anything but a string, as it is."""
    if not isinstance(value, str) or "://" in value:
        return public_metadata(value)
    return PureWindowsPath(value).name or value


def is_absolute(value: str) -> bool:
    """Whether a string is an absolute POSIX or Windows path (and no URL)."""
    if "://" in value:
        return False
    return value.startswith(("/", "~")) or PureWindowsPath(value).is_absolute()


def public_problem(problem: str, model_dir: Path) -> str:
    """A store problem with the store's path written `MODEL_DIR`."""
    for path in sorted({str(model_dir), str(Path(model_dir).resolve())}, key=len, reverse=True):
        problem = problem.replace(path, STORE)
    return problem
