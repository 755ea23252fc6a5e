"""POST /sentiment and POST /next-word on the trained models: answers and refusals."""

import pytest
from fastapi.testclient import TestClient

ODD_TEXTS = ["!!! ???", "😀🎬🍿", "zzqx qqzzx xxzq", "…", "a\u0000b", "<br /><br />"]


def test_predict_sentiment(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "a great movie"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"positive_probability", "label", "model_version"}
    assert 0.0 <= body["positive_probability"] <= 1.0
    assert body["label"] == ("positive" if body["positive_probability"] >= 0.5 else "negative")
    assert body["model_version"] == "1"


def test_predict_sentiment_separates_classes(client: TestClient) -> None:
    good = "wonderful excellent brilliant superb fantastic loved"
    bad = "awful terrible boring dull worst waste hated"
    response = client.post("/sentiment", json={"texts": [good, bad]})
    assert response.status_code == 200
    positive, negative = (r["positive_probability"] for r in response.json()["results"])
    assert positive > negative


def test_predict_sentiment_batch_matches_single(client: TestClient) -> None:
    texts = ["a great movie", "dull and boring " * 30, "the plot", *ODD_TEXTS, "loved it " * 300]
    response = client.post("/sentiment", json={"texts": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "1"
    assert len(body["results"]) == len(texts)
    for text, result in zip(texts, body["results"], strict=True):
        single = client.post("/sentiment", json={"text": text}).json()
        assert result["positive_probability"] == pytest.approx(
            single["positive_probability"], abs=1e-5
        )
        assert set(result) == {"positive_probability", "label"}


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_predict_sentiment_without_known_words(client: TestClient, text: str) -> None:
    response = client.post("/sentiment", json={"text": text})
    assert response.status_code == 200
    assert 0.0 <= response.json()["positive_probability"] <= 1.0


def test_predict_sentiment_largest_request(client: TestClient) -> None:
    texts = [("great plot " * 10_000)[:20_000]] * 64
    response = client.post("/sentiment", json={"texts": texts})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 64


def test_predict_next_word(client: TestClient) -> None:
    response = client.post("/next-word", json={"text": "the movie was"})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "1"
    assert len(body["predictions"]) == 5
    probabilities = [p["probability"] for p in body["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    words = [p["word"] for p in body["predictions"]]
    assert all(words) and len(set(words)) == len(words)
    assert "[UNK]" not in words


@pytest.mark.parametrize("top_k", [1, 3])
def test_predict_next_word_top_k(client: TestClient, top_k: int) -> None:
    response = client.post("/next-word", json={"text": "i love this", "top_k": top_k})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == top_k


def test_predict_next_word_largest_top_k(client: TestClient) -> None:
    response = client.post("/next-word", json={"text": "i love this", "top_k": 50})
    assert response.status_code == 200
    assert 5 <= len(response.json()["predictions"]) <= 50


def test_predict_next_word_top_k_prefix(client: TestClient) -> None:
    three = client.post("/next-word", json={"text": "the plot", "top_k": 3}).json()
    ten = client.post("/next-word", json={"text": "the plot", "top_k": 10}).json()
    assert [p["word"] for p in three["predictions"]] == [p["word"] for p in ten["predictions"][:3]]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_predict_next_word_without_known_words(client: TestClient, text: str) -> None:
    response = client.post("/next-word", json={"text": text, "top_k": 2, "complete": False})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 2


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_predict_next_word_without_known_words_completes_or_predicts(
    client: TestClient, text: str
) -> None:
    body = client.post("/next-word", json={"text": text, "top_k": 2}).json()
    fragment = body["completing"]
    if fragment is None:
        assert len(body["predictions"]) == 2
    else:
        assert text.endswith(fragment)
        assert all(p["word"].startswith(fragment.lower()) for p in body["predictions"])


def test_predict_sentiment_not_ready(empty_client: TestClient) -> None:
    response = empty_client.post("/sentiment", json={"text": "a great movie"})
    assert response.status_code == 503
    assert "not loaded" in response.json()["detail"]
    assert response.headers["retry-after"]


def test_predict_next_word_not_ready(empty_client: TestClient) -> None:
    response = empty_client.post("/next-word", json={"text": "a great movie"})
    assert response.status_code == 503
    assert "not loaded" in response.json()["detail"]
