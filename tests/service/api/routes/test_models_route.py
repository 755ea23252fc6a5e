"""GET /models."""

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
