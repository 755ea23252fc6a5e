"""Export: end-to-end SavedModels that take raw strings, written as versions of the model store.

`<model_dir>/<name>/<version>/` holds the SavedModel, `metadata.json`, `vocab.txt` and the report.
Each version is built in a hidden temporary directory beside its final place, made readable by
every user, and renamed into it, so a reader never sees half a version (nor one it may not read)
and a failed run leaves the store as it was. A run claims its version number with a lock file in
the store (`.version-<N>.claim`, locked while the run holds it), so two runs into one store never
take the same number; a claim whose run died is free again, as its lock went with the process.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import tensorflow as tf

from training.config import TrainConfig
from training.model_card import write_model_card
from training.models import LanguageModel, NextWordMix, next_word_probabilities
from training.ngram_model import NgramLogits
from training.served_lstm import ServedClassifier, ServedLanguageModel
from training.text import (
    OOV_ID,
    PAD_ID,
    ensure_nonempty,
    id_mask,
    keep_last,
    punctuation_ids,
    reverse_rows,
)
from training.train import review_tokens

MODEL_NAMES = ("sentiment", "next_word")


# Claims held by this process: (store, version) -> the open, locked claim file.
_claims: dict[tuple[str, int], int] = {}


def highest_version(model_dir: Path) -> int:
    """The highest version of any model in the store (0 when there is none)."""
    versions = [
        int(entry.name)
        for name in MODEL_NAMES
        if (model_dir / name).is_dir()
        for entry in (model_dir / name).iterdir()
        if entry.name.isdigit()
    ]
    return max(versions, default=0)


def claim_path(model_dir: Path, version: int) -> Path:
    return model_dir / f".version-{version}.claim"


def next_version(model_dir: Path) -> int:
    """One more than the highest version of any model, so both models of a run share a number,
    claimed for this run: a number another live run holds is passed over."""
    model_dir.mkdir(parents=True, exist_ok=True)
    version = highest_version(model_dir) + 1
    while True:
        descriptor = os.open(claim_path(model_dir, version), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another run holds this number
            os.close(descriptor)
            version += 1
            continue
        # A run that held this number may have published it and let go since the scan above.
        if (highest := highest_version(model_dir)) >= version:
            os.close(descriptor)
            version = highest + 1
            continue
        os.write(descriptor, f"{os.getpid()}\n".encode())
        _claims[(str(model_dir), version)] = descriptor
        return version


def release_version(model_dir: Path, version: int) -> None:
    """Let go of this process's claim on `version` (once a version directory holds it)."""
    descriptor = _claims.pop((str(model_dir), version), None)
    if descriptor is not None:
        claim_path(model_dir, version).unlink(missing_ok=True)
        os.close(descriptor)


def token_stats(tokens: tf.RaggedTensor) -> dict[str, tf.Tensor]:
    """Each text's token count and out-of-vocabulary tokens, before a model cuts the text: the
    service's input drift metrics (`training/reference.py` holds their reference)."""
    return {
        "token_count": tf.cast(tokens.row_lengths(), tf.int32),
        "oov_count": tf.reduce_sum(tf.cast(tf.equal(tokens, OOV_ID), tf.int32), axis=1),
    }


def sentiment_module(
    vectorizer: keras.layers.TextVectorization,
    classifiers: dict[str, keras.Model],
    ngram: NgramLogits,
    blend: dict[str, float],
    config: TrainConfig,
) -> keras.export.ExportArchive:
    """Raw strings → probability of positive: the logits of every reading direction averaged,
    then blended with the n-gram model's by the weights in `blend` (see `fit_blend`); plus each
    text's `token_stats`. The classifiers' LSTMs are served by `ServedClassifier`."""
    archive = keras.export.ExportArchive()  # see `next_word_module` on what to track
    archive.track(vectorizer)
    archive.track(ngram.counter)
    served = {
        direction: ServedClassifier(model, direction) for direction, model in classifiers.items()
    }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    @tf.autograph.experimental.do_not_convert  # plain graph code: nothing for AutoGraph to do
    def serve(texts: tf.Tensor) -> dict[str, tf.Tensor]:
        every_id = vectorizer(texts)  # every token, before the model cuts the text
        ids = review_tokens(every_id, config)
        logits = [
            classifier((reverse_rows(ids) if direction == "backward" else ids).to_tensor())
            for direction, classifier in served.items()
        ]  # each padded only to the longest text of the batch
        blended = blend["lstm"] * tf.add_n(logits) / len(logits) + blend["ngram"] * ngram(texts)
        return {"positive_probability": tf.sigmoid(blended), **token_stats(every_id)}

    archive.add_endpoint("serving_default", serve)
    return archive


