"""GET /models: the served versions and their metadata, without a path of the machine."""

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient


def test_list_models(client: TestClient) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    models = response.json()["models"]
    assert [(m["name"], m["version"]) for m in models] == [("sentiment", "1"), ("next_word", "1")]
    for model in models:
        assert model["metadata"]["name"] == model["name"]
        assert model["metadata"]["version"] == 1
        assert model["loaded_at"]
        assert model["promoted_version"] is None


def test_list_models_without_models(empty_client: TestClient) -> None:
    response = empty_client.get("/models")
    assert response.status_code == 200
    assert response.json() == {
        "models": [],
        "policy": False,
        "promotion": [
            {"name": n, "promoted_version": None, "loaded_version": None, "problem": None}
            for n in ("sentiment", "next_word")
        ],
    }


def test_list_models_shows_data_files_by_name(client: TestClient, model_dir: Path) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    for model in response.json()["models"]:
        data = model["metadata"]["data"]
        assert data["source"] == "aclImdb_small.tar.gz"  # trained from an absolute path
        assert len(data["sha256"]) == 64
    # No path of the machine anywhere in the answer: not the data's, not the store's.
    assert str(model_dir.parent) not in response.text
    assert "/tmp" not in response.text and "pytest-of" not in response.text


def test_list_models_hides_every_recorded_path(serve: Callable, store: Path) -> None:
    for name in ("sentiment", "next_word"):
        path = store / name / "1" / "metadata.json"
        metadata = json.loads(path.read_text())
        metadata["data"]["source"] = "/home/alice/private/reviews.csv"
        metadata["data"]["lm_data"] = [{"path": "C:\\Users\\bob\\extra.txt", "sha256": "ab"}]
        metadata["metrics"]["test"] = {"source": "~/held-out.jsonl", "accuracy": 0.9}
        metadata["config"]["note"] = "/srv/secret/cache"
        metadata["downloaded_from"] = "https://ai.stanford.edu/~amaas/data/aclImdb_v1.tar.gz"
        path.write_text(json.dumps(metadata))
    with serve(store) as client:
        response = client.get("/models")
    assert response.status_code == 200
    metadata = response.json()["models"][0]["metadata"]
    assert metadata["data"]["source"] == "reviews.csv"
    assert metadata["data"]["lm_data"] == [{"path": "extra.txt", "sha256": "ab"}]
    assert metadata["metrics"]["test"] == {"source": "held-out.jsonl", "accuracy": 0.9}
    assert metadata["config"]["note"] == "cache"
    assert metadata["downloaded_from"].startswith("https://ai.stanford.edu/")
    for private in ("alice", "bob", "/srv", str(store)):
        assert private not in response.text


def test_problem_names_the_store_as_model_dir(serve: Callable, store: Path) -> None:
    (store / "policy.json").write_text("{not json")
    with serve(store) as client:
        row = client.get("/models").json()["promotion"][0]
    assert row["problem"].startswith("the promotion policy cannot be read: MODEL_DIR/policy.json")
    assert str(store) not in row["problem"]
