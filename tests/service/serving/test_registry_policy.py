"""The registry follows the store's promotion policy: exactly the promoted version, up or down,
with no failed request; newer versions change nothing while a policy exists; without one, the
newest; a store that cannot be read never takes the service down."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.serving.policy import update_policy

BOTH = ("sentiment", "next_word")


def promote(store: Path, version: int, names: tuple[str, ...] = BOTH) -> None:
    def change(policy: object) -> None:
        for name in names:
            policy.promote(name, version)  # type: ignore[attr-defined]

    update_policy(store, change)


def loaded(client: TestClient) -> dict[str, str]:
    response = client.get("/ready")
    return response.json()["models"] if response.status_code == 200 else {}


class Load:
    """Requests sent back to back from a thread; every answer's status and version recorded."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.answers = client, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        while not self.stop.is_set():
            response = self.client.post("/sentiment", json={"text": "a great movie"})
            version = response.json().get("model_version") if response.status_code == 200 else None
            self.answers.append((response.status_code, version))

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(30)


def test_promote_down_then_up_under_load(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable
) -> None:
    add_version(store, 2)
    with serve(store) as client:
        assert loaded(client) == {"sentiment": "2", "next_word": "2"}
        with Load(client) as load:
            promote(store, 1)
            eventually(lambda: loaded(client) == {"sentiment": "1", "next_word": "1"})
            eventually(lambda: len(load.answers) > 5 and load.answers[-1][1] == "1")
            promote(store, 2)
            eventually(lambda: loaded(client) == {"sentiment": "2", "next_word": "2"})
            eventually(lambda: load.answers[-1][1] == "2")
        ready = client.get("/ready").json()
        models = client.get("/models").json()
    statuses = {status for status, _ in load.answers}
    versions = [version for _, version in load.answers]
    assert statuses == {200}, f"failed requests: {statuses}"
    assert "1" in versions and versions[-1] == "2"
    assert ready == {
        "status": "ready",
        "models": {"sentiment": "2", "next_word": "2"},
        "policy": True,
        "promoted": {"sentiment": "2", "next_word": "2"},
    }
    assert models["policy"] is True
    assert [(m["version"], m["promoted_version"]) for m in models["models"]] == [("2", "2")] * 2
    assert models["promotion"][0] == {
        "name": "sentiment",
        "promoted_version": "2",
        "loaded_version": "2",
        "problem": None,
    }


def test_newer_version_changes_nothing_while_a_policy_exists(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable
) -> None:
    promote(store, 1)
    with serve(store) as client:
        add_version(store, 3)
        time.sleep(1.5)  # several polls (every 0.2 s in tests)
        during = client.post("/sentiment", json={"text": "a great movie"}).json()
        served = loaded(client)
        promote(store, 3, ("sentiment",))
        eventually(lambda: loaded(client) == {"sentiment": "3", "next_word": "1"})
    assert served == {"sentiment": "1", "next_word": "1"}
    assert during["model_version"] == "1"


def test_without_a_policy_the_newest_is_served(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable
) -> None:
    add_version(store, 2)
    with serve(store) as client:
        assert loaded(client) == {"sentiment": "2", "next_word": "2"}
        ready = client.get("/ready").json()
        models = client.get("/models").json()
        add_version(store, 3)
        eventually(lambda: loaded(client) == {"sentiment": "3", "next_word": "3"})
    assert ready["policy"] is False and ready["promoted"] == {"sentiment": None, "next_word": None}
    assert models["policy"] is False
    assert [m["promoted_version"] for m in models["models"]] == [None, None]


def test_a_model_the_policy_does_not_name_follows_the_newest(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable
) -> None:
    add_version(store, 2)
    promote(store, 1, ("sentiment",))
    with serve(store) as client:
        assert loaded(client) == {"sentiment": "1", "next_word": "2"}
        add_version(store, 3)
        eventually(lambda: loaded(client) == {"sentiment": "1", "next_word": "3"})


