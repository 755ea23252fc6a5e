"""The two networks: an LSTM language model (the next-word model) and the sentiment classifier
that is built from it.

Both read words as learned embeddings and carry an LSTM state along the text
(h_t = LSTM(h_{t-1}, x_t)). The language model's output layer is tied to its embedding, and it
trains with a sampled softmax, so a 20,000-word vocabulary stays affordable on a CPU. The
classifier starts from the language model's embedding and LSTM (transfer learning: the LM has
read four times more text than there are labelled reviews). At prediction time the language model
also looks back over the text it was given (a continuous cache) and is mixed with a trigram model
(`NextWordMix`, below).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers

from training.config import TrainConfig
from training.text import OOV_ID, PAD_ID
from training.trigram_model import TrigramProbabilities


class LanguageModel(keras.Model):
    """Embedding → LSTM → projection back into embedding space → logits over the vocabulary."""

    def __init__(self, config: TrainConfig, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = config.vocab_size
        self.num_sampled = min(config.lm_sampled_softmax, config.vocab_size - 1)
        self.embedding = layers.Embedding(
            config.vocab_size, config.embedding_dim, mask_zero=True, name="embedding"
        )
        self.lstm = layers.LSTM(config.lstm_units, return_sequences=True, name="lstm")
        # Projecting to the embedding size lets the output weights be the embedding itself.
        self.projection = layers.Dense(config.embedding_dim, name="projection")
        self.output_bias = self.add_weight(
            shape=(config.vocab_size,), initializer="zeros", name="output_bias"
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.top1 = keras.metrics.Mean(name="top1")
        self.top5 = keras.metrics.Mean(name="top5")

    def call(self, tokens: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Hidden states: (batch, time) token ids → (batch, time, embedding_dim)."""
        mask = tf.not_equal(tokens, PAD_ID)
        h = self.lstm(self.embedding(tokens), mask=mask, training=training)
        # float32 out, whatever the compute precision: the softmax needs the range.
        return tf.cast(self.projection(h), tf.float32)

    def logits(self, hidden: tf.Tensor) -> tf.Tensor:
        """(..., embedding_dim) → (..., vocab_size) with the tied output weights."""
        return tf.matmul(hidden, self.embedding.embeddings, transpose_b=True) + self.output_bias

    def next_word_logits(self, hidden: tf.Tensor) -> tf.Tensor:
        """Logits that never pick padding or the out-of-vocabulary token."""
        logits = self.logits(hidden)
        banned = tf.one_hot([PAD_ID, OOV_ID], self.vocab_size, on_value=-1e9, dtype=logits.dtype)
        return logits + tf.reduce_sum(banned, axis=0)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.top1, self.top5]

    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        tokens, targets = data  # both (batch, window); targets are tokens shifted left by one
        with tf.GradientTape() as tape:
            hidden = self(tokens, training=True)
            loss = tf.reduce_mean(
                tf.nn.sampled_softmax_loss(
                    weights=self.embedding.embeddings,
                    biases=self.output_bias,
                    labels=tf.reshape(tf.cast(targets, tf.int64), (-1, 1)),
                    inputs=tf.reshape(hidden, (-1, hidden.shape[-1])),
                    num_sampled=self.num_sampled,
                    num_classes=self.vocab_size,
                )
            )
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def score(
        self, hidden: tf.Tensor, targets: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Per position: full-softmax cross-entropy (its mean's exp is the perplexity), and
        whether the target is the first / among the first five predictions (1.0 or 0.0)."""
        targets = tf.cast(targets, tf.int32)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, self.logits(hidden))
        ranked = self.next_word_logits(hidden)
        top1 = tf.cast(tf.math.in_top_k(targets, ranked, 1), tf.float32)
        top5 = tf.cast(tf.math.in_top_k(targets, ranked, 5), tf.float32)
        return loss, top1, top5

    def test_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Loss, top-1 and top-5 over every position of held-out windows (learning curves)."""
        tokens, targets = data
        hidden = self(tokens, training=False)
        loss, top1, top5 = self.score(
            tf.reshape(hidden, (-1, hidden.shape[-1])), tf.reshape(targets, (-1,))
        )
        self.loss_tracker.update_state(tf.reduce_mean(loss))
        self.top1.update_state(top1)
        self.top5.update_state(top5)
        return {m.name: m.result() for m in self.metrics}


@dataclass(frozen=True)
class NextWordMix:
    """What the served next-word prediction mixes into the language model's softmax, and how
    much (the weights are fitted on held-out text, `evaluate.fit_next_word_mix`):

    - a continuous cache (Grave, Joulin & Usunier, ICLR 2017): every earlier position of the text
      votes for the word that followed it, weighted by softmax(cache_theta * h_t . h_i) over those
      positions, so a name or a phrase the text has already used becomes likelier again;
    - a Kneser-Ney trigram model of the text's last two words (`training/trigram_model.py`): it
      remembers the exact phrases the LSTM blurs.

    P = (1 - trigram_weight) * ((1 - cache_weight) * softmax + cache_weight * votes)
        + trigram_weight * trigram
    """

    cache_theta: float = 0.0
    cache_weight: float = 0.0
    trigram: TrigramProbabilities | None = None
    trigram_weight: float = 0.0


def cache_votes(
    hidden: tf.Tensor, tokens: tf.Tensor, queries: tf.Tensor, theta: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """For each query position, the weight of each earlier position's vote and the word it votes
    for: hidden (batch, time, dim), tokens (batch, time), queries (batch, q) positions →
    weights (batch, q, time - 1), followers (batch, time - 1).

    Position i votes for tokens[i + 1], the word that followed it, if that word came before the
    query's own next word and is a real word (never padding or out-of-vocabulary). A query with
    no votes (the first word of a text) gets all-zero weights.
    """
    keys, followers = hidden[:, :-1], tokens[:, 1:]
    scores = theta * tf.einsum("bqd,bsd->bqs", tf.gather(hidden, queries, batch_dims=1), keys)
    earlier = tf.range(tf.shape(keys)[1])[None, None, :] < tf.cast(queries, tf.int32)[:, :, None]
    allowed = earlier & (followers > OOV_ID)[:, None, :]
    weights = tf.nn.softmax(tf.where(allowed, scores, -1e9), axis=-1)
    return weights * tf.cast(allowed, weights.dtype), followers


def next_word_probabilities(
    language_model: LanguageModel,
    hidden: tf.Tensor,
    tokens: tf.Tensor,
    queries: tf.Tensor,
    mix: NextWordMix | None,
) -> tf.Tensor:
    """(batch, q, vocab_size) probabilities of the word after each query position, never padding
    or the out-of-vocabulary token: the language model's, mixed as `mix` says."""
    trigram = None
    if mix is not None and mix.trigram is not None and mix.trigram_weight > 0:
        trigram = mix.trigram.after(tokens, queries)
    return mixed_probabilities(language_model, hidden, tokens, queries, mix, trigram)


def mixed_probabilities(
    language_model: LanguageModel,
    hidden: tf.Tensor,
    tokens: tf.Tensor,
    queries: tf.Tensor,
    mix: NextWordMix | None,
    trigram: tf.Tensor | None,
) -> tf.Tensor:
    """`next_word_probabilities`, given the trigram's own (batch, q, vocab_size) probabilities
    for the same queries (the evaluation needs them too, and computes them once)."""
    probabilities = tf.nn.softmax(
        language_model.next_word_logits(tf.gather(hidden, queries, batch_dims=1))
    )
    if mix is None:
        return probabilities
    if mix.cache_weight > 0:
        votes, voted = _cache_distribution(
            hidden, tokens, queries, mix.cache_theta, language_model.vocab_size
        )
        probabilities = (1 - mix.cache_weight * voted) * probabilities + mix.cache_weight * votes
    if trigram is not None and mix.trigram_weight > 0:
        # The trigram without padding and [UNK], renormalised: it sums to one over all ids.
        kept = 1.0 - tf.gather(trigram, PAD_ID, axis=-1) - tf.gather(trigram, OOV_ID, axis=-1)
        scale = mix.trigram_weight / kept[..., None] * _real_words(language_model.vocab_size)
        probabilities = (1 - mix.trigram_weight) * probabilities + scale * trigram
    return probabilities


def _cache_distribution(
    hidden: tf.Tensor, tokens: tf.Tensor, queries: tf.Tensor, theta: float, vocab_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """The cache's votes spread over the vocabulary (batch, q, vocab_size), and their total
    (batch, q, 1): 1, or 0 for a query with no history."""
    weights, followers = cache_votes(hidden, tokens, queries, theta)
    # Scatter each vote onto its word: segment (row, query, word) of a flat (batch*q*vocab).
    batch, n_queries = tf.shape(weights)[0], tf.shape(weights)[1]
    rows = tf.range(batch)[:, None, None] * n_queries + tf.range(n_queries)[None, :, None]
    segments = rows * vocab_size + tf.cast(followers, tf.int32)[:, None, :]
    votes = tf.math.unsorted_segment_sum(
        tf.reshape(weights, [-1]), tf.reshape(segments, [-1]), batch * n_queries * vocab_size
    )
    votes = tf.reshape(votes, [batch, n_queries, vocab_size])
    return votes, tf.reduce_sum(weights, axis=-1, keepdims=True)


def _real_words(vocab_size: int) -> tf.Tensor:
    """1 for every word the model may suggest, 0 for padding and the out-of-vocabulary token."""
    return 1.0 - tf.reduce_sum(tf.one_hot([PAD_ID, OOV_ID], vocab_size), axis=0)


class ConcatPooling(layers.Layer):
    """[last state, max over time, mean over time] of a masked sequence: the whole review speaks,
    not only its last words."""

    def call(self, sequence: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        if mask is None:
            mask = tf.ones(tf.shape(sequence)[:2], dtype=tf.bool)
        weights = tf.cast(mask, sequence.dtype)[:, :, None]  # (batch, time, 1)
        lengths = tf.maximum(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1), 1)
        last = tf.gather(sequence, lengths - 1, batch_dims=1)
        largest = tf.reduce_max(sequence + (weights - 1.0) * 1e9, axis=1)
        mean = tf.reduce_sum(sequence * weights, axis=1) / tf.cast(lengths, sequence.dtype)[:, None]
        return tf.concat([last, largest, mean], axis=-1)

    def compute_mask(self, inputs: tf.Tensor, mask: tf.Tensor | None = None) -> None:
        return None


def build_classifier(config: TrainConfig) -> keras.Model:
    """Token ids → logit of 'positive' (blended and calibrated by `train.fit_blend`)."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(config.vocab_size, config.embedding_dim, mask_zero=True, name="embedding")(
        tokens
    )
    x = layers.Dropout(config.embedding_dropout)(x)
    x = layers.LSTM(config.lstm_units, return_sequences=True, name="lstm")(x)
    x = ConcatPooling(name="pooling")(x)
    x = layers.Dropout(config.clf_dropout)(x)
    x = layers.Dense(config.clf_hidden, activation="relu", name="head_hidden")(x)
    x = layers.Dropout(config.clf_dropout)(x)
    logit = layers.Dense(1, name="head_logit")(x)
    return keras.Model(tokens, logit, name="sentiment")


def transfer_language_model(classifier: keras.Model, language_model: LanguageModel) -> None:
    """Start the classifier's embedding and LSTM from the trained language model."""
    classifier.get_layer("embedding").set_weights(language_model.embedding.get_weights())
    classifier.get_layer("lstm").set_weights(language_model.lstm.get_weights())


def set_body_trainable(classifier: keras.Model, trainable: bool) -> None:
    for name in ("embedding", "lstm"):
        classifier.get_layer(name).trainable = trainable
