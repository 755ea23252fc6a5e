"""Model versions: start-up, hot reload, broken versions, in-flight requests and release."""

import gc
import logging
import shutil
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient


def served_versions(client: TestClient) -> dict[str, str]:
    """Model name -> served version, from /ready (empty while not ready)."""
    response = client.get("/ready")
    return response.json()["models"] if response.status_code == 200 else {}


def test_reload_new_version_releases_old(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable
) -> None:
    with serve(store) as client:
        assert served_versions(client) == {"sentiment": "1", "next_word": "1"}
        old = weakref.ref(client.app.state.registry.get("sentiment").servable)
        add_version(store, 2)
        eventually(lambda: served_versions(client) == {"sentiment": "2", "next_word": "2"})
        sentiment = client.post("/sentiment", json={"text": "a great movie"})
        next_word = client.post("/next-word", json={"text": "a great movie"})
        models = client.get("/models").json()["models"]
        metrics = client.get("/metrics").text

        def released() -> bool:
            gc.collect()
            return old() is None

        eventually(released, timeout=10)
    assert sentiment.status_code == 200
    assert sentiment.json()["model_version"] == "2"
    assert next_word.status_code == 200
    assert next_word.json()["model_version"] == "2"
    assert [m["version"] for m in models] == ["2", "2"]
    assert 'model_version{model="sentiment"} 2.0' in metrics
    assert 'model_loads_total{model="next_word",outcome="loaded"} 2.0' in metrics


def test_reload_broken_version_skipped(
    serve: Callable,
    store: Path,
    add_version: Callable,
    add_broken_version: Callable,
    eventually: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failed = 'model_loads_total{model="next_word",outcome="failed"} 1.0'
    with serve(store) as client:
        add_broken_version(store, 2)
        eventually(lambda: failed in client.get("/metrics").text)
        during = client.post("/sentiment", json={"text": "a great movie"})
        versions = served_versions(client)
        add_version(store, 3)
        eventually(lambda: served_versions(client) == {"sentiment": "3", "next_word": "3"})
        metrics = client.get("/metrics").text
    assert during.status_code == 200
    assert during.json()["model_version"] == "1"
    assert versions == {"sentiment": "1", "next_word": "1"}
    assert failed in metrics  # tried once, not at every poll
    assert "skipping sentiment version 2" in caplog.text


def test_start_with_broken_newest_version(
    serve: Callable, store: Path, add_broken_version: Callable
) -> None:
    add_broken_version(store, 2)
    with serve(store) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["models"] == {"sentiment": "1", "next_word": "1"}


def test_start_without_models_then_ready(
    serve: Callable,
    model_dir: Path,
    tmp_path: Path,
    eventually: Callable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = tmp_path / "model"
    with caplog.at_level(logging.WARNING), serve(store) as client:
        before = client.get("/ready")
        shutil.copytree(model_dir, store)
        eventually(lambda: client.get("/ready").status_code == 200)
        response = client.post("/sentiment", json={"text": "a great movie"})
    assert before.status_code == 503
    assert "no sentiment or next_word model in MODEL_DIR" in caplog.text
    assert "python -m training --data PATH --model-dir" in caplog.text
    assert response.status_code == 200


def test_reload_in_flight_request_keeps_its_version(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable, gate: Any
) -> None:
    out: list = []
    with serve(store) as client:
        gate.hold(client.app.state.registry.get("sentiment").servable)
        body = {"text": "a great movie"}
        thread = threading.Thread(target=lambda: out.append(client.post("/sentiment", json=body)))
        thread.start()
        assert gate.entered.wait(10)
        add_version(store, 2)
        eventually(lambda: served_versions(client).get("sentiment") == "2")
        after = client.post("/sentiment", json=body)
        gate.release.set()
        thread.join(30)
    assert out[0].status_code == 200
    assert out[0].json()["model_version"] == "1"
    assert after.status_code == 200
    assert after.json()["model_version"] == "2"
    assert out[0].json()["positive_probability"] == after.json()["positive_probability"]


def test_reload_keeps_the_version_for_every_call_of_a_request(
    serve: Callable, store: Path, add_version: Callable, eventually: Callable, gate: Any
) -> None:
    """A phrase request calls the model once per word: all its calls go to the version it
    began on, though a new version is swapped in after the first."""
    out: list = []
    with serve(store) as client:
        gate.hold(client.app.state.registry.get("next_word").servable)
        body = {"text": "a great movie ", "phrase_words": 3}
        thread = threading.Thread(target=lambda: out.append(client.post("/next-word", json=body)))
        thread.start()
        assert gate.entered.wait(10)
        add_version(store, 2)
        eventually(lambda: served_versions(client).get("next_word") == "2")
        gate.release.set()
        thread.join(30)
        after = client.post("/next-word", json=body)
    assert out[0].status_code == 200, out[0].text
    assert out[0].json()["model_version"] == "1"
    assert len(gate.calls) == 3  # the next words, then two beam steps, all on version 1
    assert out[0].json()["phrases"] == after.json()["phrases"]
    assert after.json()["model_version"] == "2"


def test_skip_incomplete_version(serve: Callable, store: Path, eventually: Callable) -> None:
    for name in ("sentiment", "next_word"):
        shutil.copytree(store / name / "1", store / name / "5")
        (store / name / "5" / "metadata.json").unlink()
        shutil.copytree(store / name / "1", store / name / ".tmp-6")
    with serve(store) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["models"] == {"sentiment": "1", "next_word": "1"}


def test_reload_version_once_its_copy_completes(
    serve: Callable, store: Path, eventually: Callable
) -> None:
    failed = 'model_loads_total{model="sentiment",outcome="failed"} 1.0'
    with serve(store) as client:
        for name in ("sentiment", "next_word"):  # a copy caught half-way: no variables yet
            target = store / name / "2"
            target.mkdir()
            for file in ("saved_model.pb", "metadata.json"):
                shutil.copy2(store / name / "1" / file, target / file)
        eventually(lambda: failed in client.get("/metrics").text)
        for name in ("sentiment", "next_word"):
            shutil.copytree(store / name / "1", store / name / "2", dirs_exist_ok=True)
        eventually(lambda: served_versions(client) == {"sentiment": "2", "next_word": "2"})
