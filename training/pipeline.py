"""The whole run, step by step: corpus → tokenizer → language model → classifier → evaluation →
two new versions in the model store."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy.special import expit

from training import reference, report
from training.config import TrainConfig
from training.data import Corpus, Split, last_sentences, load_corpus, split_by_movie, subsample
from training.evaluate import fit_next_word_mix, next_word_metrics
from training.export import (
    next_version,
    next_word_module,
    publish,
    sentiment_module,
    staged_version,
    write_version,
)
from training.ngram_model import NgramLogits, fit_ngram_model
from training.text import (
    PAD_ID,
    build_vectorizer,
    encode,
    punctuation_ids,
    reverse_rows,
    save_vocabulary,
    without_punctuation,
)
from training.train import (
    blend_logits,
    fit_blend,
    mixed_forms,
    predict_logits,
    review_tokens,
    train_classifier,
    train_language_model,
)
from training.trigram_model import TrigramProbabilities, fit_frequent_kneser_ney


@dataclass
class RunResult:
    version: int
    paths: dict[str, Path]
    metrics: dict[str, float]


def run(config: TrainConfig, data: Path | None, model_dir: Path, cache_dir: Path) -> RunResult:
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)

    # 1. Data: every problem with it is reported before anything is trained or written.
    corpus = subsample(
        load_corpus(data, cache_dir), config.max_labelled, config.max_unlabelled, config.seed
    )
    split = split_by_movie(corpus, config.validation_fraction, config.seed)
    _print_data(corpus, split)
    _check_writable(model_dir)

    # 2. One vocabulary for both models, from training text only.
    vectorizer = build_vectorizer(split.lm_train_texts, config.vocab_size)
    vocab_size = vectorizer.vocabulary_size()
    config = config.override(vocab_size=vocab_size)  # a small corpus may have fewer words
    print(f"tokenizer: {vocab_size:,} tokens ({_seconds(started)})")

    # 3. Per direction, a language model and a classifier fine-tuned from it. The forward
    #    language model is also the next-word model.
    lm_train = encode(vectorizer, split.lm_train_texts)
    lm_val = encode(vectorizer, split.lm_val_texts)
    # Next words are also asked of text typed without punctuation; the forward language model,
    # the trigram and the mix learn that form too, and it is evaluated apart.
    punctuation = punctuation_ids(vectorizer.get_vocabulary())
    unpunctuated = {
        "train": without_punctuation(lm_train, punctuation),
        "val": without_punctuation(lm_val, punctuation),
    }
    train_ids = review_tokens(_ragged(encode(vectorizer, split.train_texts)), config)
    val_tokens = encode(vectorizer, split.val_texts)
    val_ids = review_tokens(_ragged(val_tokens), config)
    log_dir = model_dir / "logs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    directions = ["forward", "backward"] if config.backward_model else ["forward"]
    language_models, classifiers, histories = {}, {}, {}
    cuts: dict[str, str] = {}  # what a time budget stopped short of its planned steps
    for direction in directions:
        flip = direction == "backward"
        # Only the forward model suggests next words; the backward one reads reviews as written.
        train_docs = (
            [doc[::-1] for doc in lm_train]
            if flip
            else mixed_forms(
                lm_train, unpunctuated["train"], config.lm_unpunctuated_share, config.seed
            )
        )
        language_models[direction], histories[f"{direction} language model"] = train_language_model(
            config.override(lm_steps=config.lm_backward_steps) if flip else config,
            train_docs,
            [doc[::-1] for doc in lm_val] if flip else lm_val,
            log_dir / direction,
            cuts,
        )
        classifiers[direction], histories[f"{direction} sentiment"] = train_classifier(
            config,
            language_models[direction],
            (reverse_rows(train_ids) if flip else train_ids, split.train_labels),
            (reverse_rows(val_ids) if flip else val_ids, split.val_labels),
            log_dir / direction,
            cuts,
        )
        print(f"{direction} models trained ({_seconds(started)})")
    # The forward language model serves next words, mixed with a cache of the text's own history
    # and a trigram model of the corpus in both forms, weighed on held-out reviews in both forms.
    forward = language_models["forward"]
    trigram = (
        TrigramProbabilities(
            fit_frequent_kneser_ney(
                [lm_train, unpunctuated["train"]], vocab_size, zero_mass=(PAD_ID,)
            )
        )
        if config.next_word_trigram
        else None
    )
    # The validation reviews from the last one back, each in both forms: others than the metrics
    # score first.
    mix_docs = [
        doc for pair in zip(lm_val[::-1], unpunctuated["val"][::-1], strict=True) for doc in pair
    ]
    next_word_mix = (
        fit_next_word_mix(
            forward, trigram, mix_docs, config.next_word_context, config.next_word_mix_positions
        )
        if config.next_word_mix_positions > 0
        else None
    )
    metrics = {}
    for form, docs in (("", lm_val), ("_unpunctuated", unpunctuated["val"])):
        metrics |= next_word_metrics(
            forward,
            docs,
            config.next_word_context,
            config.next_word_eval_positions,
            next_word_mix,
            punctuation,
            form,
        )
    print(f"next word: {_format(metrics)} ({_seconds(started)})")

    # 4. The sentiment answer: the directions' logits averaged, blended with the n-gram model's
    #    by weights fitted on validation, which also calibrate it.
    ngram = (
        NgramLogits(
            fit_ngram_model(
                split.train_texts, split.train_labels, config.ngram_features, config.seed
            )
        )
        if config.ngram_features > 0
        else None
    )

    def member_logits(texts: list[str]) -> dict[str, np.ndarray]:
        ids = review_tokens(_ragged(encode(vectorizer, texts)), config)
        members = {"lstm": _ensemble_logits(classifiers, ids)}
        if ngram is not None:
            members["ngram"] = _ngram_logits(ngram, texts)
        return members

    val_members = member_logits(split.val_texts)
    blend = fit_blend(val_members, split.val_labels)
    probabilities = expit(blend_logits(val_members, blend))
    metrics |= _sentiment_metrics(probabilities, split.val_labels, blend)
    metrics |= _accuracies(val_members, blend, split.val_labels, "accuracy")
    short_texts, short_labels = last_sentences(split.val_texts, split.val_labels)
    eval_sets = {"accuracy": (split.val_texts, split.val_labels)}
    if short_texts:
        metrics |= _accuracies(member_logits(short_texts), blend, short_labels, "short_accuracy")
        metrics["sentiment_short_texts"] = len(short_labels)
        eval_sets["short_accuracy"] = (short_texts, short_labels)
    if corpus.test_texts:
        test_members = member_logits(corpus.test_texts)
        metrics |= _accuracies(test_members, blend, corpus.test_labels, "test_accuracy")
    sentiment_metrics = {k: v for k, v in metrics.items() if k.startswith("sentiment_")}
    print(f"sentiment: {_format(sentiment_metrics)} ({_seconds(started)})")

    # 5. Baselines on the very same split, so the comparison is like for like.
    baselines = (
        _baselines(config, split, eval_sets, lm_train, lm_val, unpunctuated, punctuation)
        if config.baselines
        else {}
    )

    # 6. Two new versions, each staged aside and renamed into place only when complete.
    version = next_version(model_dir)
    metadata = {
        "version": version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": {"source": corpus.source, "sha256": corpus.sha256},
        "vocab_size": vocab_size,
        "config": config.to_dict(),
        "metrics": metrics,
        "baselines": baselines,
        "training_seconds": round(time.monotonic() - started, 1),
        # Empty when every model ran its planned steps, as it should.
        "time_budget_cuts": cuts,
    }
    # What the service compares its traffic with (input and score drift).
    references = reference.references(val_tokens, probabilities)
    archives = {
        "sentiment": sentiment_module(vectorizer, classifiers, ngram, blend, config),
        "next_word": next_word_module(vectorizer, forward, next_word_mix, config),
    }

    def extra_files(directory: Path) -> None:
        save_vocabulary(vectorizer, directory / "vocab.txt")
        report.plot_learning_curves(histories, directory / "learning_curves.png")
        report.plot_reliability_diagram(
            probabilities, split.val_labels, directory / "reliability.png"
        )
        report.plot_confusion_matrix(
            report.confusion_matrix(probabilities, split.val_labels),
            directory / "confusion_matrix.png",
        )
        report.write_report(
            directory / "report.md",
            metrics,
            baselines,
            figures=("learning_curves.png", "reliability.png", "confusion_matrix.png"),
        )

    paths: dict[str, Path] = {}
    with (
        staged_version(model_dir, "sentiment") as s_stage,
        staged_version(model_dir, "next_word") as n_stage,
    ):
        for name, stage in (("sentiment", s_stage), ("next_word", n_stage)):
            described = {"name": name, **metadata, "reference": references[name]}
            write_version(archives[name], stage, described, extra_files)
        for name, stage in (("next_word", n_stage), ("sentiment", s_stage)):
            paths[name] = publish(stage, model_dir, name, version)
    print(f"exported version {version} to {model_dir} in {_seconds(started)}")
    for name, cut in cuts.items():
        print(f"warning: the {name} was {cut}: raise the preset's time budget to get its plan")
    return RunResult(version, paths, metrics)


def _sentiment_metrics(
    probabilities: np.ndarray, labels: np.ndarray, blend: dict[str, float]
) -> dict[str, float]:
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    log_loss = -np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))
    return {
        "sentiment_accuracy": _accuracy(probabilities, labels),
        "sentiment_log_loss": float(log_loss),
        "sentiment_ece": report.expected_calibration_error(probabilities, labels),
        **{f"sentiment_{name}_weight": weight for name, weight in blend.items()},
        "sentiment_val_reviews": int(len(labels)),
    }


def _accuracies(
    members: dict[str, np.ndarray], blend: dict[str, float], labels: np.ndarray, name: str
) -> dict[str, float]:
    """sentiment_<name> of the blend and, when there are several members, sentiment_<member>_<name>
    of each alone (e.g. sentiment_lstm_short_accuracy)."""
    found = {f"sentiment_{name}": _accuracy(expit(blend_logits(members, blend)), labels)}
    if len(members) > 1:
        found |= {f"sentiment_{m}_{name}": _accuracy(expit(z), labels) for m, z in members.items()}
    return found


def _baselines(
    config: TrainConfig,
    split: Split,
    eval_sets: dict[str, tuple[list[str], np.ndarray]],
    lm_train: list[np.ndarray],
    lm_val: list[np.ndarray],
    unpunctuated: dict[str, list[np.ndarray]],
    punctuation: np.ndarray,
) -> dict[str, float]:
    from training.baselines import kneser_ney_trigram, sentiment_baselines

    started = time.monotonic()
    found = sentiment_baselines(split.train_texts, split.train_labels, eval_sets, config.seed)
    # A trigram per form, each fitted on the training text in that form.
    positions = config.next_word_eval_positions
    found |= kneser_ney_trigram(
        lm_train, lm_val, config.vocab_size, max_eval_positions=positions, punctuation=punctuation
    )
    found |= kneser_ney_trigram(
        unpunctuated["train"],
        unpunctuated["val"],
        config.vocab_size,
        max_eval_positions=positions,
        form="_unpunctuated",
    )
    print(f"baselines: {_format(found)} ({time.monotonic() - started:.0f}s)")
    return found


def _ensemble_logits(classifiers: dict[str, keras.Model], ids: tf.RaggedTensor) -> np.ndarray:
    logits = [
        predict_logits(model, reverse_rows(ids) if direction == "backward" else ids)
        for direction, model in classifiers.items()
    ]
    return np.mean(logits, axis=0)


def _ngram_logits(ngram: NgramLogits, texts: list[str]) -> np.ndarray:
    return np.concatenate(
        [ngram(tf.constant(texts[i : i + 1024])).numpy() for i in range(0, len(texts), 1024)]
    )


def _ragged(ids: list[np.ndarray]) -> tf.RaggedTensor:
    lengths = np.array([len(row) for row in ids], np.int64)
    values = np.concatenate(ids) if ids else np.zeros(0, np.int32)
    return tf.RaggedTensor.from_row_lengths(values.astype(np.int64), lengths)


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((probabilities >= 0.5) == (labels == 1)))


def _check_writable(model_dir: Path) -> None:
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        probe = model_dir / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise PermissionError(f"{model_dir}: cannot write the model store ({error})") from None


def _print_data(corpus: Corpus, split: Split) -> None:
    print(
        f"data: {corpus.source}: {len(split.train_texts):,} training and {len(split.val_texts):,} "
        f"validation reviews (split by movie), {len(split.lm_train_texts):,} texts for the "
        f"language model, {len(corpus.test_texts):,} test reviews"
    )


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))


def _seconds(started: float) -> str:
    return f"{time.monotonic() - started:.0f}s"
