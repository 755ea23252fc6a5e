"""Training: the tf.data input pipelines and the fitting of both models.

1. The language model reads the training reviews as one stream cut into fixed windows
   (x = window[:-1], y = window[1:]) and learns to predict each next token.
2. The classifier starts from its embedding and LSTM, trains its new head alone for a few steps,
   then everything together with a cosine-decayed learning rate; the best epoch is kept.
3. Weights fitted on validation blend its logits with those of the n-gram model
   (`training/ngram_model.py`) so that `positive_probability` means what it says.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy.optimize import minimize_scalar

from training.config import TrainConfig
from training.models import (
    LanguageModel,
    build_classifier,
    set_body_trainable,
    transfer_language_model,
)
from training.text import ensure_nonempty, keep_head_and_tail


class TimeBudget(keras.callbacks.Callback):
    """The step counts are the plan; this is only a safety net. It prints, after the first epoch,
    how long the planned steps will take at the speed measured, and stops training once `minutes`
    have passed, saying so loudly and recording the cut in `cuts` (the run's metadata keeps it):
    a model cut short is weaker than the preset promises."""

    def __init__(self, minutes: float, name: str, planned_steps: int, cuts: dict[str, str]):
        super().__init__()
        self.seconds, self.name, self.planned_steps, self.cuts = (
            minutes * 60,
            name,
            planned_steps,
            cuts,
        )
        self.started = time.monotonic()
        self.steps = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps += 1
        if time.monotonic() - self.started > self.seconds and not self.model.stop_training:
            self.model.stop_training = True
            self.cuts[self.name] = (
                f"stopped by its {self.seconds / 60:g}-minute budget after {self.steps:,} of "
                f"{self.planned_steps:,} planned steps"
            )
            print(
                f"time budget: {self.name} {self.cuts[self.name]}; the model is weaker than planned"
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == 0 and self.steps:
            expected = (time.monotonic() - self.started) / self.steps * self.planned_steps
            print(
                f"{self.name}: {self.planned_steps:,} steps planned, about {expected / 60:.1f} "
                f"minutes at this machine's speed (budget {self.seconds / 60:g})"
            )


# --- language model ----------------------------------------------------------------------------


def mixed_forms(
    written: list[np.ndarray], unpunctuated: list[np.ndarray], share: float, seed: int
) -> list[np.ndarray]:
    """The documents as written, but a random `share` of them without punctuation: the language
    model learns to continue both how people write and how many type in a box ("i loved this
    movie the acting was"). Whole documents, so a window is all of one form, as a text is."""
    dropped = np.random.default_rng(seed).random(len(written)) < share
    return [
        bare if drop else doc
        for doc, bare, drop in zip(written, unpunctuated, dropped, strict=True)
    ]


def language_model_windows(docs: list[np.ndarray], window: int, seed: int) -> np.ndarray:
    """Documents in a shuffled order, concatenated and cut into (n, window + 1) token windows."""
    order = np.random.default_rng(seed).permutation(len(docs))
    stream = np.concatenate([docs[i] for i in order] or [np.zeros(0, np.int32)])
    n = (len(stream) - 1) // window
    if n == 0:
        raise ValueError("not enough text to make one language-model window")
    # Consecutive windows overlap by one token: each one's last input is the next one's first.
    starts = np.arange(n) * window
    return stream[starts[:, None] + np.arange(window + 1)]


def _window_dataset(windows: np.ndarray, batch_size: int, seed: int | None) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices(windows)
    if seed is not None:
        ds = ds.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True).repeat()
    return (
        ds.batch(batch_size, drop_remainder=seed is not None)
        .map(lambda w: (w[:, :-1], w[:, 1:]))  # language-model labels: the input shifted by one
        .prefetch(tf.data.AUTOTUNE)
    )


def train_language_model(
    config: TrainConfig,
    train_docs: list[np.ndarray],
    val_docs: list[np.ndarray],
    log_dir: Path,
    cuts: dict[str, str] | None = None,
) -> tuple[LanguageModel, dict[str, list[float]]]:
    train_windows = language_model_windows(train_docs, config.lm_window, config.seed)
    val_windows = language_model_windows(val_docs, config.lm_window, config.seed)
    val_windows = val_windows[: config.lm_eval_windows]
    print(
        f"language model: {len(train_windows):,} training windows of {config.lm_window} tokens, "
        f"{len(val_windows):,} held-out windows"
    )
    model = LanguageModel(config, name="language_model")
    # A constant rate: within about one pass over the corpus the model is far from converged, and
    # a cosine decay to a tenth of this rate over all steps left it 0.3 nats worse at 900 steps
    # (measured). Only the last `lm_decay_share` of the steps anneal it, towards zero.
    epochs = max(1, config.lm_steps // config.lm_steps_per_epoch)
    steps = epochs * config.lm_steps_per_epoch
    decay_steps = max(1, round(steps * config.lm_decay_share))
    schedule = keras.optimizers.schedules.CosineDecay(
        config.lm_learning_rate,
        decay_steps=decay_steps,
        alpha=0.0,
        warmup_target=config.lm_learning_rate,  # "warm-up" from the rate to itself: constant
        warmup_steps=steps - decay_steps,
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=config.clip_norm))
    history = model.fit(
        _window_dataset(train_windows, config.lm_batch_size, config.seed),
        validation_data=_window_dataset(val_windows, 32, seed=None),
        epochs=epochs,
        steps_per_epoch=config.lm_steps_per_epoch,
        callbacks=_callbacks(
            log_dir / "language_model",
            TimeBudget(
                config.lm_minutes,
                f"{log_dir.name} language model",
                epochs * config.lm_steps_per_epoch,
                {} if cuts is None else cuts,
            ),
        ),
        shuffle=False,  # tf.data already shuffles; Keras would only warn that it cannot
        verbose=2,
    )
    return model, history.history


# --- sentiment classifier ----------------------------------------------------------------------


def review_tokens(ids: tf.RaggedTensor, config: TrainConfig) -> tf.RaggedTensor:
    """What the classifier reads of a review, in training and in the exported graph alike."""
    return ensure_nonempty(
        keep_head_and_tail(ids, config.review_head_tokens, config.review_tail_tokens)
    )


# Reviews of a length between two boundaries are batched together (`_review_dataset`).
BUCKET_BOUNDARIES = [32, 64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768]


def _review_dataset(
    ids: tf.RaggedTensor, labels: np.ndarray, batch_size: int, seed: int | None
) -> tf.data.Dataset:
    """Batches of reviews of similar length, each padded only to its longest review."""
    ds = tf.data.Dataset.from_tensor_slices((ids, labels.astype(np.float32)))
    ds = ds.map(lambda tokens, label: (tf.identity(tokens), label))  # ragged rows → dense rows
    if seed is not None:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda tokens, label: tf.shape(tokens)[0],
        bucket_boundaries=BUCKET_BOUNDARIES,
        bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
    )
    # Bucketing hides the number of batches from tf.data; Keras, not knowing where an epoch
    # ends, would take the end of the first one for data running out and warn about it.
    batches = review_batches(ids.row_lengths().numpy(), batch_size)
    return ds.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)


