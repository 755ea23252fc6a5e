"""The next-word model's second member: an interpolated Kneser-Ney trigram model, mixed into the
LSTM's prediction.

Why counts beside the LSTM: the language model has read its corpus about once and generalises
across similar words; the trigram remembers every phrase it has seen ("waste of time", "the rest
of the cast") exactly. Mixed, they make far better guesses than either (measured in the `full`
run; see docs/results.md).

N-grams are int64 keys counted with `np.unique`; the trigram and bigram levels are sparse rows per
context, the unigram level a dense vector. No Python loop ever runs over tokens: 18M training
tokens are counted in seconds. `trigram_probabilities` scores histories with NumPy (the baseline's
evaluation); `TrigramProbabilities` is the same computation in TensorFlow ops, served inside the
next-word SavedModel.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from scipy import sparse

DISCOUNT = 0.75  # absolute discount of every level, the usual value for Kneser-Ney
# The arrays `TrigramProbabilities` keeps as weights (under these names in an export too).
ARRAYS = (
    "contexts",
    "trigram_splits",
    "trigram_words",
    "trigram_values",
    "trigram_backoff",
    "bigram_splits",
    "bigram_words",
    "bigram_values",
    "bigram_backoff",
    "unigram",
)


@dataclass
class KneserNeyTrigram:
    """P(w | u v) = A3[uv, w] + b3[uv] * (A2[v, w] + b2[v] * P1[w]), each level discounted by D.

    A3, A2 hold the discounted (continuation) counts of seen n-grams, normalised by their
    context's total; b3, b2 the mass the discount freed (1 for unseen contexts). The begin-of-
    document marker `vocab_size` can be a history word (u or v) but is never predicted.
    """

    vocab_size: int
    contexts: np.ndarray  # (C,) sorted int64 keys u * (V + 1) + v of the seen trigram contexts
    trigram_rows: sparse.csr_matrix  # (C, V) A3
    trigram_backoff: np.ndarray  # (C,) b3
    bigram_rows: sparse.csr_matrix  # (V + 1, V) A2 from continuation counts N1+(. v w)
    bigram_backoff: np.ndarray  # (V + 1,) b2
    unigram: np.ndarray  # (V,) P1 from N1+(. w), interpolated with a uniform floor
    discount: float = DISCOUNT


def padded_stream(documents: list[np.ndarray], bos: int) -> np.ndarray:
    """All documents in one int64 stream, each preceded by the begin-of-document marker."""
    lengths = np.array([len(doc) for doc in documents], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    stream = np.full(int(lengths.sum()) + len(documents), bos, dtype=np.int64)
    is_token = np.ones(len(stream), dtype=bool)
    is_token[starts] = False
    if len(documents):
        stream[is_token] = np.concatenate(documents)
    return stream


def document_trigrams(stream: np.ndarray, bos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, w) at every position w whose two predecessors lie in its document; u may be BOS."""
    u, v, w = stream[:-2], stream[1:-1], stream[2:]
    inside = (v != bos) & (w != bos)  # BOS only starts a document, so u == BOS is the only case
    return u[inside], v[inside], w[inside]


