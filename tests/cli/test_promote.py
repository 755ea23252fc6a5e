"""`promote` and `rollback`: gated by the figures, recorded atomically in the policy file."""

from __future__ import annotations

import json
from pathlib import Path

from service.serving.policy import read_policy


def promoted(store: Path) -> dict[str, int | None]:
    policy = read_policy(store)
    assert policy is not None
    return {name: policy.promoted(name) for name in ("sentiment", "next_word")}


def test_promote_a_worse_version_is_refused_with_the_figures(run_cli, store, labelled) -> None:
    assert run_cli("promote", "--model-dir", store, 1, "--input", labelled).code == 0
    assert promoted(store) == {"sentiment": 1, "next_word": 1}
    before = (store / "policy.json").read_text()
    result = run_cli("promote", "--model-dir", store, 2, "--input", labelled, "--json")
    assert result.code == 3
    assert "refused for sentiment" in result.err
    assert "sentiment: version 2 accuracy" in result.out and ": worse" in result.out
    evidence = result.json["evidence"]["sentiment"]
    assert evidence["worse"] and evidence["candidate"] < evidence["current"]
    assert (store / "policy.json").read_text() == before  # nothing written


def test_force_then_rollback_keeps_the_history(run_cli, store, labelled) -> None:
    assert run_cli("promote", "--model-dir", store, 1, "--input", labelled).code == 0
    forced = run_cli("promote", "--model-dir", store, 2, "--input", labelled, "--force", "--json")
    assert forced.code == 0 and forced.json["promoted"] == {"sentiment": 2, "next_word": 2}
    back = run_cli("rollback", "--model-dir", store, "--json")
    assert back.code == 0 and back.json["promoted"] == {"sentiment": 1, "next_word": 1}
    history = json.loads((store / "policy.json").read_text())["models"]["sentiment"]["history"]
    assert [(h["action"], h["version"], h["previous"]) for h in history] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("rollback", 1, 2),
    ]
    assert history[1]["forced"] and not history[0]["forced"]
    again = run_cli("rollback", "--model-dir", store, "--json")
    assert again.code == 1 and "no earlier promotion" in again.json["error"]
    assert promoted(store) == {"sentiment": 1, "next_word": 1}


def test_promote_without_input_needs_comparable_figures(run_cli, store) -> None:
    result = run_cli("promote", "--model-dir", store, 1, "--json")
    assert result.code == 3
    assert "cannot be judged against version 2: they were trained on different data" in result.out
    assert not (store / "policy.json").exists()


def test_promote_without_input_on_the_same_data(run_cli, store) -> None:
    # Version 3: version 1 copied with a lower recorded accuracy, as a rerun on the same data.
    for name in ("sentiment", "next_word"):
        source, target = store / name / "1", store / name / "3"
        target.mkdir()
        for item in source.iterdir():
            (target / item.name).symlink_to(item)
        (target / "metadata.json").unlink()
        metadata = json.loads((source / "metadata.json").read_text())
        metadata["metrics"] = {k: v * 0.5 for k, v in metadata["metrics"].items()}
        (target / "metadata.json").write_text(json.dumps(metadata))
    assert run_cli("promote", "--model-dir", store, 1, "--force").code == 0
    refused = run_cli("promote", "--model-dir", store, 3, "--model", "sentiment", "--json")
    assert refused.code == 3
    assert refused.json["evidence"]["sentiment"]["metric"] == "sentiment_accuracy"
    assert promoted(store)["sentiment"] == 1


def test_promote_one_model_pins_the_other(run_cli, store) -> None:
    result = run_cli(
        "promote", "--model-dir", store, 1, "--model", "sentiment", "--force", "--json"
    )
    assert result.code == 0
    assert result.json["promoted"] == {"sentiment": 1, "next_word": 2}  # next_word as served


def test_promote_refuses_missing_versions(run_cli, store, tmp_path) -> None:
    result = run_cli("promote", "--model-dir", store, 7, "--json")
    assert result.code == 1 and "no sentiment version 7 (versions: 1, 2)" in result.json["error"]
    none = run_cli("rollback", "--model-dir", tmp_path / "none")
    assert none.code == 1 and "no such model store" in none.err
