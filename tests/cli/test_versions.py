"""`versions`: what the store holds, what is promoted, what a service serves."""

from __future__ import annotations

from pathlib import Path


def test_versions_without_policy_serve_the_newest(run_cli, two_versions: Path) -> None:
    result = run_cli("versions", "--model-dir", two_versions, "--json")
    assert result.code == 0
    assert "no policy (the newest complete versions are served)" in result.out
    for name in ("sentiment", "next_word"):
        entry = result.json["models"][name]
        assert [v["version"] for v in entry["versions"]] == [1, 2]
        assert all(v["complete"] and v["created"] for v in entry["versions"])
        assert entry["promoted"] is None and entry["served"] == 2
    assert result.json["models"]["sentiment"]["versions"][0]["metrics"]["sentiment_accuracy"] > 0.8


def test_versions_shows_incomplete_and_promoted(run_cli, store: Path) -> None:
    (store / "sentiment" / "3").mkdir()  # an export still being copied in
    assert run_cli("promote", "--model-dir", store, "1", "--force").code == 0
    result = run_cli("versions", "--model-dir", store, "--json")
    sentiment = result.json["models"]["sentiment"]
    assert [(v["version"], v["complete"]) for v in sentiment["versions"]] == [
        (1, True),
        (2, True),
        (3, False),
    ]
    assert sentiment["promoted"] == sentiment["served"] == 1
    assert "a service on this store serves: sentiment 1, next_word 1" in result.out


def test_versions_says_what_the_registry_would_serve(run_cli, store: Path) -> None:
    from service.serving.selection import select_versions

    assert run_cli("promote", "--model-dir", store, "1", "--force").code == 0
    (store / "sentiment" / "1" / "saved_model.pb").unlink()  # the promoted version half deleted
    result = run_cli("versions", "--model-dir", store, "--json")
    chosen = select_versions(store)
    for name in ("sentiment", "next_word"):
        assert result.json["models"][name]["served"] == chosen[name].version
    assert result.json["models"]["sentiment"]["served"] is None
    assert result.json["models"]["sentiment"]["skipped"] == {"1": "incomplete: no saved_model.pb"}
    assert result.json["models"]["next_word"]["served"] == 1
    assert "a service on this store serves: sentiment none, next_word 1" in result.out
    assert (
        "warning: sentiment version 1 is promoted but cannot be served: incomplete: "
        "no saved_model.pb; a running service keeps the version it has loaded" in result.out
    )
