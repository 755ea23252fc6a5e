"""One loaded model version: load the SavedModel, check its signature, warm it up and call it."""

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import tensorflow as tf

from service.serving.store import VersionDir, read_metadata
from service.serving.words import WordIndex

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

# The next-word signature that ranks only the words starting with a prefix, when a version has
# it (model/README.md): inputs `texts`, `prefixes`, `k`; outputs as `serving_default` plus `count`.
COMPLETE_SIGNATURE = "complete"
COMPLETE_INPUTS = {"texts": tf.string, "prefixes": tf.string, "k": tf.int32}

Prediction = float | list[tuple[str, float]]


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
    every_k: int = 1  # the `k` that gives every word it ranks (completions beside the graph)
    words: WordIndex | None = None  # the words it suggests, for completions
    completer: Any = field(default=None, repr=False)  # its `complete` signature, if it has one
    token_cap: int = DEFAULT_TOKEN_CAP["sentiment"]  # tokens the graph reads of a text at most
    text_stats: bool = False  # whether the signature gives TEXT_STATS
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def predict(self, texts: list[str], k: int = 1) -> ModelOutput:
        """Sentiment: positive probabilities; next word: the top `k` (word, probability)."""
        batch = tf.constant(texts, dtype=tf.string)
        if self.name == "sentiment":
            out = self.signature(texts=batch)
            predictions = tf.reshape(out["positive_probability"], [-1]).numpy().tolist()
        else:
            out = self.signature(texts=batch, k=tf.constant(min(k, self.max_k), dtype=tf.int32))
            predictions = pairs(out["words"].numpy(), out["probabilities"].numpy())
        return self._output(predictions, out)

    def complete(self, texts: list[str], prefixes: list[str], k: int) -> ModelOutput:
        """Next word: the top `k` (word, probability) of the words that start with each text's
        prefix (lower-cased; maybe fewer than `k`, maybe none). In the graph when the version
        has the `complete` signature, else beside it: every word ranked, then filtered."""
        batch = tf.constant(texts, dtype=tf.string)
        wanted = tf.constant([p.lower() for p in prefixes], dtype=tf.string)
        if self.completer is not None:
            size = tf.constant(min(k, self.max_k), dtype=tf.int32)
            out = self.completer(texts=batch, prefixes=wanted, k=size)
            counts = out["count"].numpy()
            found = pairs(out["words"].numpy(), out["probabilities"].numpy())
            return self._output([row[:n] for row, n in zip(found, counts, strict=True)], out)
        out = self.signature(texts=batch, k=tf.constant(self.every_k, dtype=tf.int32))
        ranked = out["words"]
        # The first bytes of every ranked word against the prefix, in TensorFlow's own loop:
        # converting 20,000 words to Python strings per text would cost more than the model.
        lengths = tf.broadcast_to(tf.strings.length(wanted)[:, None], tf.shape(ranked))
        starts = tf.strings.substr(ranked, tf.zeros_like(lengths), lengths)
        keep = tf.equal(starts, wanted[:, None]).numpy()
        probabilities = out["probabilities"].numpy()
        predictions = []
        for row, mask in enumerate(keep):
            chosen = np.flatnonzero(mask)[:k]
            words = tf.gather(ranked[row], chosen).numpy()
            predictions.extend(pairs(words[None], probabilities[row, chosen][None]))
        return self._output(predictions, out)

    def _output(self, predictions: list[Prediction], out: dict[str, tf.Tensor]) -> ModelOutput:
        if not self.text_stats:
            return ModelOutput(predictions)
        return ModelOutput(predictions, out["token_count"].numpy(), out["oov_count"].numpy())


def pairs(words: np.ndarray, probabilities: np.ndarray) -> list[Prediction]:
    """Each row's (word, probability) pairs, words decoded from UTF-8."""
    return [
        [(w.decode("utf-8", "replace"), p) for w, p in zip(ws, ps, strict=True)]
        for ws, ps in zip(words.tolist(), probabilities.tolist(), strict=True)
    ]


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
        servable.every_k, servable.words = every_word(servable)
        servable.completer = completer(servable)
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


def every_word(servable: Servable) -> tuple[int, WordIndex | None]:
    """The `k` that ranks every word the next-word model suggests (every word of its vocabulary
    when its graph caps `k` itself, as every export does; else `max_k`) and those words;
    1 and None for sentiment."""
    if servable.name != "next_word":
        return 1, None
    size = servable.metadata.get("vocab_size")
    k = size if isinstance(size, int) and size > servable.max_k else servable.max_k
    try:
        out = servable.signature(texts=tf.constant(WARMUP_TEXTS[:1]), k=tf.constant(k, tf.int32))
    except tf.errors.InvalidArgumentError:
        k = servable.max_k
        out = servable.signature(texts=tf.constant(WARMUP_TEXTS[:1]), k=tf.constant(k, tf.int32))
    words = [w.decode("utf-8", "replace") for w in out["words"].numpy()[0].tolist()]
    return max(len(words), servable.max_k), WordIndex.of(words)


def completer(servable: Servable) -> Any:
    """The version's `complete` signature when it takes and gives what the service reads."""
    signature = servable.module.signatures.get(COMPLETE_SIGNATURE)
    if signature is None:
        return None
    _, inputs = signature.structured_input_signature
    outputs = set(signature.structured_outputs)
    if {key: spec.dtype for key, spec in inputs.items()} != COMPLETE_INPUTS or not (
        SIGNATURE_OUTPUTS["next_word"] | {"count"}
    ) <= outputs:
        log.warning("next_word version %s: unusable %s signature", servable.version, "complete")
        return None
    return signature


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