def test_promoted_version_missing_keeps_the_loaded_one(
    serve: Callable,
    store: Path,
    add_version: Callable,
    eventually: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metric = 'model_policy_unmet{model="sentiment"} 1.0'
    with caplog.at_level(logging.WARNING), serve(store) as client:
        promote(store, 7, ("sentiment",))
        eventually(lambda: metric in client.get("/metrics").text)
        answer = client.post("/sentiment", json={"text": "a great movie"})
        models = client.get("/models").json()
        add_version(store, 7)  # the promoted version arrives: served at once
        eventually(lambda: loaded(client) == {"sentiment": "7", "next_word": "1"})
        after = client.get("/metrics").text
    assert answer.status_code == 200 and answer.json()["model_version"] == "1"
    assert models["promotion"][0]["promoted_version"] == "7"
    assert models["promotion"][0]["loaded_version"] == "1"
    assert "version 7 is promoted but cannot be served: not in the store" in str(
        models["promotion"][0]["problem"]
    )
    assert caplog.text.count("sentiment version 7 is promoted but cannot be served") == 1
    assert "keeping version 1 loaded" in caplog.text
    assert 'model_policy_unmet{model="sentiment"} 0.0' in after


def test_start_with_the_promoted_version_incomplete(serve: Callable, store: Path) -> None:
    shutil.copytree(store / "sentiment" / "1", store / "sentiment" / "2")
    (store / "sentiment" / "2" / "saved_model.pb").unlink()
    promote(store, 2, ("sentiment",))
    with serve(store) as client:
        ready = client.get("/ready")
        health = client.get("/health")
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["detail"] == (
        "not ready: no sentiment model loaded yet; sentiment version 2 is promoted but "
        "cannot be served: incomplete: no saved_model.pb"
    )


def test_a_promoted_version_that_fails_to_load_keeps_the_loaded_one(
    serve: Callable, store: Path, add_broken_version: Callable, eventually: Callable
) -> None:
    failed = 'model_loads_total{model="sentiment",outcome="failed"} 1.0'
    with serve(store) as client:
        add_broken_version(store, 2)
        promote(store, 2)
        eventually(lambda: failed in client.get("/metrics").text)
        answer = client.post("/sentiment", json={"text": "a great movie"})
        row = client.get("/models").json()["promotion"][0]
    assert answer.status_code == 200 and answer.json()["model_version"] == "1"
    assert row["problem"] == "sentiment version 2 is promoted but did not load"


def test_unreadable_policy_keeps_the_loaded_versions(
    serve: Callable,
    store: Path,
    add_version: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING), serve(store) as client:
        (store / "policy.json").write_text("{not json")
        add_version(store, 2)
        time.sleep(1.0)
        served = loaded(client)
    assert served == {"sentiment": "1", "next_word": "1"}
    assert "the promotion policy cannot be read" in caplog.text


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """`unreadable(path)`: chmod 000 a directory. Root reads through permissions, so for root
    the listing of it and the stat of anything in it also fail with EACCES, as they do for
    every other user."""
    made: list[Path] = []
    real_stat, real_listdir, real_scandir = os.stat, os.listdir, os.scandir

    def refused(path: object, inside: bool) -> bool:
        target = Path(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else None
        for directory in made:
            if target is not None and (
                target.is_relative_to(directory) and (target != directory or not inside)
            ):
                return True
        return False

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if refused(path, inside=True):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def listing(real: Callable) -> Callable:
        def call(path: object = ".") -> object:
            if refused(path, inside=False):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        return call

    def make(path: Path) -> None:
        made.append(path)
        if path.exists():
            path.chmod(0)
        if os.geteuid() == 0:
            monkeypatch.setattr(os, "stat", stat)
            monkeypatch.setattr(os, "listdir", listing(real_listdir))
            monkeypatch.setattr(os, "scandir", listing(real_scandir))

    yield make
    monkeypatch.undo()
    for path in made:
        if path.exists():
            path.chmod(0o755)


def test_unreadable_and_half_deleted_versions_at_start_and_in_polling(
    serve: Callable,
    store: Path,
    add_version: Callable,
    eventually: Callable,
    unreadable: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_version(store, 2)
    add_version(store, 3)
    unreadable(store / "sentiment" / "3")
    (store / "next_word" / "3" / "saved_model.pb").unlink()
    skipped = 'model_store_skipped_versions{model="sentiment"} 2.0'
    with caplog.at_level(logging.WARNING), serve(store) as client:
        at_start = loaded(client)
        unreadable(store / "sentiment" / "4")  # refused before it appears: never read
        staged = Path(shutil.copytree(store / "sentiment" / "1", store / "sentiment" / ".tmp-4"))
        staged.chmod(0)
        staged.rename(store / "sentiment" / "4")
        shutil.copytree(store / "next_word" / "1", store / "next_word" / "4")
        eventually(lambda: skipped in client.get("/metrics").text)
        add_version(store, 5)
        eventually(lambda: loaded(client) == {"sentiment": "5", "next_word": "5"})
        answer = client.post("/sentiment", json={"text": "a great movie"})
    assert at_start == {"sentiment": "2", "next_word": "2"}
    assert answer.status_code == 200 and answer.json()["model_version"] == "5"
    assert "skipping sentiment version 3" in caplog.text
    assert "unreadable: Permission denied" in caplog.text
    assert "skipping next_word version 3" in caplog.text
    assert "incomplete: no saved_model.pb" in caplog.text
    assert caplog.text.count("skipping sentiment version 4") == 1
