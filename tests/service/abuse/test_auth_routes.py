"""API keys on every route of the app: with keys set, each answers 401 with `WWW-Authenticate:
Bearer` without a valid key and serves the right one (from API_KEYS, and from a key file's
`sha256:` line); the probes, the playground page and the /docs page stay open; /metrics takes
the scraper's key alone when there is one."""

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from service.main import create_app
from service.settings import Settings

KEY, FILE_KEY, SCRAPER_KEY = "key-from-env", "key-from-file", "key-of-the-scraper"
# An asset of each mount of static files.
ASSETS = {"/docs/assets": "/swagger-ui.css", "/playground": "/app.js"}
# Open without a key: the probes, the static pages, their assets.
OPEN = {"/health", "/ready", "/v2/health/live", "/v2/health/ready", "/", "/docs"}
OPEN |= {mount + asset for mount, asset in ASSETS.items()}
PATH_VALUES = {"name": "sentiment", "version": "1", "path": "nowhere"}
BODIES: dict[str, dict[str, Any]] = {
    "/sentiment": {"text": "a great movie"},
    "/next-word": {"text": "the plot was"},
    "infer": {"inputs": [{"name": "texts", "shape": [1], "datatype": "BYTES", "data": ["fine"]}]},
}


def every_route(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of each route of the app, those of included routers too."""
    found = []
    for route in app.routes:
        included = getattr(route, "original_router", None)
        for leaf in included.routes if included is not None else [route]:
            if isinstance(leaf, Mount):
                found.append(("GET", leaf.path + ASSETS[leaf.path]))
                continue
            found += [(method, leaf.path) for method in sorted(leaf.methods)]  # type: ignore[attr-defined]
    return found


ROUTES = every_route(create_app(Settings(model_dir=Path("unused"))))
KEYED = [(method, path) for method, path in ROUTES if path not in OPEN]


def concrete(path: str) -> str:
    """A path template with its parameters filled in."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PATH_VALUES[m.group(1)], path)


def call(client: TestClient, method: str, path: str, key: str | None) -> Any:
    """`method` on `path` with `key` as its bearer key, and a valid body for a POST."""
    headers = {"authorization": f"Bearer {key}"} if key is not None else {}
    if method == "GET":
        return client.get(concrete(path), headers=headers)
    body = BODIES.get(path, BODIES["infer"])
    return client.post(concrete(path), json=body, headers=headers)


@pytest.fixture(scope="module")
def keyed(
    build_app: Callable[..., FastAPI], model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """An app with a key in API_KEYS and the digest of another in API_KEYS_FILE."""
    keys_file = tmp_path_factory.mktemp("keys") / "api-keys"
    hashed = hashlib.sha256(FILE_KEY.encode()).hexdigest()
    keys_file.write_text(f"# the file key\nsha256:{hashed}\n")
    with TestClient(build_app(model_dir, api_keys=KEY, api_keys_file=keys_file)) as client:
        yield client


@pytest.fixture(scope="module")
def scraped(build_app: Callable[..., FastAPI], model_dir: Path) -> Iterator[TestClient]:
    """An app with an API key and a scraper's key for /metrics."""
    with TestClient(build_app(model_dir, api_keys=KEY, metrics_api_keys=SCRAPER_KEY)) as client:
        yield client


def test_routes_found() -> None:
    paths = {path for _, path in KEYED}
    assert {"/sentiment", "/next-word", "/models", "/metrics", "/openapi.json", "/v2"} <= paths
    assert "/v2/models/{name}/infer" in paths and "/v2/{path:path}" in paths
    assert OPEN <= {path for _, path in ROUTES}


@pytest.mark.parametrize(("method", "path"), KEYED)
@pytest.mark.parametrize("key", [None, "wrong", KEY[:-1], ""])
def test_keyed_route_refuses_without_a_valid_key(
    keyed: TestClient, method: str, path: str, key: str | None
) -> None:
    response = call(keyed, method, path, key)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    field = "error" if path.startswith("/v2") else "detail"
    assert response.json() == {field: "Missing or invalid API key"}


@pytest.mark.parametrize(("method", "path"), KEYED)
@pytest.mark.parametrize("key", [KEY, FILE_KEY])
def test_keyed_route_serves_a_valid_key(
    keyed: TestClient, method: str, path: str, key: str
) -> None:
    response = call(keyed, method, path, key)
    assert response.status_code != 401
    assert response.status_code < 500


@pytest.mark.parametrize(("method", "path"), [route for route in ROUTES if route[1] in OPEN])
def test_open_route_needs_no_key(keyed: TestClient, method: str, path: str) -> None:
    response = call(keyed, method, path, None)
    assert response.status_code == 200


def test_predict_without_key_refused_before_its_content_type(keyed: TestClient) -> None:
    response = keyed.post("/sentiment", content=b"{}", headers={"content-type": "text/plain"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_basic_scheme_is_not_a_bearer_key(keyed: TestClient) -> None:
    response = keyed.get("/models", headers={"authorization": f"Basic {KEY}"})
    assert response.status_code == 401


def test_metrics_take_the_scraper_key_only(scraped: TestClient) -> None:
    assert scraped.get("/metrics", headers={"authorization": f"Bearer {SCRAPER_KEY}"}).is_success
    assert scraped.get("/metrics", headers={"authorization": f"Bearer {KEY}"}).status_code == 401
    refused = scraped.post(
        "/sentiment", json=BODIES["/sentiment"], headers={"authorization": f"Bearer {SCRAPER_KEY}"}
    )
    assert refused.status_code == 401
    assert scraped.get("/models", headers={"authorization": f"Bearer {KEY}"}).is_success


def test_docs_page_open_its_document_keyed(keyed: TestClient) -> None:
    page = keyed.get("/docs")
    assert page.status_code == 200
    assert 'id="key-form"' in page.text and "preauthorizeApiKey" in page.text
    assert keyed.get("/openapi.json").status_code == 401
    document = keyed.get("/openapi.json", headers={"authorization": f"Bearer {KEY}"}).json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert document["paths"]["/sentiment"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "401" in document["paths"]["/v2/models/{name}/infer"]["post"]["responses"]
    assert "security" not in document["paths"]["/health"]["get"]


def test_keys_off_by_default(client: TestClient) -> None:
    assert client.app.state.keys.api == ()  # type: ignore[attr-defined]
    assert client.get("/models").status_code == 200
    assert client.get("/openapi.json").status_code == 200
