"""The whole run, step by step: corpus → tokenizer → language model → classifier → evaluation →
two new versions in the model store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from scipy.special import expit

from training import reference, report
from training.behaviour import build_suite, failure_rates, suite_texts
from training.config import TrainConfig
from training.data import (
    Columns,
    Corpus,
    Split,
    TestSet,
    last_sentences,
    load_corpus,
    load_test_file,
    split_by_movie,
    subsample,
)
from training.evaluate import fit_next_word_mix, next_word_metrics
from training.export import (
    next_version,
    next_word_module,
    publish,
    sentiment_module,
    staged_version,
    write_files,
    write_graph,
)
from training.keyboards import ModelKeyboard, TrigramKeyboard, Vocabulary
from training.keystrokes import keystroke_figures, keystroke_metrics, pick_sentences
from training.lm_data import LmData, add_lm_data, load_lm_data
from training.models import LanguageModel, NextWordMix
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


@dataclass(frozen=True)
class Inputs:
    """What a run reads besides `--data`: the columns of a CSV/TSV/JSONL file, a separate
    labelled test file, and unlabelled text for the language model (its column in tables)."""

    columns: Columns = Columns()
    test: Path | None = None
    lm_data: tuple[Path, ...] = ()
    lm_text_column: str | None = None  # None: the text column


@dataclass
class RunResult:
    version: int
    paths: dict[str, Path]
    metrics: dict[str, float]


@dataclass
class Prepared:
    """What every step reads: the split, the shared vocabulary and the encoded language-model
    text, as written and without punctuation."""

    config: TrainConfig
    corpus: Corpus
    split: Split
    vectorizer: keras.layers.TextVectorization
    punctuation: np.ndarray
    lm_train: list[np.ndarray]
    lm_val: list[np.ndarray]
    unpunctuated: dict[str, list[np.ndarray]]  # "train" and "val", punctuation removed
    test: TestSet | None  # --test, evaluated apart
    lm_data: LmData  # --lm-data, as read
    lm_data_val: list[np.ndarray]  # its held-out share, encoded


@dataclass
class Trained:
    """Per direction, the language model and the classifier fine-tuned from it."""

    language_models: dict[str, LanguageModel]
    classifiers: dict[str, keras.Model]
    histories: dict[str, dict[str, list[float]]]
    cuts: dict[str, str]  # what a time budget stopped short of its planned steps


@dataclass
class Sentiment:
    """The sentiment answer's n-gram member, blend weights and validation probabilities."""

    ngram: NgramLogits
    blend: dict[str, float]
    probabilities: np.ndarray
    eval_sets: dict[str, tuple[list[str], np.ndarray]]  # what the baselines are scored on
    test: dict[str, object] | None = None  # the figures on --test
    test_probabilities: np.ndarray | None = None
    # Failure rates on the behavioural suite, of the blend ("served") and of each member.
    behaviour: dict[str, dict[str, float]] = field(default_factory=dict)


def run(
    config: TrainConfig,
    data: Path | None,
    model_dir: Path,
    cache_dir: Path,
    inputs: Inputs | None = None,
) -> RunResult:
    """Corpus → tokenizer → language models → classifiers → evaluation → two new versions."""
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    prepared = prepare(config, data, model_dir, cache_dir, inputs or Inputs())
    print(f"tokenizer: {prepared.config.vocab_size:,} tokens ({_seconds(started)})")
    log_dir = model_dir / "logs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    trained = train_directions(prepared, log_dir, started)
    mix, metrics = fit_next_word(prepared, trained.language_models["forward"])
    print(f"next word: {_format(metrics)} ({_seconds(started)})")
    sentiment, sentiment_metrics = fit_sentiment(prepared, trained.classifiers)
    metrics |= sentiment_metrics
    print(f"sentiment: {_format(sentiment_metrics)} ({_seconds(started)})")
    # Baselines on the very same split, so the comparison is like for like.
    behaviour = sentiment.behaviour
    baselines = _baselines(prepared, sentiment.eval_sets, behaviour) if config.baselines else {}
    version = next_version(model_dir)
    metadata = {
        "version": version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": _data_metadata(prepared),
        "vocab_size": prepared.config.vocab_size,
        "config": prepared.config.to_dict(),
        "metrics": metrics,
        "baselines": baselines,
        "behaviour": behaviour,
        "training_seconds": round(time.monotonic() - started, 1),
        # Empty when every model ran its planned steps, as it should.
        "time_budget_cuts": trained.cuts,
    }
    if sentiment.test is not None:
        metadata["test"] = sentiment.test
    paths = export(prepared, trained, mix, sentiment, metadata, model_dir)
    print(f"exported version {version} to {model_dir} in {_seconds(started)}")
    for name, cut in trained.cuts.items():
        print(f"warning: the {name} was {cut}: raise the preset's time budget to get its plan")
    return RunResult(version, paths, metrics)


