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
    def halve_the_figures(metadata: dict) -> None:  # a rerun on the same data, but worse
        metadata["metrics"] = {k: v * 0.5 for k, v in metadata["metrics"].items()}

    copy_version(store, 1, 3, halve_the_figures)
    assert run_cli("promote", "--model-dir", store, 1, "--force").code == 0
    refused = run_cli("promote", "--model-dir", store, 3, "--model", "sentiment", "--json")
    assert refused.code == 3
    assert refused.json["evidence"]["sentiment"]["metric"] == "sentiment_accuracy"
    assert promoted(store)["sentiment"] == 1


def copy_version(store: Path, source: int, target: int, change) -> None:
    """Version `target` of both models: version `source` with its metadata changed."""
    for name in ("sentiment", "next_word"):
        source_dir, target_dir = store / name / str(source), store / name / str(target)
        target_dir.mkdir()
        for item in source_dir.iterdir():
            (target_dir / item.name).symlink_to(item)
        (target_dir / "metadata.json").unlink()
        metadata = json.loads((source_dir / "metadata.json").read_text())
        change(metadata)
        (target_dir / "metadata.json").write_text(json.dumps(metadata))


def test_other_language_model_text_leaves_only_sentiment_comparable(run_cli, store) -> None:
    def read_more_text(metadata: dict) -> None:
        metadata["data"]["lm_data"] = [{"path": "docs.txt", "sha256": "ab" * 32, "texts": 9}]

    copy_version(store, 1, 3, read_more_text)
    assert run_cli("promote", "--model-dir", store, 1, "--force").code == 0
    result = run_cli("promote", "--model-dir", store, 3, "--json")
    assert result.code == 3
    evidence = result.json["evidence"]
    assert evidence["sentiment"]["worse"] is False
    assert evidence["next_word"]["unjudged"].startswith("their language models read different")


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
