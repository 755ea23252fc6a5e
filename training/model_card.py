"""The model card of a version: `<model_dir>/<name>/<version>/README.md`, written at export from
the version's metadata alone (so it says nothing metadata.json does not), for a reader who
finds the directory: what it was trained on, what it is for and not for, how it compares with
the baselines of the same run, and how to call it over HTTP or as a SavedModel."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

CARD_FILE = "README.md"

PURPOSE = {
    "sentiment": (
        "Binary sentiment of an English text: the probability that it is positive "
        "(`label` is `positive` when it is at least 0.5). There is no neutral class and no "
        "score of intensity: a mixed or neutral text still gets a probability, near 0.5 at best."
    ),
    "next_word": (
        "The likeliest next English words after a text (autocomplete), each with its "
        "probability; punctuation is never suggested. It suggests the words of the texts it read."
    ),
}

# (label, metrics key, baselines key, kind): the figures of the card, ours beside a baseline's.
FIGURES: dict[str, list[tuple[str, str, str | None, str]]] = {
    "sentiment": [
        ("accuracy (validation)", "sentiment_accuracy", None, "share"),
        ("  TF-IDF + logistic regression", "", "tfidf_lr_accuracy", "share"),
        ("  NB-LR (Wang & Manning 2012)", "", "nb_lr_accuracy", "share"),
        ("accuracy on last sentences", "sentiment_short_accuracy", None, "share"),
        ("  TF-IDF + logistic regression", "", "tfidf_lr_short_accuracy", "share"),
        ("  NB-LR (Wang & Manning 2012)", "", "nb_lr_short_accuracy", "share"),
        ("accuracy on the test reviews", "sentiment_test_accuracy", None, "share"),
        ("log loss (validation)", "sentiment_log_loss", None, "number"),
        ("ECE (validation)", "sentiment_ece", None, "number"),
    ],
    "next_word": [
        ("top-1 accuracy", "next_word_top1", None, "share"),
        ("  Kneser-Ney trigram", "", "kn_trigram_top1", "share"),
        ("top-5 accuracy", "next_word_top5", None, "share"),
        ("  Kneser-Ney trigram", "", "kn_trigram_top5", "share"),
        ("perplexity", "next_word_perplexity", None, "number"),
        ("  Kneser-Ney trigram", "", "kn_trigram_perplexity", "number"),
        ("keystrokes saved (KSR), lower case", "next_word_ksr_lower", None, "share"),
        ("  Kneser-Ney trigram keyboard", "next_word_kn_keyboard_ksr_lower", None, "share"),
        ("keystrokes saved (KSR), as written", "next_word_ksr_written", None, "share"),
        ("  Kneser-Ney trigram keyboard", "next_word_kn_keyboard_ksr_written", None, "share"),
    ],
}


def write_model_card(directory: Path, metadata: dict[str, Any]) -> Path:
    """Write the card of the version whose `metadata` is given into `directory`."""
    path = directory / CARD_FILE
    path.write_text(model_card(metadata), encoding="utf-8")
    return path


def model_card(metadata: dict[str, Any]) -> str:
    """The card as Markdown."""
    name, version = metadata["name"], metadata["version"]
    sections = [
        f"# {name} version {version}\n\n"
        f"Made {metadata.get('created', 'at an unknown time')} by the training pipeline "
        "(`python -m training`); every figure below is from this version's `metadata.json`.",
        _trained_on(metadata),
        _use_and_limits(name, metadata),
        _figures(name, metadata),
        _how_to_call(name, version),
    ]
    return "\n\n".join(sections) + "\n"


def _domain(source: str) -> str:
    if "aclImdb" in source:
        return "English movie reviews from IMDB (the Large Movie Review Dataset)"
    return f"the texts of `{Path(source).name}`"


def _trained_on(metadata: dict[str, Any]) -> str:
    data, metrics = metadata.get("data", {}), metadata.get("metrics", {})
    source = str(data.get("source", "unknown"))
    rows = [
        ["data file", f"`{Path(source).name}`"],
        ["its SHA-256", f"`{data.get('sha256', 'unknown')}`"],
    ]
    try:
        rows.append(["its size", f"{Path(source).stat().st_size:,} bytes"])
    except OSError:
        pass  # data downloaded to a cache since cleared, or on another machine
    rows += [
        [key.replace("_", " "), _value(value)]
        for key, value in data.items()
        if key not in ("source", "sha256")
    ]
    for label, key in (
        ("validation reviews", "sentiment_val_reviews"),
        ("test reviews", "sentiment_test_reviews"),
        ("next-word positions scored", "next_word_eval_positions"),
    ):
        if key in metrics:
            rows.append([label, f"{int(metrics[key]):,}"])
    rows.append(["vocabulary", f"{_value(metadata.get('vocab_size', 'unknown'))} tokens"])
    config = metadata.get("config", {})
    if config:
        rows.append(
            [
                "split",
                f"{config.get('validation_fraction', 0):.0%} of the labelled reviews held "
                f"out for validation (split by movie or group, seed {config.get('seed')})",
            ]
        )
    domain = _domain(source)
    return "## Trained on\n\n" + domain[0].upper() + domain[1:] + ".\n\n" + _table(["", ""], rows)


def _use_and_limits(name: str, metadata: dict[str, Any]) -> str:
    domain = _domain(str(metadata.get("data", {}).get("source", "")))
    cuts = metadata.get("time_budget_cuts") or {}
    lines = [
        "## Intended use and limits\n",
        PURPOSE[name],
        "",
        f"- Trained on {domain}: texts of other domains, other registers or other languages "
        "get answers, but nothing here measures how good they are. Evaluate on your own "
        "labelled file first (`lstm-service evaluate --model-dir DIR --version "
        f"{metadata['version']} --input FILE`).",
        "- English only: the tokenizer lower-cases and splits on what English uses; other "
        "languages are mostly out-of-vocabulary tokens.",
        "- Texts longer than the model reads are cut (the first and last tokens are kept for "
        "sentiment, the last words for the next word).",
        "- Drift: the service compares what it is sent with this version's validation texts "
        "(`reference` in metadata.json) and shows it in `/metrics` as "
        "`model_input_drift_psi{model,version,feature}` (token counts, out-of-vocabulary share)"
        + (" and `model_score_drift_psi` (the answers)" if name == "sentiment" else "")
        + "; above 0.25, the traffic no longer looks like what it was trained on "
        "(docs/monitoring.md).",
    ]
    if cuts:
        lines.append(f"- Stopped short by its time budget: {_value(cuts)}.")
    return "\n".join(lines)


def _figures(name: str, metadata: dict[str, Any]) -> str:
    metrics, baselines = metadata.get("metrics", {}), metadata.get("baselines", {})
    rows = []
    for label, ours, theirs, kind in FIGURES[name]:
        source, key = (baselines, theirs) if theirs else (metrics, ours)
        if key in source:
            rows.append([label, _format(source[key], kind)])
    text = "## Figures\n\nOn this run's own validation split; indented rows are the baselines "
    text += "trained and scored on the same split.\n\n" + _table(["figure", "value"], rows)
    if not baselines:
        text += "\n\nNo baselines were computed in this run (its preset turns them off)."
    return text


def _how_to_call(name: str, version: int) -> str:
    if name == "sentiment":
        http = (
            "curl -s localhost:8000/sentiment -H 'Content-Type: application/json' \\\n"
            '     -d \'{"text": "a great movie"}\'\n'
            '{"positive_probability": ..., "label": "positive", "model_version": '
            f'"{version}"}}'
        )
        python = (
            'answer = model.signatures["serving_default"](texts=tf.constant(["a great movie"]))\n'
            'answer["positive_probability"].numpy()  # one probability per text'
        )
    else:
        http = (
            "curl -s localhost:8000/next-word -H 'Content-Type: application/json' \\\n"
            '     -d \'{"text": "i love this", "top_k": 5}\'\n'
            '{"predictions": [{"word": ..., "probability": ...}, ...], "model_version": '
            f'"{version}", ...}}'
        )
        python = (
            'answer = model.signatures["serving_default"](\n'
            '    texts=tf.constant(["i love this"]), k=tf.constant(5, tf.int32)\n'
            ")\n"
            'answer["words"].numpy(), answer["probabilities"].numpy()  # k of each, likeliest first'
        )
    return (
        "## How to call it\n\n"
        f"Over HTTP, from `python -m service` (or `lstm-service serve`) on the store, once this "
        f"version is the one served (`lstm-service promote --model-dir DIR {version}`):\n\n"
        f"```\n{http}\n```\n\n"
        "As a SavedModel, without the service (raw strings in: the tokenizer is in the graph):\n\n"
        "```python\nimport tensorflow as tf\n\n"
        f'model = tf.saved_model.load("DIR/{name}/{version}")\n{python}\n```'
        + (
            "\n\nA whole file: `lstm-service score --model-dir DIR --version "
            f"{version} --input IN.csv --output OUT.csv`."
            if name == "sentiment"
            else ""
        )
    )


def _format(value: Any, kind: str) -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.2%}" if kind == "share" else f"{value:.4g}"


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