def prepare(
    config: TrainConfig,
    data: Path | None,
    model_dir: Path,
    cache_dir: Path,
    inputs: Inputs | None = None,
) -> Prepared:
    """The corpus split by movie (or group) and one vocabulary for both models, from training
    text only (with the --lm-data texts). Every problem with the data, the test file, the
    language-model text or the model store is reported before anything is trained or written."""
    inputs = inputs or Inputs()
    corpus = subsample(
        load_corpus(data, cache_dir, inputs.columns),
        config.max_labelled,
        config.max_unlabelled,
        config.seed,
    )
    test = load_test_file(inputs.test, inputs.columns, corpus.label_map) if inputs.test else None
    lm_data = load_lm_data(inputs.lm_data, inputs.lm_text_column or inputs.columns.text)
    split = add_lm_data(
        split_by_movie(corpus, config.validation_fraction, config.seed),
        lm_data,
        config.validation_fraction,
        config.lm_data_repeat,
        config.seed,
    )
    _print_data(corpus, split, test, lm_data)
    _check_writable(model_dir)
    vectorizer = build_vectorizer(split.lm_train_texts, config.vocab_size)
    # A small corpus may have fewer words than the preset asks for.
    config = config.override(vocab_size=vectorizer.vocabulary_size())
    lm_train = encode(vectorizer, split.lm_train_texts)
    lm_val = encode(vectorizer, split.lm_val_texts)
    # Next words are also asked of text typed without punctuation; the forward language model,
    # the trigram and the mix learn that form too, and it is evaluated apart.
    punctuation = punctuation_ids(vectorizer.get_vocabulary())
    unpunctuated = {
        "train": without_punctuation(lm_train, punctuation),
        "val": without_punctuation(lm_val, punctuation),
    }
    return Prepared(
        config,
        corpus,
        split,
        vectorizer,
        punctuation,
        lm_train,
        lm_val,
        unpunctuated,
        test,
        lm_data,
        encode(vectorizer, split.lm_data_val_texts) if split.lm_data_val_texts else [],
    )


def train_directions(prepared: Prepared, log_dir: Path, started: float) -> Trained:
    """Per reading direction, a language model and a classifier fine-tuned from it. Only the
    forward model suggests next words, so only it also reads text without punctuation; the
    backward one reads every text from its end, as written."""
    config, split = prepared.config, prepared.split
    train_ids = review_tokens(_ragged(encode(prepared.vectorizer, split.train_texts)), config)
    val_ids = review_tokens(_ragged(encode(prepared.vectorizer, split.val_texts)), config)
    trained = Trained({}, {}, {}, {})
    for direction in ["forward", "backward"] if config.backward_model else ["forward"]:
        flip = direction == "backward"
        train_docs = (
            [doc[::-1] for doc in prepared.lm_train]
            if flip
            else mixed_forms(
                prepared.lm_train,
                prepared.unpunctuated["train"],
                config.lm_unpunctuated_share,
                config.seed,
            )
        )
        model, trained.histories[f"{direction} language model"] = train_language_model(
            config.override(lm_steps=config.lm_backward_steps) if flip else config,
            train_docs,
            [doc[::-1] for doc in prepared.lm_val] if flip else prepared.lm_val,
            log_dir / direction,
            trained.cuts,
        )
        trained.language_models[direction] = model
        trained.classifiers[direction], trained.histories[f"{direction} sentiment"] = (
            train_classifier(
                config,
                model,
                (reverse_rows(train_ids) if flip else train_ids, split.train_labels),
                (reverse_rows(val_ids) if flip else val_ids, split.val_labels),
                log_dir / direction,
                trained.cuts,
            )
        )
        print(f"{direction} models trained ({_seconds(started)})")
    return trained


