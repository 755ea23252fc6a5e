"""Which version a service serves: the promoted one with a policy, else the newest complete one;
and a store whose version directories cannot be read, seen by an unprivileged reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.serving.policy import update_policy
from service.serving.selection import select_versions
from service.serving.store import scan_versions

ROOT = Path(__file__).resolve().parents[3]


def make_version(root: Path, name: str, version: int, complete: bool = True) -> Path:
    path = root / name / str(version)
    path.mkdir(parents=True)
    for file in ("saved_model.pb", "metadata.json") if complete else ("saved_model.pb",):
        (path / file).write_text("{}")
    return path


@pytest.fixture
def store() -> Iterator[Path]:
    """A store any user can read (the unprivileged reader below runs as another user)."""
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)
        yield Path(directory)


def test_no_policy_serves_the_newest_complete(store: Path) -> None:
    for version in (1, 2):
        make_version(store, "sentiment", version)
    make_version(store, "sentiment", 3, complete=False)
    chosen = select_versions(store)["sentiment"]
    assert (chosen.version, chosen.policy, chosen.promoted, chosen.pinned) == (
        2,
        False,
        None,
        False,
    )
    assert [(s.version, s.reason) for s in chosen.skipped] == [(3, "incomplete: no metadata.json")]
    assert select_versions(store)["next_word"].version is None


def test_policy_serves_the_promoted_even_when_older(store: Path) -> None:
    for version in (1, 2, 3):
        make_version(store, "sentiment", version)
        make_version(store, "next_word", version)
    update_policy(store, lambda p: p.promote("sentiment", 1))
    chosen = select_versions(store)
    assert (chosen["sentiment"].version, chosen["sentiment"].pinned) == (1, True)
    assert [v.version for v in chosen["sentiment"].candidates] == [1]
    # a model the policy does not name is served as without one
    assert (chosen["next_word"].version, chosen["next_word"].pinned) == (3, False)
    assert chosen["next_word"].policy


def test_promoted_version_missing_or_incomplete_is_a_problem(store: Path) -> None:
    make_version(store, "sentiment", 1)
    make_version(store, "sentiment", 2, complete=False)
    update_policy(store, lambda p: p.promote("sentiment", 2))
    chosen = select_versions(store)["sentiment"]
    assert chosen.version is None and chosen.pinned
    assert chosen.problem == (
        "sentiment version 2 is promoted but cannot be served: incomplete: no metadata.json"
    )
    update_policy(store, lambda p: p.promote("sentiment", 9))
    assert "version 9 is promoted but cannot be served: not in the store" in str(
        select_versions(store)["sentiment"].problem
    )


def test_unreadable_policy_pins_every_model_to_what_is_loaded(store: Path) -> None:
    make_version(store, "sentiment", 1)
    (store / "policy.json").write_bytes(b'{"format": 1, "models": \xff')
    chosen = select_versions(store)["sentiment"]
    assert chosen.pinned and chosen.policy and chosen.candidates == []
    assert "the promotion policy cannot be read" in str(chosen.problem)


SCAN = """
import json, sys
from service.serving.store import scan_versions
scan = scan_versions(sys.argv[1], "sentiment")
print(json.dumps({"complete": [v.version for v in scan.complete],
                  "skipped": [[s.version, s.reason] for s in scan.skipped]}))
"""


def scan_as_unprivileged(store: Path) -> dict:
    """`scan_versions` run by a user that permissions apply to (root reads through them). The
    store module needs only the standard library, so any Python that user may run will do."""
    if os.geteuid() != 0:
        interpreters, user = [sys.executable], {}
    else:  # the venv's interpreter may sit in root's home, which `nobody` cannot enter
        interpreters = [sys.executable, "/usr/bin/python3", shutil.which("python3") or "python3"]
        user = {"user": 65534, "group": 65534, "extra_groups": []}
    for interpreter in interpreters:
        try:
            done = subprocess.run(
                [interpreter, "-c", SCAN, str(store)],
                capture_output=True,
                text=True,
                timeout=60,
                cwd="/",
                env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
                **user,  # type: ignore[arg-type]
            )
        except PermissionError:
            continue
        if done.returncode == 0:
            return json.loads(done.stdout)
    pytest.skip("no Python interpreter that an unprivileged user may run")


def test_unreadable_version_directory_is_skipped(store: Path) -> None:
    for version in (1, 2, 3):
        make_version(store, "sentiment", version)
    (store / "sentiment" / "3").chmod(0)
    (store / "sentiment" / "2" / "saved_model.pb").unlink()  # half deleted
    try:
        found = scan_as_unprivileged(store)
    finally:
        (store / "sentiment" / "3").chmod(0o755)
    assert found == {
        "complete": [1],
        "skipped": [[3, "unreadable: Permission denied"], [2, "incomplete: no saved_model.pb"]],
    }


def test_unreadable_model_directory_is_no_crash(store: Path) -> None:
    make_version(store, "sentiment", 1)
    (store / "sentiment").chmod(0)
    try:
        found = scan_as_unprivileged(store)
    finally:
        (store / "sentiment").chmod(0o755)
    assert found == {"complete": [], "skipped": [[-1, "unreadable: Permission denied"]]}


def test_scan_in_process_matches(store: Path) -> None:
    make_version(store, "sentiment", 1)
    scan = scan_versions(store, "sentiment")
    assert [v.version for v in scan.complete] == [1] and scan.skipped == []
