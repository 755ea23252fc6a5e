"""The promotion policy file: its format, atomic writes, promotion and rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.serving.policy import Policy, PolicyError, read_policy, update_policy, write_policy


def test_no_file_is_no_policy(tmp_path: Path) -> None:
    assert read_policy(tmp_path) is None


def test_promote_and_rollback_round_trip(tmp_path: Path) -> None:
    update_policy(tmp_path, lambda p: p.promote("sentiment", 1))
    update_policy(tmp_path, lambda p: p.promote("sentiment", 3, forced=True, evidence={"x": 1}))
    policy = read_policy(tmp_path)
    assert policy is not None and policy.promoted("sentiment") == 3
    assert policy.promoted("next_word") is None
    _, version = update_policy(tmp_path, lambda p: p.rollback("sentiment"))
    assert version == 1
    data = json.loads((tmp_path / "policy.json").read_text())
    entry = data["models"]["sentiment"]
    assert data["format"] == 1 and entry["version"] == 1 and entry["stack"] == [1]
    assert [h["action"] for h in entry["history"]] == ["promote", "promote", "rollback"]
    assert entry["history"][1]["evidence"] == {"x": 1} and entry["history"][1]["forced"]


def test_a_failed_change_writes_nothing(tmp_path: Path) -> None:
    update_policy(tmp_path, lambda p: p.promote("sentiment", 1))
    before = (tmp_path / "policy.json").read_text()
    with pytest.raises(PolicyError, match="no earlier promotion"):
        update_policy(tmp_path, lambda p: p.rollback("sentiment"))
    assert (tmp_path / "policy.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.json", "policy.lock"]


def test_write_replaces_the_file_whole(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text("old")
    policy = Policy()
    policy.promote("next_word", 2)
    write_policy(tmp_path, policy)
    assert read_policy(tmp_path).promoted("next_word") == 2  # type: ignore[union-attr]
    assert [p.name for p in tmp_path.iterdir()] == ["policy.json"]


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"models": {}}',
        '{"format": 1, "models": {"sentiment": {"version": "2"}}}',
        '{"format": 1, "models": {"sentiment": {"version": 2, "stack": [1]}}}',
    ],
)
def test_malformed_policies_are_errors(tmp_path: Path, content: str) -> None:
    (tmp_path / "policy.json").write_text(content)
    with pytest.raises(PolicyError, match="policy.json: "):
        read_policy(tmp_path)
