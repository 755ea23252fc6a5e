"""One loaded model version: load the SavedModel, check its signature, warm it up and call it."""

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import tensorflow as tf

from service.serving.store import VersionDir, read_metadata

log = logging.getLogger(__name__)

# The `serving_default` signature each model must have (model/README.md).
SIGNATURE_INPUTS: dict[str, dict[str, tf.DType]] = {
    "sentiment": {"texts": tf.string},
    "next_word": {"texts": tf.string, "k": tf.int32},
}
SIGNATURE_OUTPUTS: dict[str, set[str]] = {
    "sentiment": {"positive_probability"},
    "next_word": {"words", "probabilities"},
}
# What the tokenizer made of each text (`int32 [batch]`), for the drift metrics; versions
# exported without them still serve, without input drift metrics.
TEXT_STATS = {"token_count", "oov_count"}
# Tokens of a text the graph reads at most, unless metadata.json says (model/README.md).
DEFAULT_TOKEN_CAP = {"sentiment": 800, "next_word": 64}
CAP_KEYS = {
    "sentiment": ("review_head_tokens", "review_tail_tokens"),
    "next_word": ("next_word_context",),
}
WARMUP_TEXTS = ["a great movie", "!!! ?? 😀🎬", "zzqx qqzzx xxzq", "the plot " * 300]

# The `k` asking for every word the model ranks, highest first, as a `Ranking` (completions).
EVERY_WORD = 0


@dataclass
class Ranking:
    """Every word a next-word model ranks for one text, highest probability first: UTF-8 bytes
    (numpy `S` array, so a prefix filters them in one vectorised call) and probabilities."""

    words: np.ndarray
    probabilities: np.ndarray


Prediction = float | list[tuple[str, float]] | Ranking


@dataclass
class ModelOutput:
    """One model call's predictions, in text order, and what the version's tokenizer made of
    each text (None from a version exported without those outputs)."""

    predictions: list[Prediction]
    token_counts: np.ndarray | None = None
    oov_counts: np.ndarray | None = None


class BrokenModelError(Exception):
    """A version that cannot be served: unreadable, wrong signature or bad warm-up outputs."""


