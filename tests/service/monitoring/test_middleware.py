"""Request ids, security headers, CORS and the last-resort 500."""

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

BuildApp = Callable[..., FastAPI]


def test_read_health_request_id_generated(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"


def test_read_health_request_id_kept(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"


def test_read_health_request_id_replaced_when_unsafe(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32


def test_predict_sentiment_request_id_on_error(client: TestClient) -> None:
    response = client.post("/sentiment", json={}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 422
    assert response.headers["x-request-id"] == "req-42"


def test_read_health_without_cors(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "http://elsewhere.test"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_read_health_with_cors(build_app: BuildApp, tmp_path: Path) -> None:
    app = build_app(tmp_path, cors_origins=["http://ui.test"])
    with TestClient(app) as client:
        response = client.options(
            "/sentiment",
            headers={"Origin": "http://ui.test", "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://ui.test"
        response = client.get("/health", headers={"Origin": "http://other.test"})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers


def test_read_unexpected_error(build_app: BuildApp, tmp_path: Path) -> None:
    app = build_app(tmp_path)

    @app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("secret at /srv/internal/path.py")

    with TestClient(app) as client:
        response = client.get("/explode", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["x-request-id"] == "boom-1"
