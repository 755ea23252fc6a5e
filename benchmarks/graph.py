"""How close the served LSTM graph is to the machine's limit, in-process, with no HTTP.

The sentiment model's two reading directions at the `full` preset's shapes (Embedding 256 → LSTM
256 → pooling → head), with random weights: the plain Keras computation against the graph the
export writes (`training/served_lstm.py`), on the same token ids. For each, texts/s and the LSTM
arithmetic it achieves (2 x 4h(h+e) multiply-adds per token and direction, as Keras computes it),
beside the matrix-multiply rate this machine reaches in the same run.
Run as `python -m benchmarks.graph [--seconds S]`; prints JSON.
"""

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from training.config import load_config
from training.models import build_classifier
from training.served_lstm import ServedClassifier

CONFIG = load_config("full")
# (texts per call, tokens per text): the benchmark's review and short scenarios.
SHAPES = {"review-16": (16, 230), "short-64": (64, 10), "short-1": (1, 10)}


def median_seconds(call: Callable[[], object], seconds: float) -> float:
    for _ in range(3):
        call()
    durations: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(durations) < 5:
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def matmul_gflops(seconds: float) -> float:
    """The rate of a large float32 matrix product here: what the cores can do."""
    a, b = tf.random.normal((1024, 1024)), tf.random.normal((1024, 1024))
    product = tf.function(lambda: tf.matmul(a, b))
    return 2 * 1024**3 / median_seconds(lambda: product().numpy(), seconds) / 1e9


def graphs() -> dict[str, Callable[[tf.Tensor], tf.Tensor]]:
    """Both directions' logits averaged, as the served blend's LSTM member reads them."""
    rng = np.random.default_rng(0)
    classifiers = [build_classifier(CONFIG) for _ in ("forward", "backward")]
    for classifier in classifiers:
        for weight in classifier.weights:
            weight.assign(rng.normal(0, 0.05, weight.shape).astype(np.float32))
    served = [ServedClassifier(c, name) for c, name in zip(classifiers, ("fw", "bw"), strict=True)]
    spec = [tf.TensorSpec([None, None], tf.int32)]

    @tf.function(input_signature=spec)
    def keras_graph(tokens: tf.Tensor) -> tf.Tensor:
        backward = tf.reverse(tokens, [1])
        return (classifiers[0](tokens)[:, 0] + classifiers[1](backward)[:, 0]) / 2

    @tf.function(input_signature=spec)
    def served_graph(tokens: tf.Tensor) -> tf.Tensor:
        return (served[0](tokens) + served[1](tf.reverse(tokens, [1]))) / 2

    return {"keras": keras_graph, "served": served_graph}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    e, h = CONFIG.embedding_dim, CONFIG.lstm_units
    flops_per_token = 2 * 2 * 4 * h * (h + e)  # two directions, multiply and add
    results: dict[str, object] = {"matmul_gflops": matmul_gflops(args.seconds)}
    computations = graphs()
    for shape_name, (texts, tokens) in SHAPES.items():
        ids = tf.constant(rng.integers(2, CONFIG.vocab_size, (texts, tokens)), tf.int32)
        figures = {}
        for name, graph in computations.items():
            seconds = median_seconds(lambda g=graph, x=ids: g(x).numpy(), args.seconds)
            figures[name] = {
                "ms_per_call": seconds * 1000,
                "texts_per_second": texts / seconds,
                "lstm_gflops": flops_per_token * texts * tokens / seconds / 1e9,
            }
        figures["speedup"] = figures["keras"]["ms_per_call"] / figures["served"]["ms_per_call"]
        results[shape_name] = figures
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