def configure_threads(intra_op: int, inter_op: int) -> None:
    """Size TensorFlow's thread pools; possible only before TensorFlow's first op runs."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:
        log.debug("TensorFlow threads already fixed for this process")


@dataclass(eq=False)
class Servable:
    """A model version ready to predict; `predict` is blocking and thread-safe."""

    name: str
    version: str
    metadata: dict[str, Any]
    module: Any = field(repr=False)  # the loaded object owns the variables the signature reads
    signature: Any = field(repr=False)
    max_k: int = 1  # most next words the model can rank (its vocabulary may be small)
    every_k: int = 1  # the `k` that gives every word it ranks (`EVERY_WORD`)
    token_cap: int = DEFAULT_TOKEN_CAP["sentiment"]  # tokens the graph reads of a text at most
    text_stats: bool = False  # whether the signature gives TEXT_STATS
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def predict(self, texts: list[str], k: int = 1) -> ModelOutput:
        """Sentiment: positive probabilities; next word: the top `k` (word, probability)."""
        batch = tf.constant(texts, dtype=tf.string)
        if self.name == "sentiment":
            out = self.signature(texts=batch)
            predictions = tf.reshape(out["positive_probability"], [-1]).numpy().tolist()
        elif k == EVERY_WORD:
            out = self.signature(texts=batch, k=tf.constant(self.every_k, dtype=tf.int32))
            words_array = out["words"].numpy().astype("S")
            probabilities_array = out["probabilities"].numpy()
            predictions = [
                Ranking(w, p) for w, p in zip(words_array, probabilities_array, strict=True)
            ]
        else:
            out = self.signature(texts=batch, k=tf.constant(min(k, self.max_k), dtype=tf.int32))
            words = out["words"].numpy().tolist()
            probabilities = out["probabilities"].numpy().tolist()
            predictions = [
                [(w.decode("utf-8", "replace"), p) for w, p in zip(ws, ps, strict=True)]
                for ws, ps in zip(words, probabilities, strict=True)
            ]
        if not self.text_stats:
            return ModelOutput(predictions)
        return ModelOutput(predictions, out["token_count"].numpy(), out["oov_count"].numpy())


def load_servable(found: VersionDir, top_k: int) -> Servable:
    """Load, check and warm up one version; raise BrokenModelError if it cannot serve."""
    try:
        metadata = read_metadata(found.path)
        module = tf.saved_model.load(str(found.path))
        signature = module.signatures["serving_default"]
    except Exception as exc:
        raise BrokenModelError(f"cannot load: {type(exc).__name__}: {exc}") from exc
    check_signature(found.name, signature)
    servable = Servable(found.name, str(found.version), metadata, module, signature)
    servable.token_cap = token_cap(found.name, metadata)
    servable.text_stats = TEXT_STATS <= set(signature.structured_outputs)
    try:
        servable.max_k = largest_k(servable, top_k)
        servable.every_k = every_k(servable)
        answer = servable.predict(WARMUP_TEXTS, servable.max_k)
    except Exception as exc:
        raise BrokenModelError(f"warm-up call failed: {type(exc).__name__}: {exc}") from exc
    check_predictions(found.name, answer.predictions, len(WARMUP_TEXTS), servable.max_k)
    for stats in (answer.token_counts, answer.oov_counts):
        if stats is not None and stats.shape != (len(WARMUP_TEXTS),):
            raise BrokenModelError(f"warm-up gave token statistics of shape {stats.shape}")
    return servable


def token_cap(name: str, metadata: dict[str, Any]) -> int:
    """How many tokens of a text the model reads, from the config in its metadata."""
    config = metadata.get("config")
    config = config if isinstance(config, dict) else {}
    values = [config.get(key) for key in CAP_KEYS[name]]
    counts = [v for v in values if isinstance(v, int) and v > 0]
    return sum(counts) if len(counts) == len(values) else DEFAULT_TOKEN_CAP[name]


def largest_k(servable: Servable, limit: int) -> int:
    """The largest `k <= limit` the next-word model answers: `limit` unless its vocabulary is
    smaller (the graph then returns fewer words, or fails: bisect); 1 for sentiment."""
    if servable.name != "next_word":
        return 1
    good, bad, k = 0, limit + 1, limit
    while bad - good > 1:
        servable.max_k = k
        try:
            [pairs] = servable.predict(WARMUP_TEXTS[:1], k).predictions
        except tf.errors.InvalidArgumentError:
            bad = k
        else:
            assert isinstance(pairs, list)
            if len(pairs) < k:  # the graph caps k at its vocabulary itself
                good = bad = len(pairs)
                break
            good = k
        k = (good + bad) // 2
    if good == 0:
        raise BrokenModelError("the next-word model answers no k")
    if good < limit:
        log.info("next_word version %s ranks at most %d words", servable.version, good)
    return good


def every_k(servable: Servable) -> int:
    """How many words the next-word model ranks at most: every word of its vocabulary when its
    graph caps `k` itself (every export so far), else `max_k`; 1 for sentiment."""
    if servable.name != "next_word":
        return 1
    size = servable.metadata.get("vocab_size")
    if not isinstance(size, int) or size <= servable.max_k:
        return servable.max_k
    servable.every_k = size
    try:
        [ranking] = servable.predict(WARMUP_TEXTS[:1], EVERY_WORD).predictions
    except tf.errors.InvalidArgumentError:
        return servable.max_k
    assert isinstance(ranking, Ranking)
    return max(len(ranking.words), servable.max_k)


def check_signature(name: str, signature: Any) -> None:
    """The signature takes exactly the inputs and gives the outputs model/README.md names."""
    _, inputs = signature.structured_input_signature
    got = {key: spec.dtype for key, spec in inputs.items()}
    if got != SIGNATURE_INPUTS[name]:
        raise BrokenModelError(f"serving_default takes {got}, expected {SIGNATURE_INPUTS[name]}")
    outputs = set(signature.structured_outputs)
    if not SIGNATURE_OUTPUTS[name] <= outputs:
        raise BrokenModelError(
            f"serving_default gives {sorted(outputs)}, lacks {SIGNATURE_OUTPUTS[name]}"
        )


def check_predictions(name: str, predictions: list[Prediction], count: int, k: int) -> None:
    """Warm-up outputs: one per text, probabilities in [0, 1], `k` words highest first."""
    if len(predictions) != count:
        raise BrokenModelError(f"warm-up gave {len(predictions)} predictions for {count} texts")
    for prediction in predictions:
        pairs = [("", prediction)] if isinstance(prediction, float) else prediction
        probabilities = [p for _, p in pairs]
        if name == "next_word" and len(pairs) != k:
            raise BrokenModelError(f"warm-up gave {len(pairs)} words, asked for {k}")
        if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in probabilities):
            raise BrokenModelError("warm-up gave probabilities outside [0, 1]")
        if probabilities != sorted(probabilities, reverse=True):
            raise BrokenModelError("warm-up gave next-word predictions out of order")
