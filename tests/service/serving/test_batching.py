"""Micro-batching: call planning, shared model calls, the bounded queue and time limits."""

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.serving.batching import padding_share, plan_calls


def test_plan_calls_groups_similar_lengths() -> None:
    lengths = [300, 5, 7, 290, 6, 40]
    calls = plan_calls(lengths, max_texts=64, max_words=10_000, ratio=2.0, slack=16)
    assert calls == [[1, 4, 2], [5], [3, 0]]


def test_plan_calls_covers_every_text_once() -> None:
    lengths = [(i * 37) % 400 + 1 for i in range(200)]
    calls = plan_calls(lengths, max_texts=16, max_words=2_000, ratio=2.0, slack=16)
    assert sorted(i for call in calls for i in call) == list(range(200))
    assert all(len(call) <= 16 for call in calls)
    assert all(len(call) * max(lengths[i] for i in call) <= 2_000 for call in calls)
    for call in calls:
        assert max(lengths[i] for i in call) <= 2.0 * min(lengths[i] for i in call) + 16


def test_plan_calls_one_call_for_equal_lengths() -> None:
    assert plan_calls([3] * 10, max_texts=64, max_words=30, ratio=1.0, slack=0) == [list(range(10))]


def test_plan_calls_word_budget() -> None:
    calls = plan_calls([300] * 5 + [5000], max_texts=64, max_words=1_000, ratio=2.0, slack=16)
    assert calls == [[0, 1, 2], [3, 4], [5]]  # a text over the budget still gets its own call


def test_padding_share() -> None:
    assert padding_share([4, 4]) == 0.0
    assert padding_share([1, 3]) == pytest.approx(1 / 3)


def post_in_thread(client: TestClient, path: str, body: dict, out: list) -> threading.Thread:
    """POST from another thread, appending (body, response) to `out`."""
    thread = threading.Thread(target=lambda: out.append((body, client.post(path, json=body))))
    thread.start()
    return thread


def wait_queued(client: TestClient, model: str, count: int) -> None:
    """Wait until the model's queue holds `count` texts, as /metrics reports it."""
    line = f'batch_queue_texts{{model="{model}"}} {float(count)}'
    deadline = time.monotonic() + 10
    while line not in client.get("/metrics").text:
        assert time.monotonic() < deadline, f"{model} queue never held {count} texts"
        time.sleep(0.02)


def finish(gate: Any, threads: list[threading.Thread]) -> None:
    """Open the gate and wait for every request thread."""
    gate.release.set()
    for thread in threads:
        thread.join(30)


def test_predict_sentiment_requests_share_a_call(serve: Callable, gate: Any) -> None:
    texts = [f"the movie was great {'and fun ' * i}" for i in range(8)]
    out: list = []
    with serve(model_calls_in_flight=1) as client:
        gate.hold(client.app.state.registry.get("sentiment").servable)
        threads = [post_in_thread(client, "/sentiment", {"text": "hold the worker"}, out)]
        assert gate.entered.wait(10)
        threads += [post_in_thread(client, "/sentiment", {"text": t}, out) for t in texts]
        wait_queued(client, "sentiment", len(texts))
        finish(gate, threads)
        batch = client.post("/sentiment", json={"texts": texts}).json()["results"]
    assert [response.status_code for _, response in out] == [200] * 9
    assert len(gate.calls) == 3  # the held call, the 8 queued texts together, the batch
    assert sorted(gate.calls[1]) == sorted(texts)
    expected = {t: r["positive_probability"] for t, r in zip(texts, batch, strict=True)}
    for body, response in out[1:]:
        probability = response.json()["positive_probability"]
        assert probability == pytest.approx(expected[body["text"]], abs=1e-5)


def test_predict_next_word_mixed_top_k_share_a_call(serve: Callable, gate: Any) -> None:
    out: list = []
    with serve(model_calls_in_flight=1) as client:
        gate.hold(client.app.state.registry.get("next_word").servable)
        threads = [
            post_in_thread(
                client, "/next-word", {"text": "hold the worker", "complete": False}, out
            )
        ]
        assert gate.entered.wait(10)
        for k in (1, 4, 2):
            body = {"text": "the plot was", "top_k": k}
            threads.append(post_in_thread(client, "/next-word", body, out))
        wait_queued(client, "next_word", 3)
        finish(gate, threads)
        best = client.post("/next-word", json={"text": "the plot was", "top_k": 4}).json()
    assert [response.status_code for _, response in out] == [200] * 4
    assert len(gate.calls) == 3
    for body, response in out[1:]:
        assert response.json()["predictions"] == best["predictions"][: body["top_k"]]


