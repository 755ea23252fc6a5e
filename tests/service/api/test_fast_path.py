"""The prediction fast path: it answers valid requests exactly as the routes would, and hands
everything else on to them with the body intact."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api.fast_path import PredictionFastPath

VALID: list[tuple[str, dict[str, Any]]] = [
    ("/sentiment", {"text": "a great movie with a plot that kept me watching"}),
    ("/sentiment", {"texts": ["dull and far too long", "funny, moving and beautifully shot"]}),
    ("/next-word", {"text": "the plot was", "top_k": 3}),
    ("/next-word", {"text": "i loved this"}),
    ("/next-word", {"text": "i loved this mov", "complete": None, "top_k": 3}),
    ("/next-word", {"text": "the movie w", "complete": True, "min_probability": 0.001}),
    ("/next-word", {"text": "", "phrase_words": 2, "top_k": 2}),
]


def fast_path_of(app: FastAPI) -> PredictionFastPath:
    """The fast path inside the app's middleware stack (built by the first request)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, PredictionFastPath):
        layer = layer.app
    return layer


@pytest.fixture
def handed_on(client: TestClient) -> Iterator[list[tuple[str, bytes]]]:
    """(path, body) of each request the fast path hands on to the routes during a test."""
    client.get("/health")  # builds the middleware stack
    fast_path = fast_path_of(client.app)  # type: ignore[arg-type]
    routes = fast_path.app
    seen: list[tuple[str, bytes]] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append((scope["path"], message.get("body", b"")))

        async def receive_again() -> Any:
            return message

        await routes(scope, receive_again, send)

    fast_path.app = recording
    yield seen
    fast_path.app = routes


def without_fast_path(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not PredictionFastPath]
    return app


@pytest.mark.parametrize(("path", "body"), VALID)
def test_predict_valid_request_answered_as_by_the_route(
    client: TestClient,
    handed_on: list,
    build_app: Callable[..., FastAPI],
    model_dir: Path,
    path: str,
    body: dict,
) -> None:
    fast = client.post(path, json=body)
    with TestClient(without_fast_path(build_app(model_dir))) as routes_only:
        routed = routes_only.post(path, json=body)
    assert handed_on == []
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"


@pytest.fixture(scope="module")
def routes_only(build_app: Callable[..., FastAPI], model_dir: Path) -> Iterator[TestClient]:
    """The app without its fast path: what the routes answer."""
    with TestClient(without_fast_path(build_app(model_dir))) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/sentiment", b'{"text": '),
        ("/sentiment", b'{"text": ""}'),
        ("/sentiment", b'{"text": "a", "top_k": 2}'),
        ("/sentiment", b'{"texts": [1, "", null]}'),
        ("/sentiment", b'{"text": "caf\xe9"}'),
        ("/sentiment", b'{"text": "ok \\ud800"}'),
        ("/next-word", b'{"text": "a", "top_k": 1000000000000000000000000000000}'),
    ],
)
def test_predict_invalid_body_answered_once_as_by_the_route(
    client: TestClient, handed_on: list, routes_only: TestClient, path: str, content: bytes
) -> None:
    headers = {"content-type": "application/json"}
    fast = client.post(path, content=content, headers=headers)
    routed = routes_only.post(path, content=content, headers=headers)
    assert handed_on == []  # parsed and validated once, by the fast path
    assert 400 <= fast.status_code < 500
    assert fast.status_code == routed.status_code
    assert fast.json() == routed.json()


def test_predict_empty_body_handed_on(client: TestClient, handed_on: list) -> None:
    response = client.post("/sentiment", content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert handed_on == [("/sentiment", b"")]


def test_predict_other_content_type_handed_on(client: TestClient, handed_on: list) -> None:
    response = client.post("/sentiment", content=b'{"text": "fine"}')
    assert response.status_code == 415
    assert [path for path, _ in handed_on] == ["/sentiment"]


def test_predict_streamed_body(client: TestClient, handed_on: list) -> None:
    chunks = [b'{"te', b'xt": "a great ', b'movie"}']
    streamed = client.post(
        "/sentiment", content=iter(chunks), headers={"content-type": "application/json"}
    )
    whole = client.post("/sentiment", json={"text": "a great movie"})
    assert streamed.status_code == 200
    assert streamed.json() == whole.json()
    assert handed_on == []


def test_predict_answered_by_fast_path_counted_under_its_route(client: TestClient) -> None:
    client.post("/next-word", json={"text": "the plot was"})
    metrics = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/next-word",status="200"}' in metrics


def dependency_calls(dependant: Any) -> set[Callable[..., Any]]:
    """Every dependency a route's handler runs, nested ones included."""
    calls = set()
    for sub in dependant.dependencies:
        calls.add(sub.call)
        calls |= dependency_calls(sub)
    return calls


def declared_calls(dependencies: list[Any]) -> set[Callable[..., Any]]:
    """The callables of `Depends(...)` markers given to a router, an include or the app."""
    return {marker.dependency for marker in dependencies}


def test_prediction_routes_depend_only_on_what_the_fast_path_applies() -> None:
    from service.api.fast_path import APPLIED_DEPENDENCIES, ENDPOINTS
    from service.api.routes import predict
    from service.main import create_app

    app = create_app()
    routes = {r.path: r for r in predict.router.routes if r.path in ENDPOINTS}  # type: ignore[attr-defined]
    includes = [r for r in app.routes if getattr(r, "original_router", None) is predict.router]
    around = declared_calls(app.router.dependencies) | declared_calls(predict.router.dependencies)
    for include in includes:
        around |= declared_calls(include.include_context.dependencies)  # type: ignore[attr-defined]

    assert set(routes) == set(ENDPOINTS) and len(includes) == 1
    for path, route in routes.items():
        skipped = (dependency_calls(route.dependant) | around) - set(APPLIED_DEPENDENCIES)
        assert not skipped, f"{path} depends on {skipped}, which the fast path would skip"
