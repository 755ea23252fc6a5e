"""The exported LSTM graphs compute what the Keras models of the same weights compute."""

import numpy as np
import pytest
import tensorflow as tf

from training.config import load_config
from training.models import LanguageModel, build_classifier
from training.served_lstm import ServedClassifier, ServedLanguageModel
from training.text import PAD_ID

CONFIG = load_config("tiny", {"vocab_size": "50", "embedding_dim": "12", "lstm_units": "10"})
# Texts of every length the graphs see, right-padded as `RaggedTensor.to_tensor` pads them:
# one token, a few, and one far past the others (most of the batch is padding there).
LENGTHS = [1, 3, 7, 40]


def padded_batch(seed: int) -> tf.Tensor:
    rng = np.random.default_rng(seed)
    rows = [rng.integers(1, CONFIG.vocab_size, size=n).tolist() for n in LENGTHS]
    return tf.ragged.constant(rows, dtype=tf.int32).to_tensor(default_value=PAD_ID)


def randomised(model: tf.keras.Model, seed: int) -> None:
    """Weights far from their initial values, so a gate order mistake cannot hide."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(0, 0.5, weight.shape).astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1])
def test_served_classifier_equals_keras(seed: int) -> None:
    tokens = padded_batch(seed)
    classifier = build_classifier(CONFIG)
    randomised(classifier, seed)
    expected = classifier(tokens, training=False)[:, 0].numpy()
    served = ServedClassifier(classifier, "forward")(tokens).numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_served_language_model_equals_keras_on_real_positions(seed: int) -> None:
    tokens = padded_batch(seed)
    language_model = LanguageModel(CONFIG)
    language_model(tokens)
    randomised(language_model, seed)
    expected = language_model(tokens, training=False).numpy()
    served = ServedLanguageModel(language_model)(tokens).numpy()
    for row, length in enumerate(LENGTHS):  # padding positions are never read
        np.testing.assert_allclose(served[row, :length], expected[row, :length], atol=1e-5, rtol=0)


def test_served_graphs_trace_inside_a_tf_function() -> None:
    classifier = build_classifier(CONFIG)
    served = ServedClassifier(classifier, "forward")
    spec = tf.TensorSpec([None, None], tf.int32)
    traced = tf.function(served.__call__, input_signature=[spec])
    tokens = padded_batch(2)
    np.testing.assert_allclose(
        traced(tokens).numpy(), classifier(tokens)[:, 0].numpy(), atol=1e-5, rtol=0
    )
