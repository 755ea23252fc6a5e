"""The tokenizer's standardization: what a raw text becomes before it is split into words."""

import pytest
import tensorflow as tf

from training.text import standardize


def standardized(text: str | bytes) -> str:
    return standardize(tf.constant([text])).numpy()[0].decode()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A GREAT Film!<br /><br />Loved it.", "a great film ! loved it ."),
        ("Don't miss the film's end", "don't miss the film's end"),
        ("the 'best' film, (really) - \"ok\"", 'the best film , ( really ) - " ok "'),
        ("5/10 #meh @home", "5 10 meh home"),
    ],
)
def test_words_and_sentiment_punctuation_become_tokens(raw: str, expected: str) -> None:
    assert standardized(raw).split() == expected.split()


@pytest.mark.parametrize(
    ("tokenized", "written"),
    [
        ("the movie does n't work .", "the movie doesn't work ."),
        ("i ca n't say it wo n't sell", "i can't say it won't sell"),
        ("it 's good , they 're fine , we 've seen , i 'd , you 'll , i 'm", None),
        ("-lrb- city -rrb- reminds us", "( city ) reminds us"),
    ],
)
def test_penn_treebank_tokens_read_as_written_text(tokenized: str, written: str | None) -> None:
    # Texts tokenized for a treebank must reach the model with the words of ordinary text.
    written = written or "it's good , they're fine , we've seen , i'd , you'll , i'm"
    assert standardized(tokenized).split() == standardized(written).split()


def test_invalid_utf8_is_replaced_not_refused() -> None:
    assert standardized(b"good \xff film").split() == ["good", "film"]