def test_predict_sentiment_served_beside_a_held_call(serve: Callable) -> None:
    entered, release = threading.Event(), threading.Event()
    out: list = []
    with serve(model_calls_in_flight=2) as client:
        servable = client.app.state.registry.get("sentiment").servable
        original = servable.predict

        def predict_holding_some(texts: list[str], k: int = 1) -> list:
            if "hold me" in texts:
                entered.set()
                release.wait(30)
            return original(texts, k)

        servable.predict = predict_holding_some
        held = post_in_thread(client, "/sentiment", {"text": "hold me"}, out)
        assert entered.wait(10)
        response = client.post("/sentiment", json={"text": "a second call, alone"})
        still_held = held.is_alive()
        release.set()
        held.join(30)
    assert response.status_code == 200
    assert still_held
    assert [r.status_code for _, r in out] == [200]


def test_predict_sentiment_long_text_waits_for_the_model(serve: Callable) -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []
    out: list = []
    long_text = "a long review " * 10
    with serve(model_calls_in_flight=2, overlap_max_words=20) as client:
        servable = client.app.state.registry.get("sentiment").servable
        original = servable.predict

        def predict_holding_some(texts: list[str], k: int = 1) -> list:
            calls.append(list(texts))
            if "hold me" in texts:
                entered.set()
                release.wait(30)
            return original(texts, k)

        servable.predict = predict_holding_some
        threads = [post_in_thread(client, "/sentiment", {"text": "hold me"}, out)]
        assert entered.wait(10)
        threads.append(post_in_thread(client, "/sentiment", {"text": long_text}, out))
        wait_queued(client, "sentiment", 1)
        time.sleep(0.3)  # a second thread is free, yet the long text stays queued
        calls_while_held = list(calls)
        finish(SimpleNamespace(release=release), threads)
    assert calls_while_held == [["hold me"]]
    assert calls == [["hold me"], [long_text]]
    assert [r.status_code for _, r in out] == [200, 200]


def test_predict_sentiment_queue_full(serve: Callable, gate: Any) -> None:
    out: list = []
    with serve(queue_max_texts=2, max_batch_texts=2, model_calls_in_flight=1) as client:
        gate.hold(client.app.state.registry.get("sentiment").servable)
        threads = [post_in_thread(client, "/sentiment", {"text": "held"}, out)]
        assert gate.entered.wait(10)
        threads += [post_in_thread(client, "/sentiment", {"text": "queued"}, out) for _ in "ab"]
        wait_queued(client, "sentiment", 2)
        started = time.monotonic()
        response = client.post("/sentiment", json={"text": "one too many"})
        waited = time.monotonic() - started
        finish(gate, threads)
        metrics = client.get("/metrics").text
    assert response.status_code == 503
    assert response.json() == {"detail": "sentiment queue is full; retry later"}
    assert response.headers["retry-after"] == "1"
    assert waited < 1.0
    assert [r.status_code for _, r in out] == [200] * 3
    assert 'batch_rejected_total{model="sentiment",reason="queue_full"} 1.0' in metrics


def test_predict_sentiment_timeout(serve: Callable, gate: Any) -> None:
    with serve(request_timeout_seconds=0.3) as client:
        gate.hold(client.app.state.registry.get("sentiment").servable)
        response = client.post("/sentiment", json={"text": "never answered in time"})
        gate.release.set()
    assert response.status_code == 503
    assert "did not answer within 0.3 s" in response.json()["detail"]


def test_predict_sentiment_model_failure_isolated(serve: Callable) -> None:
    with serve() as client:
        servable = client.app.state.registry.get("sentiment").servable
        original = servable.predict

        def failing_predict(texts: list[str], k: int = 1) -> list:
            if any("poison" in text for text in texts):
                raise RuntimeError("graph exploded at /secret/path")
            return original(texts, k)

        servable.predict = failing_predict
        poisoned = client.post("/sentiment", json={"texts": ["fine", "poison pill"]})
        healthy = client.post("/sentiment", json={"texts": ["fine", "also fine"]})
    assert poisoned.status_code == 500
    assert poisoned.json() == {"detail": "The model failed on this request"}
    assert healthy.status_code == 200