def fit_next_word(
    prepared: Prepared, forward: LanguageModel
) -> tuple[NextWordMix, dict[str, float]]:
    """The served next-word model: the forward language model mixed with a cache of the text's
    own history and a trigram model of the corpus in both forms, the mix weighed on held-out
    reviews in both forms; and its metrics, in each form apart."""
    config, unpunctuated = prepared.config, prepared.unpunctuated
    trigram = TrigramProbabilities(
        fit_frequent_kneser_ney(
            [prepared.lm_train, unpunctuated["train"]], config.vocab_size, zero_mass=(PAD_ID,)
        )
    )
    # The validation reviews from the last one back, each in both forms: others than the
    # metrics score first.
    mix_docs = [
        doc
        for pair in zip(prepared.lm_val[::-1], unpunctuated["val"][::-1], strict=True)
        for doc in pair
    ]
    mix = fit_next_word_mix(
        forward, trigram, mix_docs, config.next_word_context, config.next_word_mix_positions
    )
    metrics: dict[str, float] = {}
    for form, docs in (("", prepared.lm_val), ("_unpunctuated", unpunctuated["val"])):
        metrics |= next_word_metrics(
            forward,
            docs,
            config.next_word_context,
            config.next_word_eval_positions,
            mix,
            prepared.punctuation,
            form,
        )
    if prepared.lm_data_val:  # next words in the user's own domain, as written
        metrics |= next_word_metrics(
            forward,
            prepared.lm_data_val,
            config.next_word_context,
            config.next_word_eval_positions,
            mix,
            prepared.punctuation,
            "_lm_data",
        )
        metrics["next_word_lm_data_texts"] = len(prepared.lm_data_val)
    return mix, metrics


def fit_sentiment(
    prepared: Prepared, classifiers: dict[str, keras.Model]
) -> tuple[Sentiment, dict[str, float]]:
    """The sentiment answer: the directions' logits averaged, blended with the n-gram model's by
    weights fitted on validation, which also calibrate it; and its metrics on validation, its
    last sentences and the test reviews (when the corpus has them)."""
    config, split, corpus = prepared.config, prepared.split, prepared.corpus
    ngram = NgramLogits(
        fit_ngram_model(
            split.train_texts,
            split.train_labels,
            config.ngram_features,
            config.seed,
            config.ngram_negation_scope,
        )
    )
    members = partial(_member_logits, prepared, classifiers, ngram)
    val_members = members(split.val_texts)
    blend = fit_blend(val_members, split.val_labels)
    probabilities = expit(blend_logits(val_members, blend))
    metrics = _sentiment_metrics(probabilities, split.val_labels, blend)
    metrics |= _accuracies(val_members, blend, split.val_labels, "accuracy")
    short_texts, short_labels = last_sentences(split.val_texts, split.val_labels)
    eval_sets = {"accuracy": (split.val_texts, split.val_labels)}
    if short_texts:
        metrics |= _accuracies(members(short_texts), blend, short_labels, "short_accuracy")
        metrics["sentiment_short_texts"] = len(short_labels)
        eval_sets["short_accuracy"] = (short_texts, short_labels)
    if corpus.test_texts:
        test_members = members(corpus.test_texts)
        metrics |= _accuracies(test_members, blend, corpus.test_labels, "test_accuracy")
    found = Sentiment(ngram, blend, probabilities, eval_sets)
    found.behaviour = _behaviour(members, blend)
    metrics["sentiment_behaviour_failure"] = found.behaviour["served"]["mean"]
    if prepared.test is not None:
        test_members = members(prepared.test.texts)
        found.test_probabilities = expit(blend_logits(test_members, blend))
        found.test = _test_figures(prepared, test_members, blend, found.test_probabilities)
    return found, metrics


def _behaviour(
    members: Callable[[list[str]], dict[str, np.ndarray]], blend: dict[str, float]
) -> dict[str, dict[str, float]]:
    """The behavioural suite's failure rates: of the served blend and, when there are several
    members, of each alone."""
    suite = build_suite()
    logits = members(suite_texts(suite))
    found = {"served": failure_rates(suite, expit(blend_logits(logits, blend)))}
    if len(logits) > 1:
        found |= {member: failure_rates(suite, expit(z)) for member, z in logits.items()}
    return found


