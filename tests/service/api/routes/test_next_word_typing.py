"""POST /next-word as a keyboard uses it: completing the word being typed, the first words of an
empty text, `min_probability`, phrases; and the same through the Open Inference Protocol."""

import json

import pytest
from fastapi.testclient import TestClient

# Words of the tiny test corpus (tests/conftest.py) and fragments of them.
FRAGMENTS = ["w", "W", "mo", "MOV", "b", "th", "wonderf"]


def next_word(client: TestClient, **body: object) -> dict:
    response = client.post("/next-word", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_completions_start_with_the_fragment(client: TestClient, fragment: str) -> None:
    body = next_word(client, text=f"i loved this {fragment}", top_k=10)
    assert body["completing"] == fragment
    words = [p["word"] for p in body["predictions"]]
    assert words, "every fragment here begins a word of the corpus"
    assert all(word.startswith(fragment.lower()) for word in words)
    probabilities = [p["probability"] for p in body["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_completions_rank_as_the_next_word_does(client: TestClient) -> None:
    """A completion is the next-word ranking of the context, cut to the fragment's words."""
    ranked = next_word(client, text="the movie ", top_k=50)["predictions"]
    completed = next_word(client, text="the movie w", top_k=50)["predictions"]
    expected = [p for p in ranked if p["word"].startswith("w")]
    assert [p["word"] for p in completed] == [p["word"] for p in expected][: len(completed)]
    for got, want in zip(completed, expected, strict=False):
        assert got["probability"] == pytest.approx(want["probability"], abs=2e-6)


def test_contract_examples(client: TestClient) -> None:
    after = next_word(client, text="i love this")
    assert after["completing"] is None and len(after["predictions"]) == 5
    typing = next_word(client, text="i loved this mov")
    assert typing["completing"] == "mov"
    assert typing["predictions"] and all(p["word"].startswith("mov") for p in typing["predictions"])


def test_fragment_no_word_extends_gets_nothing(client: TestClient) -> None:
    body = next_word(client, text="the movie xqzv")
    assert body == {**body, "predictions": [], "completing": "xqzv"}


def test_whole_word_predicts_the_next_unless_asked_to_complete(client: TestClient) -> None:
    auto = next_word(client, text="the movie was")
    assert auto["completing"] is None and len(auto["predictions"]) == 5
    assert auto == next_word(client, text="the movie was ")
    forced = next_word(client, text="the movie was", complete=True)
    assert forced["completing"] == "was"
    words = [p["word"] for p in forced["predictions"]]
    assert words and "was" not in words  # tapping the fragment itself would only add a space
    assert all(w.startswith("was") for w in words)


def test_complete_false_predicts_after_the_fragment(client: TestClient) -> None:
    body = next_word(client, text="the movie w", complete=False, top_k=3)
    assert body["completing"] is None and len(body["predictions"]) == 3
    after_space = next_word(client, text="the movie ", complete=True, top_k=3)
    assert after_space["completing"] == ""
    assert (
        after_space["predictions"] == next_word(client, text="the movie ", top_k=3)["predictions"]
    )


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_gets_first_words(client: TestClient, text: str) -> None:
    body = next_word(client, text=text, top_k=3)
    assert len(body["predictions"]) == 3 and body["completing"] is None
    assert body["predictions"] == next_word(client, text="", top_k=3)["predictions"]


def test_empty_text_completes_its_first_word(client: TestClient) -> None:
    body = next_word(client, text="th")
    assert body["completing"] == "th"
    assert body["predictions"] and all(p["word"].startswith("th") for p in body["predictions"])


def test_min_probability_gives_fewer_or_none(client: TestClient) -> None:
    every = next_word(client, text="the movie ", top_k=10)["predictions"]
    cut = every[3]["probability"] - 1e-6  # below its rounded figure: its own probability passes
    fewer = next_word(client, text="the movie ", top_k=10, min_probability=cut)["predictions"]
    assert fewer == [p for p in every if p["probability"] >= cut]
    assert 0 < len(fewer) < len(every)
    assert next_word(client, text="the movie ", min_probability=1.0)["predictions"] == []
    none = next_word(client, text="the movie w", min_probability=1.0, phrase_words=2)
    assert none["predictions"] == [] and none["phrases"] == []


def test_one_word_phrases_are_the_predictions(client: TestClient) -> None:
    body = next_word(client, text="i loved this ", top_k=3, phrase_words=1)
    words = [([p["word"]], p["probability"]) for p in body["predictions"]]
    assert [(p["words"], p["probability"]) for p in body["phrases"]] == words


@pytest.mark.parametrize("text", ["i loved this ", "the movie w", "", "th"])
def test_phrase_probability_is_the_product_of_next_words(client: TestClient, text: str) -> None:
    body = next_word(client, text=text, top_k=3, phrase_words=2)
    assert body["phrases"]
    first = {
        p["word"]: p["probability"] for p in next_word(client, text=text, top_k=50)["predictions"]
    }
    context = text[: len(text) - len(body["completing"] or "")]
    for phrase in body["phrases"]:
        one, two = phrase["words"]
        assert phrase["text"] == f"{one} {two}"
        after = next_word(client, text=f"{context}{one} ", top_k=50)["predictions"]
        second = {p["word"]: p["probability"] for p in after}
        assert phrase["probability"] == pytest.approx(first[one] * second[two], rel=1e-3, abs=1e-6)
        if body["completing"]:
            assert one.startswith(body["completing"])
    probabilities = [p["probability"] for p in body["phrases"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_three_word_phrases(client: TestClient) -> None:
    body = next_word(client, text="the movie ", top_k=2, phrase_words=3)
    assert len(body["phrases"]) == 2
    assert all(len(p["words"]) == 3 for p in body["phrases"])


@pytest.mark.parametrize(
    "extra",
    [
        {"complete": "yes"},
        {"complete": 1},
        {"phrase_words": 0},
        {"phrase_words": 4},
        {"min_probability": -0.1},
        {"min_probability": 2},
        {"min_probability": "high"},
    ],
)
def test_bad_typing_fields_refused(client: TestClient, extra: dict) -> None:
    response = client.post("/next-word", json={"text": "the movie w", **extra})
    assert response.status_code == 422
    assert response.json()["detail"]


def infer_next_word(client: TestClient, texts: list[str], **parameters: object) -> dict:
    tensor = {"name": "texts", "shape": [len(texts)], "datatype": "BYTES", "data": texts}
    content = json.dumps({"inputs": [tensor], "parameters": parameters})
    response = client.post("/v2/models/next_word/infer", content=content)
    assert response.status_code == 200, response.text
    return {o["name"]: o for o in response.json()["outputs"]}


def test_open_inference_completes_as_next_word_does(client: TestClient) -> None:
    texts = ["i loved this mov", "the movie was", "", "the movie xqzv", "the movie w"]
    for complete in (None, True, False):
        outputs = infer_next_word(client, texts, top_k=3, complete=complete, phrase_words=2)
        m = outputs["words"]["shape"][1]
        for i, text in enumerate(texts):
            native = next_word(client, text=text, top_k=3, complete=complete, phrase_words=2)
            row = outputs["words"]["data"][i * m : (i + 1) * m]
            probabilities = outputs["probabilities"]["data"][i * m : (i + 1) * m]
            found = [(w, p) for w, p in zip(row, probabilities, strict=True) if w]
            assert found == [(p["word"], p["probability"]) for p in native["predictions"]]
            assert outputs["completing"]["data"][i] == (native["completing"] or "")
            width = outputs["phrases"]["shape"][1]
            phrases = outputs["phrases"]["data"][i * width : (i + 1) * width]
            assert [p for p in phrases if p] == [p["text"] for p in native["phrases"]]


def test_open_inference_min_probability(client: TestClient) -> None:
    outputs = infer_next_word(client, ["the movie "], top_k=5, min_probability=1.0)
    assert outputs["words"]["shape"] == [1, 0] and outputs["words"]["data"] == []
    assert "phrases" not in outputs
