"""The typist's keyboards on the session's tiny model: the exported model asked as the service
asks it (same rule, same answers), and the trigram member alone as the export stores it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from service.monitoring.metrics import Metrics
from service.serving.batching import Batcher
from service.serving.completion import context_of, split_fragment, suggest
from service.serving.servable import load_servable
from service.serving.store import complete_versions
from service.settings import Settings
from training.keyboards import ModelKeyboard, TrigramKeyboard, Vocabulary, question
from training.keyboards import vocabulary_tokenizer as tokenizer
from training.keystrokes import Answer
from training.trigram_model import ARRAYS, trigram_from_arrays, trigram_probabilities

TEXTS = ["", "   ", "T", "th", "the", "The movie w", "the movie was", "i loved this mov"]
TEXTS += ["the movie xqzv", "it's", "'the", "the end!", "the end! ", "@@@", "the (w"]
TEXTS += ["the movie was g", "i love this m", "a"]


@pytest.fixture(scope="module")
def version(model_dir: Path) -> Path:
    return complete_versions(model_dir, "next_word")[0].path


@pytest.fixture(scope="module")
def tokens(version: Path) -> list[str]:
    return (version / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]


def served_answers(model_dir: Path, texts: list[str]) -> list[Answer]:
    """What POST /next-word answers (top_k 3, no `complete`), by the service's own code."""
    found = complete_versions(model_dir, "next_word")[0]
    servable = load_servable(found, 50)

    async def ask() -> list[Answer]:
        batcher = Batcher(servable, Settings(model_dir=model_dir, drift_metrics=False), Metrics())
        batcher.start()
        try:
            answers = await asyncio.gather(*(suggest(batcher, t, 3) for t in texts))
        finally:
            await batcher.close()
        return [Answer([w for w, _ in a.words], a.completing) for a in answers]

    return asyncio.run(ask())


def test_question_is_the_services_rule(tokens: list[str], model_dir: Path) -> None:
    servable = load_servable(complete_versions(model_dir, "next_word")[0], 50)
    vocabulary = Vocabulary(tokens)
    assert vocabulary.words == list(servable.words.sorted_words)  # type: ignore[union-attr]
    for text in TEXTS:
        typed, fragment = split_fragment(text, None)
        assert question(text) == (context_of(typed), fragment), text


def test_model_keyboard_answers_as_the_service(version: Path, tokens: list[str]) -> None:
    expected = served_answers(version.parent.parent, TEXTS)
    keyboard = ModelKeyboard(tf.saved_model.load(str(version)), Vocabulary(tokens))
    assert keyboard(TEXTS) == expected


def test_trigram_keyboard_ranks_by_the_served_trigram(version: Path, tokens: list[str]) -> None:
    module = tf.saved_model.load(str(version))
    scope = "trigram_probabilities/"
    arrays = {
        v.name.removeprefix(scope).split(":")[0]: v.numpy()
        for v in module.signatures["serving_default"].variables
        if v.name.startswith(scope)
    }
    assert set(arrays) == set(ARRAYS)
    trigram = trigram_from_arrays(arrays)
    keyboard = TrigramKeyboard(trigram, tokens, tokenizer(tokens))
    vocabulary = Vocabulary(tokens)
    for text, answer in zip(TEXTS, keyboard(TEXTS), strict=True):
        context, fragment = question(text)
        if fragment is not None and answer.completing is None:  # a finished word: what follows
            assert vocabulary.is_word(fragment)
            context, fragment = (text if text.strip() else "."), None
        assert answer.completing == fragment
        assert all(w.startswith((fragment or "").lower()) for w in answer.words)
        [ids] = tokenizer(tokens)([context])
        ids = ids if len(ids) else np.array([1])
        u = np.array([ids[-2] if len(ids) > 1 else trigram.vocab_size])
        [row] = trigram_probabilities(trigram, u, ids[-1:])
        scores = [row[tokens.index(w)] for w in answer.words]
        assert scores == sorted(scores, reverse=True)
        candidates = vocabulary.starting(fragment or "")
        if fragment:  # a completion never offers the fragment itself
            assert fragment.lower() not in answer.words
            candidates = candidates[[tokens[c] != fragment.lower() for c in candidates]]
        if len(candidates) >= 3:
            assert len(answer.words) == 3 and min(scores) >= np.sort(row[candidates])[-3] - 1e-12


def test_tokenizer_matches_the_graphs(version: Path, tokens: list[str]) -> None:
    texts = ["The movie's END!!", "unknownword the", ""]
    module = tf.saved_model.load(str(version))
    out = module.signatures["serving_default"](texts=tf.constant(texts), k=tf.constant(1))
    counts = out["token_count"].numpy().tolist()
    assert [len(ids) for ids in tokenizer(tokens)(texts)] == counts