def next_word_module(
    vectorizer: keras.layers.TextVectorization,
    language_model: LanguageModel,
    mix: NextWordMix,
    config: TrainConfig,
) -> keras.export.ExportArchive:
    """Raw strings and k → the k likeliest next words of each text and their probabilities; plus
    each text's `token_stats`. Punctuation is never suggested (people type it; a suggestion is
    a word), though the model predicts it, and each probability is that of the whole model.

    A second signature, `complete`, also takes a prefix per text and ranks only the words that
    start with it (the word being typed): a precomputed table maps every prefix of every word
    to the ids of the words it begins, so a call masks the probabilities to those ids instead
    of ranking and returning every word of the vocabulary."""
    # add_endpoint saves every variable `serve` uses; only lookup tables need tracking, so only
    # the tokenizers are tracked. Tracking a layer with weights would save each of them a second
    # time, and the service would hold both copies (measured: a 16 MB layer took 32 MB on disk
    # and 38 MB of memory when loaded, against 16 and 22).
    archive = keras.export.ExportArchive()
    archive.track(vectorizer)
    words = vectorizer.get_vocabulary()
    vocabulary = tf.constant(words)
    punctuation = punctuation_ids(words)
    words_only = tf.constant(1.0 - id_mask(punctuation, config.vocab_size))
    max_k = config.vocab_size - 2 - len(punctuation)  # every word but padding and [UNK]
    hidden_states = ServedLanguageModel(language_model)
    table, rows = prefix_table(words, {PAD_ID, OOV_ID, *punctuation.tolist()})
    archive.track(table)
    texts_spec = tf.TensorSpec([None], tf.string, name="texts")
    k_spec = tf.TensorSpec([], tf.int32, name="k")

    def word_probabilities(texts: tf.Tensor) -> tuple[tf.Tensor, tf.RaggedTensor]:
        every_id = vectorizer(texts)
        ids = ensure_nonempty(keep_last(every_id, config.next_word_context))
        tokens = ids.to_tensor()
        hidden = hidden_states(tokens)  # (batch, time, embedding), as language_model(tokens)
        last = ids.row_lengths()[:, None] - 1  # each text's last word: what comes after it?
        probabilities = next_word_probabilities(language_model, hidden, tokens, last, mix)[:, 0]
        return probabilities * words_only, every_id

    @tf.function(input_signature=[texts_spec, k_spec])
    @tf.autograph.experimental.do_not_convert
    def serve(texts: tf.Tensor, k: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities, every_id = word_probabilities(texts)
        top = tf.math.top_k(probabilities, k=tf.clip_by_value(k, 1, max_k))
        words = tf.gather(vocabulary, top.indices)
        return {"words": words, "probabilities": top.values, **token_stats(every_id)}

    @tf.function(
        input_signature=[texts_spec, tf.TensorSpec([None], tf.string, name="prefixes"), k_spec]
    )
    @tf.autograph.experimental.do_not_convert
    def complete(texts: tf.Tensor, prefixes: tf.Tensor, k: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities, every_id = word_probabilities(texts)
        chosen = tf.gather(rows, table.lookup(tf.strings.lower(prefixes, encoding="utf-8")))
        where = tf.stack([chosen.value_rowids(), chosen.flat_values], axis=1)
        ones = tf.ones_like(chosen.flat_values, tf.float32)
        mask = tf.scatter_nd(where, ones, tf.shape(probabilities, out_type=tf.int64))
        size = tf.clip_by_value(k, 1, max_k)
        top = tf.math.top_k(probabilities * mask, k=size)
        count = tf.minimum(tf.cast(chosen.row_lengths(), tf.int32), size)
        words = tf.gather(vocabulary, top.indices)
        return {
            "words": words,
            "probabilities": top.values,
            "count": count,
            **token_stats(every_id),
        }

    archive.add_endpoint("serving_default", serve)
    archive.add_endpoint("complete", complete)
    return archive


def prefix_table(
    vocabulary: list[str], excluded: set[int]
) -> tuple[tf.lookup.StaticHashTable, tf.RaggedTensor]:
    """Every prefix of every word of `vocabulary` but the `excluded` ids (the empty prefix
    included) → its row of `rows`: the ids of the words it begins. An unknown prefix → the
    last row, empty. About 70,000 prefixes and 160,000 ids for 20,000 words."""
    found: dict[str, list[int]] = {}
    for index, word in enumerate(vocabulary):
        if index in excluded or not word:
            continue
        for end in range(len(word) + 1):
            found.setdefault(word[:end], []).append(index)
    keys = list(found)
    ids = [index for key in keys for index in found[key]]
    lengths = [len(found[key]) for key in keys] + [0]
    rows = tf.RaggedTensor.from_row_lengths(
        tf.constant(ids, tf.int64), tf.constant(lengths, tf.int64)
    )
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.range(len(keys), dtype=tf.int64)
    )
    return tf.lookup.StaticHashTable(initializer, default_value=len(keys)), rows


@contextmanager
def staged_version(model_dir: Path, name: str) -> Iterator[Path]:
    """A temporary directory to fill; it is removed if anything fails before `publish`."""
    parent = model_dir / name
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_graph(archive: keras.export.ExportArchive, staging: Path) -> None:
    """The SavedModel of a staged version (loadable from there: the run scores it before it
    describes it, see `write_files`)."""
    archive.write_out(str(staging), verbose=False)


def write_files(staging: Path, metadata: dict, extra_files: Callable[[Path], None]) -> None:
    """Everything a staged version holds beside its SavedModel, metadata.json last."""
    extra_files(staging)
    write_model_card(staging, metadata)
    # metadata.json last: its presence marks the version complete.
    (staging / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")


def publish(staging: Path, model_dir: Path, name: str, version: int) -> Path:
    """Rename a staged version into place, readable by every user first; the rename is atomic
    on one filesystem and never replaces a directory already there."""
    make_readable(staging)  # mkdtemp creates 0700; the service may run as another user
    final = model_dir / name / str(version)
    rename_new(staging, final)
    release_version(model_dir, version)
    return final


def make_readable(root: Path) -> None:
    """Directories 0755, files 0644, so a service running as another user can load them."""
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for file in files:
            os.chmod(os.path.join(directory, file), 0o644)


def rename_new(source: Path, target: Path) -> None:
    """Rename `source` to `target`, failing with FileExistsError when `target` exists (a plain
    rename would silently replace an empty directory there)."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_noreplace = -100, 1
        done = renameat2(
            at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), rename_noreplace
        )
        if done == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, f"{target} already exists: version taken", str(target))
        if code not in (errno.EINVAL, errno.ENOSYS):  # else: the filesystem cannot; fall back
            raise OSError(code, os.strerror(code), str(target))
    if target.exists():
        raise FileExistsError(errno.EEXIST, f"{target} already exists: version taken", str(target))
    os.rename(source, target)