def _test_figures(
    prepared: Prepared,
    members: dict[str, np.ndarray],
    blend: dict[str, float],
    probabilities: np.ndarray,
) -> dict[str, object]:
    """What is served, scored on the --test file: kept apart from the validation metrics."""
    test = prepared.test
    assert test is not None
    labels = test.labels
    figures = _sentiment_metrics(probabilities, labels, blend)
    found: dict[str, object] = {
        "source": test.source,
        "sha256": test.sha256,
        "reviews": int(len(labels)),
        "positive_share": float(np.mean(labels)),
        "accuracy": figures["sentiment_accuracy"],
        "auc": report.roc_auc(probabilities, labels),
        "log_loss": figures["sentiment_log_loss"],
        "ece": figures["sentiment_ece"],
        "confusion_matrix": report.confusion_matrix(probabilities, labels),
        # A test text that is also a training text measures memory, not generalisation.
        "texts_also_in_training": len(set(test.texts) & set(prepared.split.train_texts)),
    }
    if len(members) > 1:
        found |= {f"{m}_accuracy": _accuracy(expit(z), labels) for m, z in members.items()}
    return found


def export(
    prepared: Prepared,
    trained: Trained,
    mix: NextWordMix,
    sentiment: Sentiment,
    metadata: dict,
    model_dir: Path,
) -> dict[str, Path]:
    """Both models as the next version, each staged aside with its vocabulary, figures, report
    and metadata, and renamed into place only when both are complete."""
    config, vectorizer = prepared.config, prepared.vectorizer
    val_tokens = encode(vectorizer, prepared.split.val_texts)
    # What the service compares its traffic with (input and score drift).
    references = reference.references(val_tokens, sentiment.probabilities)
    archives = {
        "sentiment": sentiment_module(
            vectorizer, trained.classifiers, sentiment.ngram, sentiment.blend, config
        ),
        "next_word": next_word_module(vectorizer, trained.language_models["forward"], mix, config),
    }
    extra_files = partial(_write_extra_files, prepared, trained, sentiment, metadata)
    paths: dict[str, Path] = {}
    with (
        staged_version(model_dir, "sentiment") as s_stage,
        staged_version(model_dir, "next_word") as n_stage,
    ):
        for name, stage in (("sentiment", s_stage), ("next_word", n_stage)):
            write_graph(archives[name], stage)
        # The exported next-word model, loaded back, types held-out sentences as a keyboard.
        metadata["metrics"] |= keystrokes(prepared, mix, n_stage)
        for name, stage in (("sentiment", s_stage), ("next_word", n_stage)):
            described = {"name": name, **metadata, "reference": references[name]}
            write_files(stage, described, extra_files)
        for name, stage in (("next_word", n_stage), ("sentiment", s_stage)):
            paths[name] = publish(stage, model_dir, name, metadata["version"])
    return paths


def keystrokes(prepared: Prepared, mix: NextWordMix, exported: Path) -> dict[str, float]:
    """Keystroke saving rate and top-3 recall of the exported next-word model typing held-out
    sentences (both forms), beside the keyboard of its trigram member alone."""
    config, started = prepared.config, time.monotonic()
    sentences = pick_sentences(prepared.split.lm_val_texts, config.keystroke_sentences, config.seed)
    if not sentences or mix.trigram is None:
        return {}
    tokens = prepared.vectorizer.get_vocabulary()
    ours = ModelKeyboard(tf.saved_model.load(str(exported)), Vocabulary(tokens))
    trigram = TrigramKeyboard(
        mix.trigram.counts(), tokens, lambda texts: encode(prepared.vectorizer, texts)
    )
    found = keystroke_metrics(
        keystroke_figures(ours, sentences), keystroke_figures(trigram, sentences)
    )
    found["next_word_keystroke_sentences"] = len(sentences)
    found["next_word_keystroke_seconds"] = round(time.monotonic() - started, 1)
    print(f"keystrokes: {_format(found)}")
    return found


