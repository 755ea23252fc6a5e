"""POST /sentiment with "explain": shapes, offsets, batches, limits and overload."""

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from service.serving.servable import Servable


def test_explain_sentiment(client: TestClient) -> None:
    text = "A great movie, wonderful acting!"
    response = client.post("/sentiment", json={"text": text, "explain": True})
    assert response.status_code == 200
    body = response.json()
    plain = client.post("/sentiment", json={"text": text}).json()
    assert body["positive_probability"] == plain["positive_probability"]
    assert body["label"] == plain["label"]
    assert body["model_version"] == plain["model_version"]
    explanation = body["explanation"]
    assert (explanation["method"], explanation["unit"], explanation["span_words"]) == (
        "occlusion",
        "word",
        1,
    )
    words = explanation["words"]
    assert [w["word"] for w in words] == ["A", "great", "movie", ",", "wonderful", "acting", "!"]
    for w in words:
        assert text[w["start"] : w["end"]] == w["word"]
        assert -1 <= w["weight"] <= 1


def test_explain_sentiment_weight_is_probability_without_the_word(client: TestClient) -> None:
    text = "the plot was dull and the acting awful"
    body = client.post("/sentiment", json={"text": text, "explain": True}).json()
    p = body["positive_probability"]
    for w in body["explanation"]["words"]:
        masked = text[: w["start"]] + " " + text[w["end"] :]
        q = client.post("/sentiment", json={"text": masked}).json()["positive_probability"]
        assert abs(w["weight"] - (p - q)) < 2e-6


def test_explain_sentiment_batch(client: TestClient) -> None:
    texts = ["a great movie", "dull", "!!! ?? 😀🎬"]
    response = client.post("/sentiment", json={"texts": texts, "explain": True})
    assert response.status_code == 200
    body = response.json()
    plain = client.post("/sentiment", json={"texts": texts}).json()
    assert len(body["results"]) == 3
    for text, result, expected in zip(texts, body["results"], plain["results"], strict=True):
        assert result["positive_probability"] == expected["positive_probability"]
        assert [text[w["start"] : w["end"]] for w in result["explanation"]["words"]] == [
            w["word"] for w in result["explanation"]["words"]
        ]
    assert [w["word"] for w in body["results"][2]["explanation"]["words"]] == ["!!!", "??"]


def test_explain_sentiment_no_word_the_model_reads(client: TestClient) -> None:
    body = client.post("/sentiment", json={"text": "😀 $ <br />", "explain": True}).json()
    assert body["explanation"]["words"] == []


def test_explain_sentiment_long_text_in_spans(serve: Callable) -> None:
    text = " ".join(f"word{i}" for i in range(50)) + " a great movie"
    with serve(explain_max_units=8) as client:
        body = client.post("/sentiment", json={"text": text, "explain": True}).json()
    explanation = body["explanation"]
    assert (explanation["unit"], explanation["span_words"]) == ("span", 7)
    assert len(explanation["words"]) == 8
    assert explanation["words"][0]["start"] == 0 and explanation["words"][-1]["end"] == len(text)
    for w in explanation["words"]:
        assert text[w["start"] : w["end"]] == w["word"]


def test_plain_sentiment_has_no_explanation(client: TestClient) -> None:
    assert "explanation" not in client.post("/sentiment", json={"text": "fun"}).json()
    body = client.post("/sentiment", json={"text": "fun", "explain": False}).json()
    assert "explanation" not in body


def hold_explanations(servable: Servable, entered: threading.Event, release: threading.Event):
    """Make the servable's calls from explanation threads wait for `release`."""
    original = servable.predict

    def predict(texts: list[str], k: int = 1) -> list:
        if threading.current_thread().name.startswith("explain"):
            entered.set()
            release.wait(30)
        return original(texts, k)

    servable.predict = predict  # type: ignore[method-assign]


def test_explain_sentiment_overload(serve: Callable) -> None:
    entered, release = threading.Event(), threading.Event()
    out: list[Any] = []
    with serve(explain_concurrency=1, explain_queue_max=1) as client:
        hold_explanations(client.app.state.registry.get("sentiment").servable, entered, release)
        body = {"text": "a great movie", "explain": True}
        threads = [
            threading.Thread(target=lambda: out.append(client.post("/sentiment", json=body)))
        ]
        threads[0].start()
        assert entered.wait(10)
        threads.append(
            threading.Thread(target=lambda: out.append(client.post("/sentiment", json=body)))
        )
        threads[1].start()
        time.sleep(0.3)  # the second one now waits for the slot
        refused = client.post("/sentiment", json=body)
        # Plain predictions do not wait for explanations.
        started = time.monotonic()
        plain = client.post("/sentiment", json={"text": "a great movie"})
        waited = time.monotonic() - started
        release.set()
        for thread in threads:
            thread.join(30)
        metrics = client.get("/metrics").text
    assert refused.status_code == 503
    assert refused.json() == {"detail": "too many explanations in progress; retry later"}
    assert refused.headers["retry-after"] == "1"
    assert plain.status_code == 200 and waited < 5
    assert [r.status_code for r in out] == [200, 200]
    assert 'batch_rejected_total{model="sentiment",reason="explain_queue_full"} 1.0' in metrics
    assert "explanation_seconds_count 2.0" in metrics


def test_explain_sentiment_timeout(serve: Callable) -> None:
    entered, release = threading.Event(), threading.Event()
    with serve(request_timeout_seconds=0.5) as client:
        hold_explanations(client.app.state.registry.get("sentiment").servable, entered, release)
        response = client.post("/sentiment", json={"text": "slow", "explain": True})
        release.set()
    assert response.status_code == 503
    assert "explanation not done within 0.5 s" in response.json()["detail"]
