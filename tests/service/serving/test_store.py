"""Finding complete versions in the model store."""

from pathlib import Path

from service.serving.store import complete_versions


def make_version(root: Path, name: str, version: str, files: tuple[str, ...]) -> None:
    path = root / name / version
    path.mkdir(parents=True)
    for file in files:
        (path / file).write_text("{}")


def test_find_versions_highest_first(tmp_path: Path) -> None:
    for version in ("1", "10", "2"):
        make_version(tmp_path, "sentiment", version, ("saved_model.pb", "metadata.json"))
    found = complete_versions(tmp_path, "sentiment")
    assert [v.version for v in found] == [10, 2, 1]
    assert found[0].path == tmp_path / "sentiment" / "10"


def test_find_versions_skips_incomplete_and_hidden(tmp_path: Path) -> None:
    make_version(tmp_path, "sentiment", "1", ("saved_model.pb", "metadata.json"))
    make_version(tmp_path, "sentiment", "2", ("saved_model.pb",))
    make_version(tmp_path, "sentiment", "3", ("metadata.json",))
    make_version(tmp_path, "sentiment", ".tmp-4", ("saved_model.pb", "metadata.json"))
    make_version(tmp_path, "sentiment", "v5", ("saved_model.pb", "metadata.json"))
    (tmp_path / "sentiment" / "6").write_text("a file, not a version")
    assert [v.version for v in complete_versions(tmp_path, "sentiment")] == [1]


def test_find_versions_without_store(tmp_path: Path) -> None:
    assert complete_versions(tmp_path / "missing", "sentiment") == []
    assert complete_versions(tmp_path, "next_word") == []