def fit_kneser_ney(
    documents: list[np.ndarray],
    vocab_size: int,
    discount: float = DISCOUNT,
    zero_mass: tuple[int, ...] = (),
) -> KneserNeyTrigram:
    """Count trigrams within documents and build the three interpolated levels.

    `zero_mass` ids are left out of the unigram's uniform floor (they should never occur; if
    they do, kneser_ney_trigram renormalises their mass away)."""
    size, bos = vocab_size, vocab_size
    stream = padded_stream(documents, bos)
    u, v, w = document_trigrams(stream, bos)
    trigrams, counts = np.unique((u * (size + 1) + v) * size + w, return_counts=True)
    del stream, u, v, w

    # 1. trigram level: rows are seen contexts (u, v); the keys are sorted, so rows are contiguous
    context_of = trigrams // size
    contexts, first, types = np.unique(context_of, return_index=True, return_counts=True)
    totals = np.add.reduceat(counts, first)
    trigram_rows = sparse.csr_matrix(
        (
            np.maximum(counts - discount, 0) / np.repeat(totals, types),
            (trigrams % size).astype(np.int32),
            np.append(first, len(trigrams)),
        ),
        shape=(len(contexts), size),
    )
    trigram_backoff = discount * types / totals

    # 2. bigram level from continuation counts: N1+(. v w) = how many distinct u precede (v, w)
    bigrams, continuations = np.unique(trigrams % ((size + 1) * size), return_counts=True)
    del trigrams, context_of, counts
    rows = bigrams // size
    row_types = np.bincount(rows, minlength=size + 1)
    row_totals = np.bincount(rows, weights=continuations, minlength=size + 1)
    bigram_rows = sparse.csr_matrix(
        (
            np.maximum(continuations - discount, 0) / row_totals[rows],
            (bigrams % size).astype(np.int32),
            np.concatenate([[0], np.cumsum(row_types)]),
        ),
        shape=(size + 1, size),
    )
    bigram_backoff = np.where(row_types > 0, discount * row_types / np.maximum(row_totals, 1), 1.0)

    # 3. unigram level: N1+(. w) = distinct words before w, BOS included (first words of documents)
    first_words = np.unique([doc[0] for doc in documents if len(doc)]).astype(np.int64)
    left_contexts = np.bincount(bigrams % size, minlength=size) + np.bincount(
        first_words, minlength=size
    )
    total, seen = max(left_contexts.sum(), 1), np.count_nonzero(left_contexts)
    floor = np.ones(size)
    floor[list(zero_mass)] = 0.0
    # The uniform floor keeps words never seen in training finite for perplexity.
    unigram = np.maximum(left_contexts - discount, 0) / total
    unigram += (discount * seen / total if seen else 1.0) * floor / floor.sum()
    return KneserNeyTrigram(
        size,
        contexts,
        trigram_rows,
        trigram_backoff,
        bigram_rows,
        bigram_backoff,
        unigram,
        discount,
    )


def frequent_trigrams(
    documents: list[np.ndarray], vocab_size: int, min_count: int = 2
) -> np.ndarray:
    """Sorted keys (u * (V + 1) + v) * V + w of the trigrams seen at least `min_count` times."""
    u, v, w = document_trigrams(padded_stream(documents, vocab_size), vocab_size)
    keys, counts = np.unique((u * (vocab_size + 1) + v) * vocab_size + w, return_counts=True)
    return keys[counts >= min_count]


def keep_trigrams(model: KneserNeyTrigram, kept: np.ndarray) -> KneserNeyTrigram:
    """The model with only the trigrams whose keys are in `kept`: a dropped trigram's discounted
    mass goes to the bigram level, as an unseen trigram's does, so every row stays a
    distribution. Of the `full` corpus's 10.9M trigrams (both forms), those seen twice within a
    form are 2.2M, and keeping only them costs no measurable accuracy (docs/results.md)."""
    rows = model.trigram_rows
    types = np.diff(rows.indptr)
    owners = np.repeat(np.arange(len(types)), types)
    keep = np.isin(model.contexts[owners] * model.vocab_size + rows.indices, kept)
    pruned = sparse.csr_matrix(
        (rows.data[keep], (owners[keep], rows.indices[keep])), shape=rows.shape
    )
    nonempty = np.diff(pruned.indptr) > 0
    return dataclasses.replace(
        model,
        contexts=model.contexts[nonempty],
        trigram_rows=pruned[nonempty],
        trigram_backoff=(1.0 - np.asarray(pruned.sum(axis=1)).ravel())[nonempty],
    )


