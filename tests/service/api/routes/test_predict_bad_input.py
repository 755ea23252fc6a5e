"""Bad requests to the prediction endpoints: each gets a 4xx JSON `detail` saying what is wrong."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

LONG = "x" * 20_001

# (path, JSON body, error type, error location)
INVALID_FIELDS: list[tuple[str, Any, str, list[Any]]] = [
    ("/sentiment", {"text": ""}, "blank_text", ["body", "text"]),
    ("/sentiment", {"text": " \n\t "}, "blank_text", ["body", "text"]),
    ("/sentiment", {"text": 5}, "string_type", ["body", "text"]),
    ("/sentiment", {"text": ["a"]}, "string_type", ["body", "text"]),
    ("/sentiment", {"texts": "a great movie"}, "list_type", ["body", "texts"]),
    ("/sentiment", {"texts": []}, "too_short", ["body", "texts"]),
    ("/sentiment", {"texts": ["fine", ""]}, "blank_text", ["body", "texts", 1]),
    ("/sentiment", {"texts": ["fine", 3]}, "string_type", ["body", "texts", 1]),
    ("/sentiment", {"texts": ["fine", None]}, "string_type", ["body", "texts", 1]),
    ("/sentiment", {"text": "a", "texts": ["b"]}, "text_xor_texts", ["body"]),
    ("/sentiment", {}, "text_xor_texts", ["body"]),
    ("/sentiment", {"text": None}, "text_xor_texts", ["body"]),
    ("/sentiment", {"text": LONG}, "string_too_long", ["body", "text"]),
    ("/sentiment", {"texts": ["fine", LONG]}, "string_too_long", ["body", "texts", 1]),
    ("/sentiment", {"texts": ["fine"] * 65}, "too_long", ["body", "texts"]),
    ("/sentiment", {"text": "fine", "top_k": 3}, "extra_forbidden", ["body", "top_k"]),
    ("/sentiment", {"text": "fine", "explain": "yes"}, "bool_type", ["body", "explain"]),
    ("/sentiment", {"text": "fine", "explain": 1}, "bool_type", ["body", "explain"]),
    ("/sentiment", {"text": "fine", "explain": None}, "bool_type", ["body", "explain"]),
    ("/sentiment", {"texts": ["fine"] * 17, "explain": True}, "too_long", ["body", "texts"]),
    ("/sentiment", {"text": LONG, "explain": True}, "string_too_long", ["body", "text"]),
    ("/next-word", {"text": "fine", "explain": True}, "extra_forbidden", ["body", "explain"]),
    ("/sentiment", ["a great movie"], "model_attributes_type", ["body"]),
    ("/sentiment", "a great movie", "model_attributes_type", ["body"]),
    ("/next-word", {"top_k": 5}, "missing", ["body", "text"]),
    ("/next-word", {"text": LONG}, "string_too_long", ["body", "text"]),
    ("/next-word", {"texts": ["a", "b"]}, "missing", ["body", "text"]),
    ("/next-word", {"text": "fine", "top_k": 0}, "greater_than_equal", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": -3}, "greater_than_equal", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": 51}, "less_than_equal", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": "5"}, "int_type", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": 5.0}, "int_type", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": 2.5}, "int_type", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": True}, "int_type", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": None}, "int_type", ["body", "top_k"]),
    ("/next-word", {"text": "fine", "top_k": 10**30}, "less_than_equal", ["body", "top_k"]),
]


@pytest.mark.parametrize(("path", "body", "kind", "loc"), INVALID_FIELDS)
def test_predict_invalid_fields(
    client: TestClient, path: str, body: Any, kind: str, loc: list[Any]
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert {"type": kind, "loc": loc} in [{"type": e["type"], "loc": e["loc"]} for e in errors]
    assert all(e["msg"] for e in errors)


@pytest.mark.parametrize("path", ["/sentiment", "/next-word"])
def test_predict_lone_surrogate(client: TestClient, path: str) -> None:
    response = client.post(path, content=b'{"text": "ok \\ud800"}', headers=JSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "invalid_unicode"


def test_predict_long_text_not_echoed(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": LONG})
    assert response.status_code == 422
    assert "input" not in response.json()["detail"][0]
    assert len(response.content) < 500


JSON = {"content-type": "application/json"}

# (raw body, headers, status, words the detail must hold)
RAW_BODIES: list[tuple[bytes, dict[str, str], int, str]] = [
    (b'{"text": ', JSON, 422, "JSON decode error"),
    (b"{'text': 'single quotes'}", JSON, 422, "JSON decode error"),
    (b"", JSON, 422, "Field required"),
    (b'{"text": "a"} trailing', JSON, 422, "JSON decode error: Extra data"),
    (b'{"text": NaN}', JSON, 422, "valid string"),
    (b'{"text": "a", "top_k": Infinity}', JSON, 422, "top_k"),
    (b"[" * 100_000 + b"]" * 100_000, JSON, 422, "JSON values"),
    (b"[" * 1_500 + b"]" * 1_500, JSON, 400, "error parsing the body"),
    (b'{"text": "caf\xe9"}', JSON, 400, "not valid UTF-8"),
    (b"\xff\xfe\x00", JSON, 400, "not valid UTF-8"),
    (b'{"text": "a great movie"}', {"content-type": "text/plain"}, 415, "application/json"),
    (b'{"text": "a great movie"}', {"content-type": "application/xml"}, 415, "application/json"),
    (b"text=a+great+movie", {"content-type": "application/x-www-form-urlencoded"}, 415, "json"),
    (b'{"text": "a great movie"}', {}, 415, "application/json"),
]


@pytest.mark.parametrize("path", ["/sentiment", "/next-word"])
@pytest.mark.parametrize(("content", "headers", "status", "words"), RAW_BODIES)
def test_predict_raw_body(
    client: TestClient, path: str, content: bytes, headers: dict, status: int, words: str
) -> None:
    response = client.post(path, content=content, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert words in str(response.json()["detail"])


def test_predict_json_with_charset(client: TestClient) -> None:
    headers = {"content-type": "application/json; charset=utf-8"}
    response = client.post("/sentiment", content='{"text": "café"}'.encode(), headers=headers)
    assert response.status_code == 200


def test_predict_wrong_method(client: TestClient) -> None:
    response = client.get("/sentiment")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == "POST"


def test_predict_unknown_path(client: TestClient) -> None:
    response = client.post("/sentiments", json={"text": "a great movie"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_predict_body_too_large(client: TestClient, settings: Any) -> None:
    content = b'{"text": "' + b"a" * settings.max_body_bytes + b'"}'
    response = client.post("/sentiment", content=content, headers=JSON)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_predict_streamed_body_too_large(client: TestClient, settings: Any) -> None:
    def chunks():
        yield b'{"text": "'
        for _ in range(settings.max_body_bytes // 65_536 + 2):
            yield b"a" * 65_536
        yield b'"}'

    response = client.post("/sentiment", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
