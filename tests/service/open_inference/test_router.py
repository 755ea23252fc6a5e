"""Open Inference Protocol endpoints: health, metadata, inference in JSON and binary, errors."""

import json
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

TEXTS = ["a great movie", "dull and boring"]


def bytes_tensor(texts: list[str]) -> dict:
    return {"name": "texts", "shape": [len(texts)], "datatype": "BYTES", "data": texts}


def infer(client: TestClient, model: str, body: Any, **kwargs: Any) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/v2/models/{model}/infer", content=content, **kwargs)


def binary_body(texts: list[str], **extra: Any) -> tuple[bytes, dict[str, str]]:
    """A request in the binary tensor data extension: JSON header, then the texts' bytes."""
    data = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)
    tensor = {"name": "texts", "shape": [len(texts)], "datatype": "BYTES"}
    tensor["parameters"] = {"binary_data_size": len(data)}
    header = json.dumps({"inputs": [tensor], **extra}).encode()
    return header + data, {"Inference-Header-Content-Length": str(len(header))}


def test_read_server_metadata_and_health(client: TestClient) -> None:
    response = client.get("/v2")
    assert response.status_code == 200
    assert response.json()["extensions"] == ["binary_tensor_data"]
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}


def test_read_model_metadata(client: TestClient) -> None:
    response = client.get("/v2/models/next_word")
    assert response.status_code == 200
    body = response.json()
    assert body["versions"] == ["1"]
    assert body["inputs"] == [{"name": "texts", "datatype": "BYTES", "shape": [-1]}]
    assert [o["name"] for o in body["outputs"]] == ["words", "probabilities", "completing"]
    assert client.get("/v2/models/next_word/versions/1").json() == body


def test_read_model_ready_served_version_only(client: TestClient) -> None:
    assert client.get("/v2/models/sentiment/ready").status_code == 200
    assert client.get("/v2/models/sentiment/versions/1/ready").status_code == 200
    response = client.get("/v2/models/sentiment/versions/7/ready")
    assert response.status_code == 404
    assert "not served" in response.json()["error"]


