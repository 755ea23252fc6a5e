"""The Open Inference Protocol's parsing under malformed headers, types and nesting: each a
clear 4xx `{"error": ...}`, never a 500."""

import orjson
import pytest
from fastapi.testclient import TestClient

INFER = "/v2/models/sentiment/infer"
REQUEST = {"inputs": [{"name": "texts", "shape": [1], "datatype": "BYTES", "data": ["fine"]}]}


def nested(depth: int) -> bytes:
    data = "[" * depth + '"fine"' + "]" * depth
    head = '{"inputs": [{"name": "texts", "shape": [1], "datatype": "BYTES", "data": '
    return (head + data + "}]}").encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
    ],
)
def test_json_body_needs_a_json_content_type(client: TestClient, content_type: str) -> None:
    response = client.post(
        INFER, content=orjson.dumps(REQUEST), headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/json; charset=utf-8"]
)
def test_json_body_accepted(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(INFER, content=orjson.dumps(REQUEST), headers=headers)
    assert response.status_code == 200


def test_binary_body_as_octet_stream_accepted(client: TestClient) -> None:
    binary = b"\x04\x00\x00\x00fine"
    tensor = {
        "name": "texts",
        "shape": [1],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(binary)},
    }
    head = orjson.dumps({"inputs": [tensor]})
    headers = {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(len(head)),
    }
    response = client.post(INFER, content=head + binary, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value", ["²".encode(), "١٢".encode(), "1" * 5000, "12 ", "-1", "0x10", "1" * 16, ""]
)
def test_malformed_header_length_is_400(client: TestClient, value: str | bytes) -> None:
    headers = {"inference-header-content-length": value}
    response = client.post(INFER, content=orjson.dumps(REQUEST), headers=headers)
    assert response.status_code == 400
    assert "Inference-Header-Content-Length" in response.json()["error"]
    assert len(response.content) < 300


@pytest.mark.parametrize("depth", [9, 100, 1_000, 1_023, 1_500])
def test_data_nested_too_deep_is_400(client: TestClient, depth: int) -> None:
    response = client.post(INFER, content=nested(depth))
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_data_nested_a_little_is_read_flat(client: TestClient) -> None:
    response = client.post(INFER, content=nested(3))
    assert response.status_code == 200


def test_many_outputs_refused_before_validation(client: TestClient) -> None:
    body = {**REQUEST, "outputs": [{"name": "positive_probability"}] * 100}
    response = client.post(INFER, content=orjson.dumps(body))
    assert response.status_code == 400
    assert response.json() == {"error": "at most 8 outputs, not 100"}
