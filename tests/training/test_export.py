"""Publishing versions into the store: one number per run even when runs race, never over a
directory already there, readable by every user before it appears; and each version's card."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from training import export
from training.export import claim_path, next_version, publish, release_version, staged_version
from training.model_card import model_card


def stage(store: Path, name: str) -> Path:
    """A staged version as mkdtemp leaves it (0700) holding a private file (0600)."""
    parent = store / name
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".tmp-{len(list(parent.iterdir()))}"
    staging.mkdir(mode=0o700)
    (staging / "variables").mkdir(mode=0o700)
    for file in ("saved_model.pb", "metadata.json", "variables/variables.index"):
        (staging / file).write_text("{}")
        (staging / file).chmod(0o600)
    return staging


def test_racing_runs_claim_different_numbers(tmp_path: Path) -> None:
    (tmp_path / "sentiment" / "4").mkdir(parents=True)
    barrier, got, errors = threading.Barrier(6), [], []

    def run() -> None:
        try:
            barrier.wait(10)
            got.append(next_version(tmp_path))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(got) == [5, 6, 7, 8, 9, 10]
    for version in got:
        release_version(tmp_path, version)
    assert not list(tmp_path.glob(".version-*.claim"))


def test_pre_created_next_number_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "next_word" / "1").mkdir(parents=True)  # a copy someone is making by hand
    (tmp_path / "sentiment" / "1").mkdir(parents=True)
    version = next_version(tmp_path)
    assert version == 2
    assert claim_path(tmp_path, 2).is_file()
    (tmp_path / "sentiment" / "2").mkdir()  # taken after the claim, behind the claim's back
    staging = stage(tmp_path, "sentiment")
    with pytest.raises(FileExistsError, match="already exists: version taken"):
        publish(staging, tmp_path, "sentiment", 2)
    assert list((tmp_path / "sentiment" / "2").iterdir()) == []  # left as it was
    assert staging.is_dir()
    release_version(tmp_path, version)


def test_claim_of_a_run_that_died_is_free_again(tmp_path: Path) -> None:
    version = next_version(tmp_path)
    os.close(export._claims.pop((str(tmp_path), version)))  # what the kernel does at its exit
    assert claim_path(tmp_path, version).is_file()
    assert next_version(tmp_path) == version
    release_version(tmp_path, version)


def test_a_published_number_is_not_claimed_again(tmp_path: Path) -> None:
    version = next_version(tmp_path)
    second = next_version(tmp_path)  # the same store, while the first run holds its number
    assert second == version + 1
    publish(stage(tmp_path, "next_word"), tmp_path, "next_word", version)
    release_version(tmp_path, second)
    assert next_version(tmp_path) == version + 1
    release_version(tmp_path, version + 1)


def test_permissions_are_set_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, int] = {}
    rename = export.rename_new

    def watching(source: Path, target: Path) -> None:
        for path in [source, *source.rglob("*")]:
            seen[str(path.relative_to(source))] = stat.S_IMODE(path.stat().st_mode)
        rename(source, target)

    monkeypatch.setattr(export, "rename_new", watching)
    final = publish(stage(tmp_path, "sentiment"), tmp_path, "sentiment", 1)
    assert seen == {
        ".": 0o755,
        "variables": 0o755,
        "saved_model.pb": 0o644,
        "metadata.json": 0o644,
        "variables/variables.index": 0o644,
    }
    assert final == tmp_path / "sentiment" / "1" and (final / "saved_model.pb").is_file()


def test_staged_version_is_removed_on_failure(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), staged_version(tmp_path, "sentiment") as staging:
        (staging / "saved_model.pb").write_text("{}")
        raise RuntimeError("export failed")
    assert list((tmp_path / "sentiment").iterdir()) == []


def test_exported_version_has_its_card_with_the_real_figures(
    model_dir: Path, imdb_archive: Path
) -> None:
    for name in ("sentiment", "next_word"):
        version = model_dir / name / "1"
        metadata = json.loads((version / "metadata.json").read_text())
        card = (version / "README.md").read_text()
        metrics = metadata["metrics"]
        assert card.startswith(f"# {name} version 1\n")
        assert f"`{imdb_archive.name}`" in card and metadata["data"]["sha256"] in card
        assert f"{imdb_archive.stat().st_size:,} bytes" in card
        assert "English movie reviews from IMDB" in card
        assert f"| validation reviews | {metrics['sentiment_val_reviews']:,} |" in card
        assert "model_input_drift_psi" in card
        assert f'tf.saved_model.load("DIR/{name}/1")' in card
        assert "No baselines were computed" in card  # the tiny preset computes none
        if name == "sentiment":
            assert f"| accuracy (validation) | {metrics['sentiment_accuracy']:.2%} |" in card
            assert f"| log loss (validation) | {metrics['sentiment_log_loss']:.4g} |" in card
            assert "curl -s localhost:8000/sentiment" in card
        else:
            assert f"| top-5 accuracy | {metrics['next_word_top5']:.2%} |" in card
            assert f"| perplexity | {metrics['next_word_perplexity']:.4g} |" in card
            assert "k=tf.constant(5, tf.int32)" in card
        assert stat.S_IMODE((version / "README.md").stat().st_mode) == 0o644


def test_card_sets_ours_beside_the_baselines() -> None:
    metadata = {
        "name": "sentiment",
        "version": 3,
        "created": "2026-12-02T11:47:14+00:00",
        "data": {"source": "/data/train.csv", "sha256": "ab" * 32},
        "vocab_size": 10000,
        "metrics": {"sentiment_accuracy": 0.911, "sentiment_log_loss": 0.2196},
        "baselines": {"tfidf_lr_accuracy": 0.8812, "nb_lr_accuracy": 0.9003},
    }
    card = model_card(metadata)
    assert "the texts of `train.csv`" in card
    assert "| accuracy (validation) | 91.10% |" in card
    assert "|   TF-IDF + logistic regression | 88.12% |" in card
    assert "|   NB-LR (Wang & Manning 2012) | 90.03% |" in card
    assert "No baselines" not in card
    assert "| vocabulary | 10,000 tokens |" in card
