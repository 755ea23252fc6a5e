"""The n-gram member of the sentiment model, and how members are blended and calibrated."""

import math
import random
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from training.ngram_model import NgramLogits, NgramModel, fit_ngram_model, ngram_texts
from training.train import blend_logits, fit_blend, fit_temperature


@pytest.fixture(scope="module")
def fitted() -> NgramModel:
    rng = random.Random(1)
    filler = "the movie film plot was and a it this i of to is with".split()
    cues = {
        1: "great wonderful loved brilliant superb".split(),
        0: "awful terrible boring dull waste".split(),
    }
    labels = np.array([i % 2 for i in range(200)])
    texts = [" ".join(rng.choices(filler, k=12) + rng.choices(cues[y], k=3)) for y in labels]
    return fit_ngram_model(texts, labels, max_ngrams=300)


def reference_logit(model: NgramModel, text: str) -> float:
    """The TF-IDF logit computed by hand, as scikit-learn defines it."""
    words = ngram_texts([text])[0].split()
    grams = Counter(
        " ".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)
    )
    column = {gram: i for i, gram in enumerate(model.vocabulary)}
    features = {
        column[g]: (1 + math.log(n)) * model.idf[column[g]] for g, n in grams.items() if g in column
    }
    norm = math.sqrt(sum(v * v for v in features.values())) or 1.0
    return sum(model.weights[j] * v for j, v in features.items()) / norm + model.bias


def test_served_logits_match_the_fitted_model(fitted: NgramModel) -> None:
    texts = [
        "A GREAT film, wonderful!<br />Loved it. Great great.",
        "the plot was awful and boring",
        "zebra quantum",  # no known n-gram: the bias alone
        "",
        "good \xff film",
    ]
    served = NgramLogits(fitted)(tf.constant(texts)).numpy()
    expected = [reference_logit(fitted, text) for text in texts]
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-4)
    assert served[2] == pytest.approx(fitted.bias)


def test_words_in_a_negation_scope_are_read_apart() -> None:
    texts = [
        "The movie was NOT great, but I loved it.",
        "I didn't think the plot was good. Great acting!",
        "never",
        "",
        "no, really: good",
    ]
    assert ngram_texts(texts) == [
        "the movie was not not_great , but i loved it .",
        "i didn't not_think not_the not_plot not_was not_good . great acting !",
        "never",
        "",
        "no , really : good",
    ]
    unmarked = ngram_texts(texts[:1], negation_scope=False)[0]
    assert unmarked.split() == "the movie was not great , but i loved it .".split()


def test_the_model_learns_what_a_negated_word_means() -> None:
    rng = random.Random(2)
    filler = "the movie plot was and it this i of".split()
    labels = np.array([i % 2 for i in range(400)])
    # Positive reviews praise; negative ones deny the same praise.
    texts = [
        " ".join(rng.choices(filler, k=8) + ([] if y else ["not"]) + ["great", "."]) for y in labels
    ]
    model = fit_ngram_model(texts, labels, max_ngrams=300)
    logits = NgramLogits(model)(tf.constant(["it was great .", "it was not great ."])).numpy()
    assert logits[0] > 0 > logits[1]
    assert any(gram.startswith("not_") for gram in model.vocabulary)


def test_the_model_learns_the_cues(fitted: NgramModel) -> None:
    logits = NgramLogits(fitted)(tf.constant(["brilliant superb", "terrible waste"])).numpy()
    assert logits[0] > 0 > logits[1]


def test_a_lone_member_is_plain_temperature_scaling() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    logits = (2 * labels - 1) * 3.0 + rng.normal(0, 3, 500)
    weights = fit_blend({"lstm": logits}, labels)
    assert weights["lstm"] == pytest.approx(1 / fit_temperature(logits, labels), rel=1e-2)


def test_members_vote_on_one_scale_and_the_blend_is_calibrated() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 4000)
    signal = (2 * labels - 1) * 1.5
    members = {
        "lstm": signal + rng.normal(0, 1, 4000),
        "ngram": 10 * (signal + rng.normal(0, 1, 4000)),  # as good, on a scale 10x larger
    }
    weights = fit_blend(members, labels)
    assert weights["lstm"] == pytest.approx(10 * weights["ngram"], rel=0.1)
    blended = blend_logits(members, weights)
    assert fit_temperature(blended, labels) == pytest.approx(1.0, abs=0.02)
