"""Requests built to cost far more than their size: every one is refused within a bounded CPU
time, with a small error body, on the native routes (through the fast path) and on /v2."""

import struct
import time
from collections.abc import Callable

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from benchmarks.abuse import CASES, Case

JSON = {"content-type": "application/json"}
# A bad request's CPU budget in-process (the server's own target is well under 100 ms; the
# test client and a shared machine add to it).
CPU_SECONDS = 0.25
MAX_ANSWER_BYTES = 16 * 1024


def body_limit(client: TestClient) -> int:
    return client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]


def near_limit_cases(limit: int) -> list[Case]:
    """Bodies close to the body limit, each of a million-odd tiny invalid values."""
    n = limit // 3
    v2 = "/v2/models/sentiment/infer"
    return [
        Case("ints", "/sentiment", b'{"texts":[' + b",".join([b"1"] * (n - 8)) + b"]}", JSON),
        Case("objects", "/sentiment", orjson.dumps({"texts": [{}] * (n - 8)}), JSON),
        Case("keys", "/next-word", orjson.dumps({f"k{i}": 1 for i in range(n // 4)}), JSON),
        Case("v2 inputs", v2, orjson.dumps({"inputs": [{}] * (n - 8)}), JSON),
        Case(
            "v2 data",
            v2,
            orjson.dumps(
                {
                    "inputs": [
                        {
                            "name": "texts",
                            "shape": [1],
                            "datatype": "BYTES",
                            "data": [""] * (n - 64),
                        }
                    ]
                }
            ),
            JSON,
        ),
    ]


def cost(client: TestClient, case: Case) -> tuple[httpx.Response, float]:
    start = time.process_time()
    response = client.post(case.path, content=case.body, headers=case.headers)
    return response, time.process_time() - start


@pytest.mark.parametrize("make", CASES, ids=lambda make: make.__name__)
def test_benchmark_case_refused_cheaply(client: TestClient, make: Callable[[], Case]) -> None:
    case = make()
    cost(client, case)  # warm-up
    response, seconds = cost(client, case)
    assert 400 <= response.status_code < 500
    assert len(response.content) < MAX_ANSWER_BYTES
    assert seconds < CPU_SECONDS, f"{case.name}: {seconds * 1e3:.0f} ms of CPU"


def test_bodies_near_the_limit_refused_cheaply(client: TestClient) -> None:
    for case in near_limit_cases(body_limit(client)):
        assert len(case.body) <= body_limit(client)
        response, seconds = cost(client, case)
        assert 400 <= response.status_code < 500, case.name
        assert len(response.content) < MAX_ANSWER_BYTES, case.name
        assert seconds < CPU_SECONDS, f"{case.name}: {seconds * 1e3:.0f} ms of CPU"


def test_error_answer_names_at_most_ten_problems(client: TestClient) -> None:
    response = client.post("/sentiment", json={"texts": [1] * 64})
    detail = response.json()["detail"]
    assert response.status_code == 422
    assert len(detail) == 10
    assert detail[-1] == {
        "type": "too_many_errors",
        "loc": ["body"],
        "msg": "and 55 more errors, not listed",
    }


def test_over_long_key_not_echoed_in_full(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "fine", "k" * 100_000: 1})
    assert response.status_code == 422
    assert len(response.content) < 1_000


def test_batch_over_the_limit_refused_before_validation(client: TestClient) -> None:
    response = client.post("/sentiment", json={"texts": [""] * 1_000})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "too_long",
            "loc": ["body", "texts"],
            "msg": "Should be at most 64 texts, not 1000",
        }
    ]


def test_long_texts_counted_before_validation(client: TestClient) -> None:
    texts = ["x" * 20_001] * 20
    response = client.post("/sentiment", json={"texts": texts})
    detail = response.json()["detail"]
    assert response.status_code == 422
    assert len(detail) == 10
    assert detail[0]["msg"] == "Should be at most 20000 characters, not 20001"


def test_texts_full_of_commas_still_served(client: TestClient) -> None:
    response = client.post("/sentiment", json={"texts": [", ," * 3000] * 4})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 4


def test_v2_binary_count_checked_before_splitting(client: TestClient) -> None:
    count = 1_000_000
    binary = struct.pack("<I", 0) * count
    tensor = {"name": "texts", "shape": [count], "datatype": "BYTES"}
    tensor["parameters"] = {"binary_data_size": len(binary)}
    header = orjson.dumps({"inputs": [tensor]})
    headers = {"inference-header-content-length": str(len(header))}
    start = time.process_time()
    response = client.post("/v2/models/sentiment/infer", content=header + binary, headers=headers)
    assert time.process_time() - start < CPU_SECONDS
    assert response.status_code == 413
    assert response.json() == {"error": "at most 64 texts, not 1000000"}


def test_v2_binary_more_elements_than_its_shape(client: TestClient) -> None:
    binary = (struct.pack("<I", 1) + b"a") * 3
    tensor = {"name": "texts", "shape": [2], "datatype": "BYTES"}
    tensor["parameters"] = {"binary_data_size": len(binary)}
    header = orjson.dumps({"inputs": [tensor]})
    headers = {"inference-header-content-length": str(len(header))}
    response = client.post("/v2/models/sentiment/infer", content=header + binary, headers=headers)
    assert response.status_code == 400
    assert "more than 2 elements" in response.json()["error"]
