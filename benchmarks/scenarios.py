"""The request mixes a benchmark runs: what is posted, where, and by how many connections."""

import json
import random
from dataclasses import dataclass

# Ten-word texts, as a user types them into a search box or a chat.
SHORT_TEXTS = [
    "a great movie with a plot that kept me watching",
    "the acting was wooden and the story made no sense",
    "i loved every minute of this film and its music",
    "one of the worst films i have seen this year",
    "a slow start but the ending was worth the wait",
    "the director wasted a fine cast on a dull script",
    "funny and touching and beautifully shot a real family treat",
    "i fell asleep halfway through and did not miss much",
]

# Sentences of review prose; reviews are drawn from them to about 230 words, the median IMDB review.
REVIEW_SENTENCES = [
    "I went into this film expecting very little and came out surprised.",
    "The first half hour drags, with long scenes that add nothing to the story.",
    "Once the plot gets going, though, the pace never lets up.",
    "The lead gives a performance that is both funny and deeply sad.",
    "Some of the supporting actors seem to be in a different movie altogether.",
    "The music is used well, never telling you what to feel.",
    "Several scenes are shot in a single take, and the camera work is superb.",
    "The dialogue is sharp when it needs to be and quiet when it should be.",
    "I have seen this director's earlier films and this is by far the best of them.",
    "The ending will divide audiences, but I thought it was earned.",
    "My only complaint is a subplot about the brother that goes nowhere.",
    "It is too long by twenty minutes and the editing could have been tighter.",
    "Still, the characters stayed with me for days after I saw it.",
    "If you liked the book you will find a lot to enjoy here.",
    "The special effects look cheap today, but they hardly matter.",
    "This is not a perfect movie, yet it is one I will watch again.",
]
REVIEW_WORDS = 230


@dataclass(frozen=True)
class Scenario:
    """Requests rotated over `bodies`, posted to `path` by `connections` at once (a GET when there
    are no bodies)."""

    name: str
    title: str
    path: str
    bodies: tuple[str, ...]
    connections: int
    model: str | None  # the model the requests reach: its batching figures in /metrics


def make_review(rng: random.Random, words: int = REVIEW_WORDS) -> str:
    """Sentences drawn at random until the text holds `words` words, cut there."""
    out: list[str] = []
    while len(out) < words:
        out.extend(rng.choice(REVIEW_SENTENCES).split())
    return " ".join(out[:words])


def body(**fields: object) -> str:
    return json.dumps(fields)


def all_scenarios() -> dict[str, Scenario]:
    """Every scenario by name, in the order they run."""
    rng = random.Random(0)
    short = tuple(body(text=t) for t in SHORT_TEXTS)
    reviews = tuple(body(text=make_review(rng)) for _ in range(8))
    next_word = tuple(body(text=t, top_k=5) for t in SHORT_TEXTS)
    scenarios = [
        Scenario("short-1", "short text, 1 conn", "/sentiment", short, 1, "sentiment"),
        Scenario("short-64", "short text, 64 conns", "/sentiment", short, 64, "sentiment"),
        Scenario("review-16", "review text, 16 conns", "/sentiment", reviews, 16, "sentiment"),
        Scenario("next-word-16", "next word, 16 conns", "/next-word", next_word, 16, "next_word"),
        # No model at all: the most requests/s the HTTP stack of each server can answer.
        Scenario("health-64", "GET /health, 64 conns", "/health", (), 64, None),
    ]
    return {s.name: s for s in scenarios}
