"""The embedding and LSTM as exported: the trained Keras weights, computed with less work.

Keras's LSTM on a CPU runs a generic loop of about twenty small ops per step and multiplies each
step's input by the input kernel there. For a word embedding that product, `x_t W_x + b`,
depends only on the word: `ServedLSTM` computes it once per vocabulary entry at export (the
input table, `E W_x + b`) and looks it up at serving time. That removes half of the arithmetic
and leaves one matrix product per step. The gates are reordered to [input, forget, output |
candidate] so one sigmoid covers three of them.

The rewrite is exact on every real position of a right-padded batch (a text's padding comes after
it and cannot reach its earlier steps), which is all the models read: the classifier's pooling and
the next-word graph look only at real positions (`tests/training/test_served_lstm.py`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from training.models import LanguageModel
from training.text import PAD_ID


def _reordered_gates(weights: np.ndarray, units: int) -> np.ndarray:
    """Keras's gate order [i, f, c, o] along the last axis → [i, f, o, c]."""
    i, f, c, o = (weights[..., k * units : (k + 1) * units] for k in range(4))
    return np.concatenate([i, f, o, c], axis=-1)


class ServedLSTM(tf.Module):
    """(batch, time) token ids → (batch, time, units) outputs, as `lstm(embedding(ids))`."""

    def __init__(self, embedding: keras.layers.Embedding, lstm: keras.layers.LSTM, name: str):
        super().__init__(name=name)
        cell = lstm.cell
        if (
            cell.activation is not keras.activations.tanh
            or cell.recurrent_activation is not keras.activations.sigmoid
            or not cell.use_bias
            or lstm.go_backwards
        ):
            raise ValueError(f"{lstm.name}: only the default LSTM (tanh, sigmoid, bias) is served")
        self.units = cell.units
        kernel, recurrent_kernel, bias = (np.asarray(w, np.float32) for w in lstm.get_weights())
        table = np.asarray(embedding.embeddings, np.float32) @ kernel + bias
        self.input_table = tf.Variable(_reordered_gates(table, self.units), trainable=False)
        self.recurrent_kernel = tf.Variable(
            _reordered_gates(recurrent_kernel, self.units), trainable=False
        )

    def __call__(self, tokens: tf.Tensor) -> tf.Tensor:
        units = self.units
        projected = tf.gather(self.input_table, tf.transpose(tokens))  # (time, batch, 4 units)
        steps, batch = tf.shape(projected)[0], tf.shape(projected)[1]
        inputs = tf.TensorArray(tf.float32, size=steps).unstack(projected)
        zeros = tf.zeros([batch, units])

        def step(t, h, c, outputs):
            z = inputs.read(t) + tf.matmul(h, self.recurrent_kernel)
            gates, candidate = tf.split(z, [3 * units, units], axis=1)
            i, f, o = tf.split(tf.sigmoid(gates), 3, axis=1)
            c = f * c + i * tf.tanh(candidate)
            h = o * tf.tanh(c)
            return t + 1, h, c, outputs.write(t, h)

        _, _, _, outputs = tf.while_loop(
            lambda t, *_: t < steps,
            step,
            (tf.constant(0), zeros, zeros, tf.TensorArray(tf.float32, size=steps)),
        )
        return tf.transpose(outputs.stack(), [1, 0, 2])


class ServedClassifier(tf.Module):
    """A trained classifier (`models.build_classifier`) with its LSTM served: token ids →
    the logit of 'positive', as `classifier(ids)[:, 0]`."""

    def __init__(self, classifier: keras.Model, name: str):
        super().__init__(name=name)
        self.lstm = ServedLSTM(
            classifier.get_layer("embedding"), classifier.get_layer("lstm"), name
        )
        # Dropout layers are the identity at prediction time: only these three compute.
        self.pooling = classifier.get_layer("pooling")
        self.hidden = classifier.get_layer("head_hidden")
        self.logit = classifier.get_layer("head_logit")

    def __call__(self, tokens: tf.Tensor) -> tf.Tensor:
        pooled = self.pooling(self.lstm(tokens), mask=tf.not_equal(tokens, PAD_ID))
        return self.logit(self.hidden(pooled))[:, 0]


class ServedLanguageModel(tf.Module):
    """The language model's hidden states with its LSTM served: (batch, time) token ids →
    (batch, time, embedding_dim), as `language_model(ids)`."""

    def __init__(self, language_model: LanguageModel):
        super().__init__(name="served_language_model")
        self.lstm = ServedLSTM(language_model.embedding, language_model.lstm, "language_model")
        self.projection = language_model.projection

    def __call__(self, tokens: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.projection(self.lstm(tokens)), tf.float32)
