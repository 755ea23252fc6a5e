"""GET /docs and /openapi.json: the API documentation, with no asset from outside."""

import re

from fastapi.testclient import TestClient


def test_read_docs(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets
    assert all(url.startswith("/") for url in assets)
    for url in assets:
        assert client.get(url).status_code == 200


def test_read_openapi(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    v2 = {"/v2", "/v2/health/live", "/v2/health/ready"} | {
        f"/v2/models/{{name}}{version}{action}"
        for version in ("", "/versions/{version}")
        for action in ("", "/ready", "/infer")
    }
    assert (
        set(paths) == {"/sentiment", "/next-word", "/health", "/ready", "/models", "/metrics"} | v2
    )
    assert "InferenceRequest" in response.json()["components"]["schemas"]
    assert {"200", "413", "415", "422", "503"} <= set(paths["/sentiment"]["post"]["responses"])
