"""Loading, checking and warming up a model version."""

import shutil
from pathlib import Path

import pytest

from service.serving.servable import BrokenModelError, load_servable, token_cap
from service.serving.store import VersionDir, complete_versions


def version_dir(model_dir: Path, name: str, as_name: str | None = None) -> VersionDir:
    found = complete_versions(model_dir, name)[0]
    return VersionDir(as_name or name, found.version, found.path)


def test_load_sentiment(model_dir: Path) -> None:
    servable = load_servable(version_dir(model_dir, "sentiment"), top_k=50)
    assert (servable.name, servable.version) == ("sentiment", "1")
    assert servable.metadata["name"] == "sentiment"
    [probability] = servable.predict(["a great movie"]).predictions
    assert 0.0 <= probability <= 1.0


def test_load_next_word(model_dir: Path) -> None:
    servable = load_servable(version_dir(model_dir, "next_word"), top_k=50)
    assert 5 <= servable.max_k <= 50
    [pairs] = servable.predict(["the movie was"], k=3).predictions
    assert len(pairs) == 3
    assert all(isinstance(word, str) and 0.0 <= p <= 1.0 for word, p in pairs)


def test_load_wrong_signature(model_dir: Path) -> None:
    with pytest.raises(BrokenModelError, match="serving_default takes"):
        load_servable(version_dir(model_dir, "next_word", as_name="sentiment"), top_k=5)


def test_load_garbage(tmp_path: Path) -> None:
    path = tmp_path / "sentiment" / "1"
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"garbage")
    (path / "metadata.json").write_text("{}")
    with pytest.raises(BrokenModelError, match="cannot load"):
        load_servable(complete_versions(tmp_path, "sentiment")[0], top_k=5)


def test_load_bad_metadata(model_dir: Path, tmp_path: Path) -> None:
    path = Path(shutil.copytree(model_dir / "sentiment" / "1", tmp_path / "sentiment" / "1"))
    (path / "metadata.json").write_text("[1, 2]")
    with pytest.raises(BrokenModelError, match="JSON object"):
        load_servable(complete_versions(tmp_path, "sentiment")[0], top_k=5)


def test_read_token_cap() -> None:
    quick = {"config": {"review_head_tokens": 64, "review_tail_tokens": 128}}
    assert token_cap("sentiment", quick) == 192
    assert token_cap("sentiment", {"config": {"review_head_tokens": 64}}) == 800
    assert token_cap("next_word", {"config": {"next_word_context": 16}}) == 16
    assert token_cap("next_word", {"config": "not a mapping"}) == 64
