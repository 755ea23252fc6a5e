"""GET /health and GET /ready."""

from fastapi.testclient import TestClient


def test_read_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_read_ready(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "models": {"sentiment": "1", "next_word": "1"},
        "policy": False,
        "promoted": {"sentiment": None, "next_word": None},
    }


def test_read_health_without_models(empty_client: TestClient) -> None:
    response = empty_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_read_ready_without_models(empty_client: TestClient) -> None:
    response = empty_client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"detail": "not ready: no sentiment or next_word model loaded yet"}
    assert response.headers["retry-after"] == "5"