def _write_extra_files(
    prepared: Prepared, trained: Trained, sentiment: Sentiment, metadata: dict, directory: Path
) -> None:
    """The vocabulary, the three figures and report.md, into each version's directory."""
    labels = prepared.split.val_labels
    save_vocabulary(prepared.vectorizer, directory / "vocab.txt")
    report.plot_learning_curves(trained.histories, directory / "learning_curves.png")
    report.plot_reliability_diagram(sentiment.probabilities, labels, directory / "reliability.png")
    report.plot_confusion_matrix(
        report.confusion_matrix(sentiment.probabilities, labels),
        directory / "confusion_matrix.png",
    )
    figures = ["learning_curves.png", "reliability.png", "confusion_matrix.png"]
    if sentiment.test is not None and sentiment.test_probabilities is not None:
        test_labels = prepared.test.labels if prepared.test else labels
        report.plot_reliability_diagram(
            sentiment.test_probabilities, test_labels, directory / "test_reliability.png"
        )
        report.plot_confusion_matrix(
            report.confusion_matrix(sentiment.test_probabilities, test_labels),
            directory / "test_confusion_matrix.png",
        )
        figures += ["test_reliability.png", "test_confusion_matrix.png"]
    report.write_report(
        directory / "report.md",
        metadata["metrics"],
        metadata["baselines"],
        figures=figures,
        test=metadata.get("test"),
        behaviour=metadata.get("behaviour"),
    )


def _member_logits(
    prepared: Prepared,
    classifiers: dict[str, keras.Model],
    ngram: NgramLogits,
    texts: list[str],
) -> dict[str, np.ndarray]:
    """Each member's logits for `texts`: the directions' LSTMs averaged, and the n-gram model."""
    ids = review_tokens(_ragged(encode(prepared.vectorizer, texts)), prepared.config)
    return {"lstm": _ensemble_logits(classifiers, ids), "ngram": _ngram_logits(ngram, texts)}


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
    prepared: Prepared,
    eval_sets: dict[str, tuple[list[str], np.ndarray]],
    behaviour: dict[str, dict[str, float]],
) -> dict[str, float]:
    """TF-IDF+LR and NB-LR on the sentiment sets, and a Kneser-Ney trigram per form, each
    fitted on the training text in that form."""
    from training.baselines import kneser_ney_trigram, sentiment_baselines

    config, split, unpunctuated = prepared.config, prepared.split, prepared.unpunctuated
    started = time.monotonic()
    found = sentiment_baselines(
        split.train_texts, split.train_labels, eval_sets, config.seed, behaviour
    )
    positions = config.next_word_eval_positions
    found |= kneser_ney_trigram(
        prepared.lm_train,
        prepared.lm_val,
        config.vocab_size,
        max_eval_positions=positions,
        punctuation=prepared.punctuation,
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


def _data_metadata(prepared: Prepared) -> dict[str, object]:
    """What the version was trained on: the labelled data, how its columns and labels were
    read, and the language model's extra text, each file with its checksum."""
    corpus = prepared.corpus
    found: dict[str, object] = {"source": corpus.source, "sha256": corpus.sha256}
    if corpus.columns is not None:
        found["columns"] = {
            "text": corpus.columns.text,
            "label": corpus.columns.label,
            "group": corpus.columns.group,
        }
    found["labels"] = corpus.label_map.to_dict()
    if prepared.lm_data.sources:
        found["lm_data"] = prepared.lm_data.sources
        found["lm_data_held_out"] = len(prepared.split.lm_data_val_texts)
    return found


def _print_data(corpus: Corpus, split: Split, test: TestSet | None, lm_data: LmData) -> None:
    grouping = "by movie" if corpus.columns is None else "by group"
    if corpus.columns is not None and corpus.columns.group is None:
        grouping = "by row"
    test_reviews = len(test.texts) if test else len(corpus.test_texts)
    print(
        f"data: {corpus.source}: {len(split.train_texts):,} training and {len(split.val_texts):,} "
        f"validation reviews (split {grouping}), {len(split.lm_train_texts):,} texts for the "
        f"language model, {test_reviews:,} test reviews"
    )
    if corpus.columns is not None:
        labels = ", ".join(f"{k!r} → {v}" for k, v in sorted(corpus.label_map.values.items()))
        print(f"labels ({corpus.label_map.rule}): {labels}")
    for source in lm_data.sources:
        print(f"lm data: {source['path']}: {source['texts']:,} texts ({source['read']})")
    if split.lm_data_val_texts:
        print(f"lm data: {len(split.lm_data_val_texts):,} texts held out to score next words")
    for warning in corpus.warnings:
        print(f"warning: {warning}")


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))


def _seconds(started: float) -> str:
    return f"{time.monotonic() - started:.0f}s"