def review_batches(lengths: np.ndarray, batch_size: int) -> int:
    """Batches per pass of `_review_dataset`: each bucket of lengths is cut into full batches
    and one last partial batch, whatever the shuffled order."""
    buckets = np.bincount(
        np.searchsorted(BUCKET_BOUNDARIES, lengths, side="right"),
        minlength=len(BUCKET_BOUNDARIES) + 1,
    )
    return int(np.sum(-(-buckets // batch_size)))


def train_classifier(
    config: TrainConfig,
    language_model: LanguageModel,
    train: tuple[tf.RaggedTensor, np.ndarray],
    val: tuple[tf.RaggedTensor, np.ndarray],
    log_dir: Path,
    cuts: dict[str, str] | None = None,
) -> tuple[keras.Model, dict[str, list[float]]]:
    classifier = build_classifier(config)
    transfer_language_model(classifier, language_model)
    train_ds = _review_dataset(*train, config.clf_batch_size, config.seed)
    val_ds = _review_dataset(*val, 64, seed=None)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    accuracy = keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")  # on logits

    # 1. The head alone: random weights would otherwise push large gradients into the LSTM.
    set_body_trainable(classifier, False)
    classifier.compile(
        optimizer=keras.optimizers.Adam(config.clf_head_learning_rate, clipnorm=config.clip_norm),
        loss=loss,
        metrics=[accuracy],
    )
    print(f"sentiment: head alone for {config.clf_head_steps} steps")
    classifier.fit(
        train_ds.repeat(), steps_per_epoch=config.clf_head_steps, epochs=1, shuffle=False, verbose=2
    )

    # 2. Everything, with a learning rate that decays to zero over the planned epochs.
    set_body_trainable(classifier, True)
    steps_per_epoch = int(np.ceil(len(train[1]) / config.clf_batch_size))
    total_steps = steps_per_epoch * config.clf_epochs
    warmup_steps = total_steps // 20  # a short warm-up, then a long decay (slanted triangle)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.clf_learning_rate / 10,
        decay_steps=total_steps - warmup_steps,
        warmup_target=config.clf_learning_rate,
        warmup_steps=warmup_steps,
    )
    classifier.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=config.clip_norm),
        loss=loss,
        metrics=[accuracy],
    )
    best_epoch = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.clf_epochs, restore_best_weights=True
    )
    # One iterator over a repeated dataset for every epoch: each epoch reshuffles once, and
    # Keras opens no iterator ahead of time at an epoch's end.
    history = classifier.fit(
        train_ds.repeat(),
        validation_data=val_ds,
        epochs=config.clf_epochs,
        steps_per_epoch=review_batches(train[0].row_lengths().numpy(), config.clf_batch_size),
        callbacks=[
            best_epoch,
            *_callbacks(
                log_dir / "sentiment",
                TimeBudget(
                    config.clf_minutes,
                    f"{log_dir.name} sentiment",
                    total_steps,
                    {} if cuts is None else cuts,
                ),
            ),
        ],
        shuffle=False,
        verbose=2,
    )
    return classifier, history.history