def fit_frequent_kneser_ney(
    forms: list[list[np.ndarray]], vocab_size: int, zero_mass: tuple[int, ...] = ()
) -> KneserNeyTrigram:
    """The served trigram: counted on every form of the text together (as written, without
    punctuation), keeping the trigrams seen at least twice within one form. Counted together,
    the many trigrams the two forms share would each count twice, and the trigrams seen once
    would double the model's size."""
    model = fit_kneser_ney([doc for form in forms for doc in form], vocab_size, zero_mass=zero_mass)
    kept = np.unique(np.concatenate([frequent_trigrams(form, vocab_size) for form in forms]))
    return keep_trigrams(model, kept)


def trigram_probabilities(model: KneserNeyTrigram, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(B, V) interpolated P(. | u v) for B histories; u may be the BOS id (= vocab_size).

    Fastest when histories sharing v come together: the bigram level is built once per distinct v.
    """
    # 1. bigram level A2[v] + b2[v] * P1, one dense row per distinct v
    rows, row_of = np.unique(v, return_inverse=True)
    bigram = model.bigram_rows[rows].toarray()  # (R, V)
    bigram += np.outer(model.bigram_backoff[rows], model.unigram)
    # 2. b3 of each history; an unseen context (u, v) hands all its mass to the bigram level
    keys = u * (model.vocab_size + 1) + v
    found_at = np.searchsorted(model.contexts, keys)
    found = found_at < len(model.contexts)
    found[found] = model.contexts[found_at[found]] == keys[found]
    trigram_backoff = np.ones(len(u))
    trigram_backoff[found] = model.trigram_backoff[found_at[found]]
    probs = bigram[row_of] * trigram_backoff[:, None]  # (B, V)
    # 3. add the discounted trigram counts A3[uv] of the seen contexts (a sparse scatter)
    picked = model.trigram_rows[found_at[found]]
    owner = np.flatnonzero(found)[
        np.repeat(np.arange(len(picked.indptr) - 1), np.diff(picked.indptr))
    ]
    probs[owner, picked.indices] += picked.data
    return probs


def trigram_from_arrays(arrays: dict[str, np.ndarray]) -> KneserNeyTrigram:
    """The model back from the arrays `TrigramProbabilities` keeps (its weights, by name, as
    the layer holds them or as an exported SavedModel stores them): the served trigram member,
    for NumPy scoring beside the graph (training/keyboards.py)."""
    unigram = np.asarray(arrays["unigram"], np.float64)
    size = len(unigram)
    contexts = np.asarray(arrays["contexts"])[:-1]  # without the sentinel context
    trigram_rows = sparse.csr_matrix(
        (arrays["trigram_values"], arrays["trigram_words"], arrays["trigram_splits"][:-1]),
        shape=(len(contexts), size),
    )
    bigram_rows = sparse.csr_matrix(
        (arrays["bigram_values"], arrays["bigram_words"], arrays["bigram_splits"]),
        shape=(size + 1, size),
    )
    return KneserNeyTrigram(
        size,
        contexts,
        trigram_rows,
        np.asarray(arrays["trigram_backoff"], np.float64)[:-1],
        bigram_rows,
        np.asarray(arrays["bigram_backoff"], np.float64),
        unigram,
    )


class TrigramProbabilities(keras.layers.Layer):
    """Histories (u, v) → (batch, vocab_size) P(. | u v), as `trigram_probabilities` computes.

    u may be the begin-of-document id (vocab_size) when v is a text's first word. The sparse
    levels are kept as CSR arrays in non-trainable weights, so they are saved with the model.
    """

    def __init__(self, model: KneserNeyTrigram, **kwargs: object) -> None:
        super().__init__(trainable=False, **kwargs)
        self.vocab_size = model.vocab_size
        # A last context no key can equal, with an empty row: every search lands on a row.
        rows = model.trigram_rows
        arrays = {
            "contexts": np.append(model.contexts, np.iinfo(np.int64).max).astype(np.int64),
            "trigram_splits": np.append(rows.indptr, rows.indptr[-1]).astype(np.int64),
            "trigram_words": rows.indices.astype(np.int32),
            "trigram_values": rows.data.astype(np.float32),
            "trigram_backoff": np.append(model.trigram_backoff, 1.0).astype(np.float32),
            "bigram_splits": model.bigram_rows.indptr.astype(np.int64),
            "bigram_words": model.bigram_rows.indices.astype(np.int32),
            "bigram_values": model.bigram_rows.data.astype(np.float32),
            "bigram_backoff": model.bigram_backoff.astype(np.float32),
            "unigram": model.unigram.astype(np.float32),
        }
        assert tuple(arrays) == ARRAYS
        for name, array in arrays.items():
            weight = self.add_weight(
                name=name,
                shape=array.shape,
                dtype=str(array.dtype),
                initializer="zeros",
                trainable=False,
            )
            weight.assign(array)
            setattr(self, name, weight)

    def counts(self) -> KneserNeyTrigram:
        """The model these weights hold, for NumPy scoring (`trigram_from_arrays`)."""
        return trigram_from_arrays({name: getattr(self, name).numpy() for name in ARRAYS})

    def after(self, tokens: tf.Tensor, queries: tf.Tensor) -> tf.Tensor:
        """(batch, q, vocab_size) probabilities of the word after each query position of the
        padded token ids: its history is that word and the one before (or the begin marker)."""
        v = tf.gather(tokens, queries, batch_dims=1)
        before = tf.gather(tokens, tf.maximum(queries - 1, 0), batch_dims=1)
        u = tf.where(queries > 0, tf.cast(before, tf.int64), self.vocab_size)
        probabilities = self(tf.reshape(u, [-1]), tf.reshape(v, [-1]))
        return tf.reshape(probabilities, tf.concat([tf.shape(queries), [self.vocab_size]], 0))

    def call(self, u: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        u, v = tf.cast(u, tf.int64), tf.cast(v, tf.int64)
        # The history's trigram context, if it was seen (b3 = 1 and no A3 row if not).
        keys = u * (self.vocab_size + 1) + v
        found_at = tf.searchsorted(self.contexts, keys, out_type=tf.int64)
        found = tf.equal(tf.gather(self.contexts, found_at), keys)
        trigram_backoff = tf.where(found, tf.gather(self.trigram_backoff, found_at), 1.0)
        # b3 * b2 * P1 densely, then A3 and b3 * A2 as one sparse scatter: every pass over the
        # (histories, vocabulary) array counts when a batch holds a thousand histories.
        backoff = trigram_backoff * tf.gather(self.bigram_backoff, v)
        bigram_rows, bigram_words, bigram_values = _pick_rows(
            self.bigram_splits, self.bigram_words, self.bigram_values, v, True
        )
        trigram_rows, trigram_words, trigram_values = _pick_rows(
            self.trigram_splits, self.trigram_words, self.trigram_values, found_at, found
        )
        indices = tf.stack(
            [
                tf.concat([bigram_rows, trigram_rows], 0),
                tf.cast(tf.concat([bigram_words, trigram_words], 0), tf.int64),
            ],
            axis=1,
        )
        values = tf.concat(
            [bigram_values * tf.gather(trigram_backoff, bigram_rows), trigram_values], 0
        )
        return tf.tensor_scatter_nd_add(backoff[:, None] * self.unigram[None, :], indices, values)


def _pick_rows(
    splits: tf.Tensor,
    columns: tf.Tensor,
    values: tf.Tensor,
    rows: tf.Tensor,
    used: tf.Tensor | bool,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The entries of CSR rows rows[i] where used[i], as (i, column, value) for each entry."""
    starts = tf.gather(splits, rows)
    ends = tf.where(used, tf.gather(splits, rows + 1), starts)  # an unused row gives nothing
    positions = tf.ragged.range(starts, ends)
    return (
        positions.value_rowids(),
        tf.gather(columns, positions.values),
        tf.gather(values, positions.values),
    )
