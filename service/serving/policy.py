"""The promotion policy of a model store: which version of each model is served, and its history.

A store may hold `<model_dir>/policy.json`. Without it, the newest complete version of each model
is served (as TensorFlow Serving does by default). With it, each model it names is served at
exactly its promoted version, up or down, whatever newer versions appear; a model it does not
name is served as without a policy. Format (`"format": 1`):

```
{
  "format": 1,
  "models": {
    "sentiment": {
      "version": 3,             the promoted version: the one to serve
      "stack": [1, 3],          promotions in force, oldest first; the last is `version`,
                                `rollback` drops it and serves the one before
      "history": [              every change, oldest first, never rewritten
        {"time": "2026-12-02T11:05:00+00:00", "action": "promote", "version": 3,
         "previous": 1, "forced": false, "evidence": {...}}
      ]
    },
    "next_word": {...}
  }
}
```

`action` is `promote` or `rollback`; `previous` the version served before (null for the first
entry); `evidence` what the promotion was judged on (free-form JSON, may be empty). Writers
replace the file atomically (a temporary file in the same directory, fsynced, then renamed over
it) under an exclusive lock on `policy.lock`, so a reader sees the old policy or the new one and
two writers never lose each other's change. Only the standard library is used: the service and
the command-line tool both read the file with this module.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

POLICY_FILE = "policy.json"
LOCK_FILE = "policy.lock"
FORMAT = 1


class PolicyError(ValueError):
    """The policy file cannot be read or the change asked of it cannot be made."""


@dataclass
class ModelPolicy:
    """One model's promoted version, the promotions in force and the history of changes."""

    version: int
    stack: list[int]
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Policy:
    """The promoted version of each model the policy names."""

    models: dict[str, ModelPolicy] = field(default_factory=dict)

    def promoted(self, name: str) -> int | None:
        """The version of `name` to serve, or None when the policy does not name it."""
        entry = self.models.get(name)
        return entry.version if entry else None

    def promote(
        self, name: str, version: int, forced: bool = False, evidence: dict | None = None
    ) -> None:
        """Make `version` the served one of `name` (pushed on its stack, logged)."""
        entry = self.models.get(name)
        previous = entry.version if entry else None
        if entry is None:
            entry = self.models[name] = ModelPolicy(version, [])
        entry.stack.append(version)
        entry.version = version
        entry.history.append(_event("promote", version, previous, forced, evidence))

    def rollback(self, name: str) -> int:
        """Serve the version promoted before the current one; return it."""
        entry = self.models.get(name)
        if entry is None or len(entry.stack) < 2:
            raise PolicyError(f"{name}: no earlier promotion to roll back to")
        previous = entry.stack.pop()
        entry.version = entry.stack[-1]
        entry.history.append(_event("rollback", entry.version, previous, False, None))
        return entry.version

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "models": {n: asdict(m) for n, m in self.models.items()}}


def _event(
    action: str, version: int, previous: int | None, forced: bool, evidence: dict | None
) -> dict[str, Any]:
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "action": action,
        "version": version,
        "previous": previous,
        "forced": forced,
        "evidence": evidence or {},
    }


def policy_path(model_dir: Path) -> Path:
    return Path(model_dir) / POLICY_FILE


def read_policy(model_dir: Path) -> Policy | None:
    """The store's policy, or None when it has no policy file."""
    path = policy_path(model_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise PolicyError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return parse_policy(json.loads(data.decode("utf-8")))
    except (ValueError, PolicyError) as error:  # bad JSON, bad UTF-8 or a bad policy
        raise PolicyError(f"{path}: {error}") from None


def parse_policy(data: Any) -> Policy:
    """A Policy from the file's JSON; PolicyError says what is wrong with it."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PolicyError(f'not a policy of format {FORMAT} (needs "format": {FORMAT})')
    models = data.get("models")
    if not isinstance(models, dict):
        raise PolicyError('"models" must be an object')
    policy = Policy()
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise PolicyError(f"{name}: must be an object")
        version, stack = entry.get("version"), entry.get("stack", [entry.get("version")])
        if not _is_version(version) or not isinstance(stack, list):
            raise PolicyError(f"{name}: version must be a non-negative integer")
        if not stack or not all(_is_version(v) for v in stack) or stack[-1] != version:
            raise PolicyError(f"{name}: stack must be versions ending with {version}")
        history = entry.get("history", [])
        if not isinstance(history, list):
            raise PolicyError(f"{name}: history must be a list")
        policy.models[name] = ModelPolicy(version, list(stack), list(history))
    return policy


def _is_version(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def write_policy(model_dir: Path, policy: Policy) -> Path:
    """Replace the policy file atomically: readers see the old file or the new, never a part."""
    path = policy_path(model_dir)
    text = json.dumps(policy.to_json(), indent=2) + "\n"
    descriptor, temporary = tempfile.mkstemp(prefix=".policy-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    return path


@contextmanager
def _locked(model_dir: Path) -> Iterator[None]:
    with open(Path(model_dir) / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_policy(model_dir: Path, change: Callable[[Policy], Any]) -> tuple[Policy, Any]:
    """Read the policy (an empty one when there is none), apply `change` to it and write it back,
    all under the store's lock; nothing is written when `change` raises."""
    if not Path(model_dir).is_dir():
        raise PolicyError(f"{model_dir}: no such model store")
    with _locked(model_dir):
        policy = read_policy(model_dir) or Policy()
        result = change(policy)
        write_policy(model_dir, policy)
    return policy, result