def predict_logits(classifier: keras.Model, ids: tf.RaggedTensor) -> np.ndarray:
    """Logits in the order of `ids` (batched by length for speed, then put back in order)."""
    lengths = ids.row_lengths().numpy()
    order = np.argsort(lengths, kind="stable")
    logits = np.zeros(len(lengths), np.float32)
    for start in range(0, len(order), 128):
        rows = order[start : start + 128]
        batch = tf.gather(ids, rows).to_tensor()
        logits[rows] = classifier(batch, training=False).numpy()[:, 0]
    return logits


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising validation log-loss of sigmoid(logit / T)."""

    def log_loss(log_t: float) -> float:
        z = logits / np.exp(log_t)
        # log(1 + e^z) - y z, computed stably
        return float(np.mean(np.logaddexp(0.0, z) - labels * z))

    best = minimize_scalar(log_loss, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(best.x))


def fit_blend(member_logits: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Each member's weight in the served logit, sum(weight * member logit), fitted on validation.

    Every member's logits are divided by its own temperature, so each votes on the same scale of
    confidence; they are averaged, and the average is calibrated by one more temperature. With
    one member this is plain temperature scaling. Weights fitted freely by log-loss would favour
    whatever is best on long reviews, and gave the n-gram model too little say on short
    sentences (74.8% there against 75.2% for this average, measured).
    """
    own = {name: fit_temperature(logits, labels) for name, logits in member_logits.items()}
    average = np.mean([logits / own[name] for name, logits in member_logits.items()], axis=0)
    final = fit_temperature(average, labels)
    return {name: 1.0 / (len(member_logits) * own[name] * final) for name in member_logits}


def blend_logits(member_logits: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    return np.sum([weights[name] * logits for name, logits in member_logits.items()], axis=0)


def _callbacks(log_dir: Path, budget: TimeBudget) -> list[keras.callbacks.Callback]:
    return [budget, keras.callbacks.TensorBoard(str(log_dir), update_freq="epoch")]
