"""Token counts that are the tokenizer's: newlines and punctuation runs count, so no model call
of the batcher or the explainer pads past its cap."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.serving.servable import Servable
from service.serving.tokens import count_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("a great movie", 3),
        ("great\nfun\nsad", 3),
        ("!!!", 3),
        ("wait...what?!", 7),
        ("well-made, isn't it", 6),
        ("one<br /><br />two", 2),
        ("-lrb- sic -rrb-", 3),
        ("'quoted' words", 2),
        ("a_b c\td", 4),
        ("", 1),
        ("   \n\n  ", 1),
    ],
)
def test_count_tokens_as_the_graph_splits(text: str, tokens: int) -> None:
    assert count_tokens(text, 10_000) == tokens


def test_count_stops_at_the_cap() -> None:
    assert count_tokens("a\n" * 100_000, 300) == 300
    assert count_tokens("." * 100_000, 300) == 300


def record_calls(servable: Servable) -> list[list[str]]:
    """Every text list `servable.predict` is called with from now on."""
    calls: list[list[str]] = []
    original = servable.predict

    def recording(texts: list[str], k: int = 1) -> Any:
        calls.append(list(texts))
        return original(texts, k)

    servable.predict = recording  # type: ignore[method-assign]
    return calls


def padded(texts: list[str], cap: int) -> int:
    return len(texts) * max(count_tokens(t, cap) for t in texts)


TEXTS = ["great\n" * 150, "!" * 150, "fun,sad;" * 40, "a-b-c." * 30]


def test_batcher_calls_stay_under_the_word_cap(serve: Callable[..., Any]) -> None:
    with serve(batch_max_words=600) as client:
        servable = client.app.state.registry.get("sentiment").servable
        calls = record_calls(servable)
        texts = [text for text in TEXTS for _ in range(8)]
        response = client.post("/sentiment", json={"texts": texts})
    assert response.status_code == 200
    assert len(calls) > 1
    for call in calls:
        assert len(call) == 1 or padded(call, servable.token_cap) <= 600


def test_explainer_calls_stay_under_the_word_cap(serve: Callable[..., Any]) -> None:
    with serve(explain_call_words=400) as client:
        servable: Servable = client.app.state.registry.get("sentiment").servable
        calls = record_calls(servable)
        response = client.post("/sentiment", json={"text": "good!!!\n" * 40, "explain": True})
    assert response.status_code == 200
    for call in calls:
        assert len(call) == 1 or padded(call, servable.token_cap) <= 400


def test_space_free_text_answered(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "great\n" * 3000})
    assert response.status_code == 200