@pytest.mark.parametrize(
    "path", ["/v2/models/nope", "/v2/models/nope/ready", "/v2/models/nope/versions/1", "/v2/x"]
)
def test_read_unknown_model_or_path(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_infer_sentiment_equals_native(client: TestClient) -> None:
    response = infer(client, "sentiment", {"id": "r1", "inputs": [bytes_tensor(TEXTS)]})
    assert response.status_code == 200
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("sentiment", "1", "r1")
    [output] = body["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == (
        "positive_probability",
        "FP32",
        [2],
    )
    native = client.post("/sentiment", json={"texts": TEXTS}).json()["results"]
    assert output["data"] == [r["positive_probability"] for r in native]


def test_infer_next_word_equals_native(client: TestClient) -> None:
    body = {"inputs": [bytes_tensor(TEXTS)], "parameters": {"top_k": 3}, "model_name": "x"}
    response = infer(client, "next_word", body)
    assert response.status_code == 200
    words, probabilities, completing = response.json()["outputs"]
    assert (words["shape"], probabilities["shape"]) == ([2, 3], [2, 3])
    assert completing == {"name": "completing", "datatype": "BYTES", "shape": [2], "data": ["", ""]}
    for i, text in enumerate(TEXTS):
        native = client.post("/next-word", json={"text": text, "top_k": 3}).json()
        assert words["data"][3 * i : 3 * i + 3] == [p["word"] for p in native["predictions"]]
        expected = [p["probability"] for p in native["predictions"]]
        assert probabilities["data"][3 * i : 3 * i + 3] == expected


def test_infer_binary_in_and_out(client: TestClient) -> None:
    content, headers = binary_body(TEXTS, parameters={"top_k": 2, "binary_data_output": True})
    response = infer(client, "next_word", content, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    size = int(response.headers["inference-header-content-length"])
    head, data = json.loads(response.content[:size]), response.content[size:]
    words, probabilities, _ = head["outputs"]
    assert "data" not in words and words["shape"] == [2, 2]
    word_bytes = data[: words["parameters"]["binary_data_size"]]
    floats = np.frombuffer(data[len(word_bytes) :][:16], dtype="<f4")
    assert len(floats) == 4 and probabilities["parameters"]["binary_data_size"] == 16
    first = struct.unpack_from("<I", word_bytes)[0]
    json_answer = infer(
        client, "next_word", {"inputs": [bytes_tensor(TEXTS)], "parameters": {"top_k": 2}}
    )
    expected = json_answer.json()["outputs"]
    assert word_bytes[4 : 4 + first].decode() == expected[0]["data"][0]
    np.testing.assert_allclose(floats, expected[1]["data"], rtol=1e-6)


def test_infer_requested_output_only(client: TestClient) -> None:
    body = {"inputs": [bytes_tensor(TEXTS)], "outputs": [{"name": "probabilities"}]}
    response = infer(client, "next_word", body)
    assert response.status_code == 200
    assert [o["name"] for o in response.json()["outputs"]] == ["probabilities"]


def test_infer_version_route(client: TestClient) -> None:
    body = {"inputs": [bytes_tensor(TEXTS)]}
    ok = client.post("/v2/models/sentiment/versions/1/infer", content=json.dumps(body))
    assert ok.status_code == 200
    missing = client.post("/v2/models/sentiment/versions/2/infer", content=json.dumps(body))
    assert missing.status_code == 404
    assert set(missing.json()) == {"error"}


BAD_REQUESTS = [
    (b"{not json", "not valid JSON"),
    ({"inputs": []}, "inputs"),
    ({"inputs": [{**bytes_tensor(TEXTS), "name": "text"}]}, "one input named 'texts'"),
    ({"inputs": [{**bytes_tensor(TEXTS), "datatype": "FP32"}]}, "must be BYTES"),
    ({"inputs": [{**bytes_tensor(TEXTS), "shape": [3]}]}, "holds 2 elements"),
    ({"inputs": [{**bytes_tensor(TEXTS), "shape": [1, 2]}]}, "shape [n]"),
    ({"inputs": [{**bytes_tensor(TEXTS), "data": [1, 2]}]}, "UTF-8 string"),
    ({"inputs": [bytes_tensor(TEXTS)], "parameters": {"complete": "yes"}}, "complete"),
    ({"inputs": [bytes_tensor(TEXTS)], "parameters": {"min_probability": 2}}, "min_probability"),
    ({"inputs": [bytes_tensor(TEXTS)], "parameters": {"phrase_words": 4}}, "phrase_words"),
    ({"inputs": [bytes_tensor(TEXTS)], "parameters": {"top_k": 0}}, "top_k"),
    ({"inputs": [bytes_tensor(TEXTS)], "parameters": {"top_k": True}}, "top_k"),
    ({"inputs": [bytes_tensor(TEXTS)], "outputs": [{"name": "labels"}]}, "unknown output"),
    ({"inputs": [{k: v for k, v in bytes_tensor(TEXTS).items() if k != "data"}]}, "no data"),
]


def test_infer_empty_text(client: TestClient) -> None:
    body = {"inputs": [bytes_tensor(["   "])]}
    refused = infer(client, "sentiment", body)
    assert refused.status_code == 400 and "empty" in refused.json()["error"]
    first_words = infer(client, "next_word", body)
    assert first_words.status_code == 200
    words = first_words.json()["outputs"][0]
    native = client.post("/next-word", json={"text": "   "}).json()["predictions"]
    assert words["data"] == [p["word"] for p in native] and native


@pytest.mark.parametrize(("body", "message"), BAD_REQUESTS)
def test_infer_bad_request(client: TestClient, body: Any, message: str) -> None:
    response = infer(client, "next_word", body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_infer_bad_binary(client: TestClient) -> None:
    content, headers = binary_body(TEXTS)
    for cut, header in (
        (content[:-3], headers),
        (content, {"Inference-Header-Content-Length": "x"}),
    ):
        response = infer(client, "sentiment", cut, headers=header)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}
    bad_utf8 = content[:-1] + b"\xff"
    response = infer(client, "sentiment", bad_utf8, headers=headers)
    assert response.status_code == 400 and "UTF-8" in response.json()["error"]


def test_infer_too_many_or_too_long(serve: Callable) -> None:
    with serve(max_batch_texts=2, max_text_chars=50, max_body_bytes=4096) as client:
        assert (
            infer(client, "sentiment", {"inputs": [bytes_tensor(["a", "b", "c"])]}).status_code
            == 413
        )
        assert infer(client, "sentiment", {"inputs": [bytes_tensor(["a" * 51])]}).status_code == 413
        response = infer(client, "sentiment", {"inputs": [bytes_tensor(["a" * 5000])]})
        assert response.status_code == 413
        assert "too large" in response.json()["error"]


def test_infer_unknown_model(client: TestClient) -> None:
    response = infer(client, "nope", {"inputs": [bytes_tensor(TEXTS)]})
    assert response.status_code == 404
    assert "unknown model" in response.json()["error"]


def test_v2_not_ready_is_503(empty_client: TestClient) -> None:
    for response in (
        empty_client.get("/v2/health/ready"),
        empty_client.get("/v2/models/sentiment"),
        infer(empty_client, "sentiment", {"inputs": [bytes_tensor(TEXTS)]}),
    ):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert set(response.json()) == {"error"}


def test_v2_draining_not_ready_but_serving(serve: Callable) -> None:
    with serve() as client:
        client.app.state.draining = True
        assert client.get("/ready").status_code == 503
        assert client.get("/v2/health/ready").status_code == 503
        assert infer(client, "sentiment", {"inputs": [bytes_tensor(TEXTS)]}).status_code == 200


def test_infer_shares_model_calls_with_native(serve: Callable, gate: Any) -> None:
    out: list = []

    def post(path: str, body: dict) -> threading.Thread:
        thread = threading.Thread(target=lambda: out.append(client.post(path, json=body)))
        thread.start()
        return thread

    with serve(model_calls_in_flight=1) as client:
        gate.hold(client.app.state.registry.get("sentiment").servable)
        threads = [post("/sentiment", {"text": "hold the worker"})]
        assert gate.entered.wait(10)
        threads.append(post("/sentiment", {"text": "native text"}))
        threads.append(post("/v2/models/sentiment/infer", {"inputs": [bytes_tensor(TEXTS)]}))
        deadline = time.monotonic() + 10
        while 'batch_queue_texts{model="sentiment"} 3.0' not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        gate.release.set()
        for thread in threads:
            thread.join(30)
    assert [r.status_code for r in out] == [200] * 3
    assert len(gate.calls) == 2  # the held call, then the native and V2 texts together
    assert sorted(gate.calls[1]) == sorted(["native text", *TEXTS])
