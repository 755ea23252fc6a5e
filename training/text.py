"""The tokenizer: one Keras `TextVectorization` vocabulary shared by both models.

Standardization is explicit and lives in the TensorFlow graph, so the exported models apply the
very same rules to raw strings at serving time:
- lower-case (Unicode-aware), HTML line breaks `<br />` removed;
- text tokenized the Penn Treebank way, as many sentiment corpora ship it ("it 's", "does n't",
  "-lrb- sic -rrb-"), is put back the way people write it ("it's", "doesn't", "( sic )");
- the punctuation that carries sentiment or sentence structure (`!?.,;:()"-`) becomes tokens of
  its own; apostrophes stay inside words (don't, movie's); every other symbol is dropped.
Id 0 is padding and id 1 the out-of-vocabulary token `[UNK]`; neither is ever predicted.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

PAD_ID, OOV_ID = 0, 1
# The tokens `standardize` splits off as punctuation: everything else it keeps is a word.
PUNCTUATION = tuple('!?.,;:()"-')


@keras.saving.register_keras_serializable(package="imdb")
def standardize(texts: tf.Tensor) -> tf.Tensor:
    # Replace invalid UTF-8 instead of failing: a model must answer for any bytes it is given.
    texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace")
    texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    # Without this, "does n't" would read as "does [UNK]": the negation lost, in the very texts
    # where it decides the answer (about 3 points of accuracy lost on such sentences).
    texts = tf.strings.regex_replace(texts, r"(\pL) +(n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1\2")
    texts = tf.strings.regex_replace(texts, r"-l[rsc]b-", " ( ")
    texts = tf.strings.regex_replace(texts, r"-r[rsc]b-", " ) ")
    texts = tf.strings.regex_replace(texts, r"([!?.,;:()\"-])", r" \1 ")
    texts = tf.strings.regex_replace(texts, r"[^\p{L}\p{N}'!?.,;:()\"\-]+", " ")
    # An apostrophe that does not sit between two letters is a quote mark, not part of a word.
    texts = tf.strings.regex_replace(texts, r"(^|\s)'+|'+(\s|$)", " ")
    return texts


def standardized(texts: list[str]) -> list[str]:
    """`texts` as the tokenizer sees them: standardized, words and punctuation split by spaces."""
    found: list[str] = []
    for start in range(0, len(texts), 2048):
        batch = standardize(tf.constant(texts[start : start + 2048], tf.string))
        found.extend(text.decode("utf-8") for text in batch.numpy())
    return found


def build_vectorizer(texts: list[str], vocab_size: int) -> keras.layers.TextVectorization:
    """Fit the vocabulary on `texts`; the vectorizer maps strings to ragged token ids."""
    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=standardize,
        split="whitespace",
        output_mode="int",
        ragged=True,
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(1024))
    return vectorizer


def encode(vectorizer: keras.layers.TextVectorization, texts: list[str]) -> list[np.ndarray]:
    """Token ids of each text, as int32 arrays of varying length."""
    ids: list[np.ndarray] = []
    for batch in tf.data.Dataset.from_tensor_slices(texts).batch(2048):
        ragged = vectorizer(batch)
        values, splits = ragged.values.numpy(), ragged.row_splits.numpy()
        bounds = zip(splits[:-1], splits[1:], strict=True)
        ids.extend(values[a:b].astype(np.int32) for a, b in bounds)
    return ids


def punctuation_ids(vocabulary: list[str]) -> np.ndarray:
    """The ids of the punctuation tokens of a vocabulary."""
    return np.array([i for i, token in enumerate(vocabulary) if token in PUNCTUATION], np.int32)


def id_mask(ids: np.ndarray, size: int) -> np.ndarray:
    """(size,) float32: 1 at `ids`, 0 elsewhere."""
    mask = np.zeros(size, np.float32)
    mask[ids] = 1.0
    return mask


def without_punctuation(docs: list[np.ndarray], punctuation: np.ndarray) -> list[np.ndarray]:
    """Each document as people type it when they leave punctuation out: its words alone."""
    return [doc[~np.isin(doc, punctuation)] for doc in docs]


def save_vocabulary(vectorizer: keras.layers.TextVectorization, path: Path) -> None:
    """One token per line, line n holding id n (line 0 is the empty padding token)."""
    path.write_text("\n".join(vectorizer.get_vocabulary()) + "\n", encoding="utf-8")


# --- token ops shared by training and the exported graphs --------------------------------------


def keep_head_and_tail(ids: tf.RaggedTensor, head: int, tail: int) -> tf.RaggedTensor:
    """The first `head` and last `tail` tokens of each row (a review's opening and its verdict)."""
    lengths = ids.row_lengths()
    positions = tf.ragged.range(lengths)
    keep = (positions < head) | (positions >= tf.expand_dims(lengths - tail, 1))
    return tf.ragged.boolean_mask(ids, keep)


def keep_last(ids: tf.RaggedTensor, count: int) -> tf.RaggedTensor:
    """The last `count` tokens of each row."""
    lengths = ids.row_lengths()
    keep = tf.ragged.range(lengths) >= tf.expand_dims(lengths - count, 1)
    return tf.ragged.boolean_mask(ids, keep)


def ensure_nonempty(ids: tf.RaggedTensor) -> tf.RaggedTensor:
    """A text with no known characters becomes one out-of-vocabulary token, never an empty row."""
    empty = tf.cast(tf.equal(ids.row_lengths(), 0), tf.int64)
    filler = tf.ragged.range(empty) * 0 + tf.cast(OOV_ID, ids.dtype)
    return tf.concat([tf.cast(filler, ids.dtype), ids], axis=1)


def reverse_rows(ids: tf.RaggedTensor) -> tf.RaggedTensor:
    """Each row's tokens from last to first (what the backward models read)."""
    # Reversing the row order and then the flat values puts every row back in place, reversed.
    flipped = tf.gather(ids, tf.range(ids.nrows() - 1, -1, -1))
    return tf.RaggedTensor.from_row_splits(tf.reverse(flipped.values, [0]), ids.row_splits)
