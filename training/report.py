"""The evaluation report: calibration, ranking (AUC) and confusion numbers of the sentiment
model, the figures (reliability diagram, learning curves, confusion matrix) and `report.md`,
which puts our metrics beside the classical baselines of `training/baselines.py`, and the
figures on a separate test file apart.

Figures are drawn on bare `matplotlib.figure.Figure` objects and saved with the Agg renderer, so
no display and no pyplot global state are involved (safe in tests and threads).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from string import Template

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 100  # with figures of a few inches, a PNG stays well under 100 KB


def _as_arrays(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat float arrays (Keras predictions come as (N, 1)); empty input is an error."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if len(p) == 0 or len(p) != len(y):
        raise ValueError(f"need as many probabilities as labels, got {len(p)} and {len(y)}")
    return p, y


def _bin_of(p: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bins over [0, 1]; p == 1 falls in the last bin."""
    return np.minimum((p * bins).astype(np.int64), bins - 1)


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> float:
    """ECE of P(positive): the sum over bins of (n_b / N) * |mean p - share positive|.

    Binary reliability as in the diagram (x = P(positive)), not the top-label confidence variant.
    """
    p, y = _as_arrays(probabilities, labels)
    index = _bin_of(p, bins)
    # (n_b / N) * |sum p / n_b - sum y / n_b| = |sum p - sum y| / N, so no empty-bin division.
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=y, minlength=bins)
    return float(np.abs(predicted - observed).sum() / len(p))


def roc_auc(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance a random positive scores above a random negative
    (ties count half); None when one class is missing."""
    from scipy.stats import rankdata

    p, y = _as_arrays(probabilities, labels)
    positives = y > 0.5
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def confusion_matrix(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float = 0.5
) -> dict[str, int]:
    """Counts of the four outcomes; positive means p >= threshold, as the service labels texts."""
    p, y = _as_arrays(probabilities, labels)
    predicted, actual = p >= threshold, y > 0.5
    return {
        "true_negative": int(np.sum(~predicted & ~actual)),
        "false_positive": int(np.sum(predicted & ~actual)),
        "false_negative": int(np.sum(~predicted & actual)),
        "true_positive": int(np.sum(predicted & actual)),
    }


def plot_reliability_diagram(
    probabilities: np.ndarray, labels: np.ndarray, path: Path, bins: int = 15
) -> None:
    """Share of positives against predicted P(positive) per bin, and how many reviews per bin."""
    p, y = _as_arrays(probabilities, labels)
    index = _bin_of(p, bins)
    counts = np.bincount(index, minlength=bins)
    share = np.bincount(index, weights=y, minlength=bins) / np.maximum(counts, 1)
    centres = (np.arange(bins) + 0.5) / bins
    used = counts > 0

    figure = Figure(figsize=(4.5, 5.0), dpi=DPI, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.bar(centres[used], share[used], width=1 / bins, edgecolor="black", label="observed")
    top.plot([0, 1], [0, 1], "--", color="gray", label="perfectly calibrated")
    top.set(ylim=(0, 1), ylabel="share positive")
    top.set_title(f"Reliability (ECE {expected_calibration_error(p, y, bins):.3f}, n={len(p):,})")
    top.legend(loc="upper left", fontsize="small")
    bottom.bar(centres, counts, width=1 / bins, color="gray")
    bottom.set(xlim=(0, 1), xlabel="predicted P(positive)", ylabel="reviews")
    figure.savefig(path)


def _pair_metrics(history: dict[str, list[float]]) -> dict[str, dict[str, list[float]]]:
    """{"loss": {"train": [...], "validation": [...]}, "top5": {"validation": [...]}, ...}."""
    pairs: dict[str, dict[str, list[float]]] = {}
    for key, values in history.items():
        name, split = (key[4:], "validation") if key.startswith("val_") else (key, "train")
        pairs.setdefault(name, {})[split] = list(values)
    return pairs


def plot_learning_curves(histories: dict[str, dict[str, list[float]]], path: Path) -> None:
    """One subplot per model: train (solid) and validation (dashed) of each metric together.

    Losses and perplexities go on the left axis, other metrics (accuracies) on a right axis, so
    scales as different as 5.2 and 0.3 both stay readable. Markers show one-epoch histories.
    """
    if not histories:
        raise ValueError("no history to plot")
    figure = Figure(figsize=(5.0 * len(histories), 3.6), dpi=DPI, layout="constrained")
    for axes, (model, history) in zip(
        np.atleast_1d(figure.subplots(1, len(histories))), histories.items(), strict=True
    ):
        pairs = _pair_metrics(history)
        is_loss = {name: "loss" in name or "perplexity" in name for name in pairs}
        right = axes.twinx() if not all(is_loss.values()) and any(is_loss.values()) else None
        lines = []
        for colour, (name, splits) in enumerate(pairs.items()):
            target = right if right is not None and not is_loss[name] else axes
            for split, values in splits.items():
                epochs = np.arange(1, len(values) + 1)
                style = "-" if split == "train" else "--"
                lines += target.plot(
                    epochs,
                    values,
                    style,
                    marker="o",
                    markersize=3,
                    color=f"C{colour}",
                    label=f"{split} {name}",
                )
        longest = max(len(values) for values in history.values())
        axes.set(title=model, xlabel="epoch", xlim=(0.5, longest + 0.5))  # room for one epoch
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axes.set_ylabel("loss" if any(is_loss.values()) else "metric")
        if right is not None:
            right.set_ylabel("metric")
        axes.legend(lines, [line.get_label() for line in lines], fontsize="small")
    figure.savefig(path)


def plot_confusion_matrix(matrix: dict[str, int], path: Path) -> None:
    """2x2 grid of counts (rows: true class, columns: predicted), shaded by their share."""
    counts = np.array(
        [
            [matrix["true_negative"], matrix["false_positive"]],
            [matrix["false_negative"], matrix["true_positive"]],
        ]
    )
    total = max(int(counts.sum()), 1)
    darkest = max(counts.max() / total, 1e-9)
    figure = Figure(figsize=(3.8, 3.4), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.imshow(counts / total, cmap="Blues", vmin=0, vmax=darkest)
    for (row, col), count in np.ndenumerate(counts):
        colour = "white" if count / total > 0.6 * darkest else "black"  # readable on dark cells
        text = f"{count:,}\n{count / total:.1%}"
        axes.text(col, row, text, ha="center", va="center", color=colour)
    names = ["negative", "positive"]
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=names, yticklabels=names)
    axes.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix (n={total:,})")
    figure.savefig(path)


def _format(value: object, kind: str = "") -> str:
    """Accuracies as percentages, perplexities with one decimal, counts with separators."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return str(value)
    if kind == "percent":
        return f"{float(value):.2%}"
    if kind == "perplexity":
        return f"{float(value):.1f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return f"{float(value):.4g}"


def _next_word_row(name: str, source: dict[str, float], prefix: str) -> list[str]:
    """Top-1, top-5 and perplexity as written, then the same without punctuation."""
    return [name] + [
        _format(source.get(f"{prefix}{form}_{figure}"), kind)
        for form in ("", "_unpunctuated")
        for figure, kind in (("top1", "percent"), ("top5", "percent"), ("perplexity", "perplexity"))
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)  # names left, numbers right
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _flatten(values: dict, prefix: str = "") -> dict[str, object]:
    """Nested dicts become dotted keys, so every metric gets one row."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


REPORT = Template("""# Evaluation report

All numbers are on the validation split; the baselines use the same split.

## Sentiment

Last sentences: each validation review's last sentence of 5-30 words, labelled like its
review; a noisy stand-in for the short single sentences users send.
${blend_note}
${sentiment_table}${test_section}${behaviour_section}

## Next word

Every model predicts the same held-out positions: each token of a validation review
from its second on. Ours reads the tokens before each one in its review, at least as
many as the served model reads (`next_word_context`); the trigram reads the last two.
Top-1 / top-5 are over positions whose next token is a word, ranking words only (what
is served: punctuation is never suggested). Each form is scored against a trigram
fitted on the training text in that form: *as written*, and *without punctuation*
(every punctuation token removed from the reviews, as many people type). Top-k never
counts [UNK] as a correct guess; perplexity, of every token, treats it as a word.
${mix_note}
${next_word_table}${punctuation_section}${keystrokes_section}

## All metrics

${metrics_table}${baselines_section}${figures_section}
""")

BLEND_NOTE = "Ours blends in its own n-gram model (NB-weighted TF-IDF uni-to-trigrams + LR).\n"
MIX_NOTE = """Ours mixes in a cache (the words that followed moments like this one earlier in
the same text) and a trigram (Kneser-Ney, of the training text in both forms,
keeping the trigrams seen twice in one form), weighed on other held-out reviews
in both forms.
"""
NEXT_WORD_HEADER = [
    "Model",
    *(
        f"{figure} {form}"
        for form in ("as written", "without punctuation")
        for figure in ("Top-1", "Top-5", "Perplexity")
    ),
]


def write_report(
    path: Path,
    metrics: dict,
    baselines: dict,
    figures: Sequence[str] = (),
    test: dict | None = None,
    behaviour: dict | None = None,
) -> None:
    """A short Markdown report: our models beside the baselines, then every metric we have.

    `metrics` are the run's (missing ones show as –); baselines are the dicts of
    training.baselines (an empty dict when they were not computed). `figures` are image files
    next to the report, embedded at the end. `test` holds the figures on a separate test file
    (pipeline.py), shown in a section of their own; `behaviour` the failure rates on the
    behavioural suite per model (training/behaviour.py).
    """
    blended = "sentiment_ngram_weight" in metrics
    mixed_in = [name for name in ("cache", "trigram") if metrics.get(f"next_word_{name}_weight")]
    punctuation = _punctuation_rows(metrics, baselines)
    fields = {
        "blend_note": BLEND_NOTE if blended else "",
        "sentiment_table": _lines(
            ["Model", "Reviews", "Last sentences"], _sentiment_rows(metrics, baselines)
        ),
        "test_section": _test_section(test) if test else "",
        "behaviour_section": _behaviour_section(behaviour) if behaviour else "",
        "mix_note": MIX_NOTE if mixed_in else "",
        "next_word_table": _lines(NEXT_WORD_HEADER, _next_word_rows(metrics, baselines, mixed_in)),
        "punctuation_section": (
            "\n\nPunctuation targets as written, ranked among every token:\n\n"
            + _lines(["Model", "Top-1", "Top-5"], punctuation)
            if punctuation
            else ""
        ),
        "keystrokes_section": _keystrokes_section(metrics),
        "metrics_table": _lines(["Metric", "Value"], _value_rows(metrics)),
        "baselines_section": (
            "\n\n" + _lines(["Baseline", "Value"], _value_rows(baselines)) if baselines else ""
        ),
        "figures_section": (
            "\n\n## Figures\n\n" + "\n".join(f"![{Path(name).stem}]({name})" for name in figures)
            if figures
            else ""
        ),
    }
    Path(path).write_text(REPORT.substitute(fields), encoding="utf-8")


BEHAVIOUR_MODELS = {
    "served": "Ours (served)",
    "lstm": "LSTMs alone",
    "ngram": "n-gram alone",
    "tfidf_lr": "TF-IDF + LR",
    "nb_lr": "NB-LR",
}


def _behaviour_section(behaviour: dict) -> str:
    """Each capability's failure rate per model, the behavioural suite's table."""
    models = [name for name in BEHAVIOUR_MODELS if name in behaviour]
    capabilities = list(behaviour[models[0]])
    rows = [
        [capability, *(_format(behaviour[m].get(capability), "percent") for m in models)]
        for capability in capabilities
    ]
    return (
        "\n\nThe behavioural suite (`training/behaviour.py`): short texts built from templates, "
        "the share of cases each model fails (lower is better; *mean* is over the capabilities):"
        "\n\n" + _lines(["Capability", *(BEHAVIOUR_MODELS[m] for m in models)], rows)
    )


KEYSTROKES_NOTE = """

Typing held-out sentences with three suggestions (training/keystrokes.py): ${sentences}
sentences of held-out reviews, each typed into an empty box, in lower case without
punctuation and as written. Before each letter the keyboard suggests three words for the
text so far; the typist taps the word it is typing when it is among them (one keystroke for
the word and its space), else types on. KSR = 1 - keystrokes / characters. Recall: the share
of words among the three suggestions once 0, 1 or 2 of their letters are typed. The trigram
keyboard is the served model's Kneser-Ney member alone, its words filtered by the typed
prefix.

"""


def _keystrokes_section(metrics: dict) -> str:
    """KSR and top-3 recall of ours and of the trigram keyboard, when the run measured them."""
    if "next_word_ksr_lower" not in metrics:
        return ""
    rows = []
    for name, prefix in (
        ("ours (served)", "next_word"),
        ("Kneser-Ney trigram keyboard", "next_word_kn_keyboard"),
    ):
        row = [name]
        row += [_format(metrics.get(f"{prefix}_ksr_{form}"), "percent") for form in FORMS]
        row += [
            " / ".join(
                _format(metrics.get(f"{prefix}_recall_after_{n}_{form}"), "percent")
                for n in (0, 1, 2)
            )
            for form in FORMS
        ]
        rows.append(row)
    ratios = [_format(metrics.get(f"next_word_ksr_ratio_{form}")) for form in FORMS]
    rows.append(["ours / trigram", *ratios, "", ""])
    header = ["Keyboard", "KSR lower case", "KSR as written"]
    header += ["Recall@3 after 0/1/2 letters, lower case", "as written"]
    sentences = _format(metrics.get("next_word_keystroke_sentences"))
    note = Template(KEYSTROKES_NOTE).substitute(sentences=sentences)
    return note + _lines(header, rows)


FORMS = ("lower", "written")  # the typed forms of training/keystrokes.py


def _test_section(test: dict) -> str:
    """The served model on the test file: not the validation split, so not comparable with the
    baselines above."""
    confusion = test["confusion_matrix"].items()
    rows = [
        ["reviews", _format(test.get("reviews"))],
        ["accuracy", _format(test.get("accuracy"), "percent")],
        ["AUC", _format(test.get("auc"))],
        ["log loss", _format(test.get("log_loss"))],
        ["ECE", _format(test.get("ece"))],
        *(
            [name.replace("_", " "), _format(test[key], "percent")]
            for name, key in (("LSTMs alone", "lstm_accuracy"), ("n-gram alone", "ngram_accuracy"))
            if key in test
        ),
        *([f"confusion: {k.replace('_', ' ')}", _format(v)] for k, v in confusion),
        ["test texts also in training", _format(test.get("texts_also_in_training"))],
    ]
    return (
        f"\n\n### Test file\n\nThe served model on `{test['source']}` (sha256 "
        f"`{str(test['sha256'])[:12]}…`), a labelled file kept out of training and validation:\n\n"
        + _lines(["Figure", "Value"], rows)
    )


def _lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return "\n".join(_table(header, rows))


def _value_rows(values: dict) -> list[list[str]]:
    return [[k, _format(v)] for k, v in _flatten(values).items()]


def _percent_row(name: str, source: dict, keys: Sequence[str]) -> list[str]:
    return [name, *(_format(source.get(key), "percent") for key in keys)]


def _sentiment_rows(metrics: dict, baselines: dict) -> list[list[str]]:
    """Ours (and, when blended, each member alone), then the baselines that were computed."""
    blended = "sentiment_ngram_weight" in metrics
    ours = "LSTMs blended with the n-gram model (ours)" if blended else "LSTM classifier (ours)"
    rows = [_percent_row(ours, metrics, ["sentiment_accuracy", "sentiment_short_accuracy"])]
    if blended:
        for name, member in [("the LSTMs alone", "lstm"), ("the n-gram model alone", "ngram")]:
            keys = [f"sentiment_{member}_accuracy", f"sentiment_{member}_short_accuracy"]
            rows.append(_percent_row(name, metrics, keys))
    for name, key in [
        ("TF-IDF uni+bigrams + logistic regression", "tfidf_lr"),
        ("NB-LR uni-to-trigrams (Wang & Manning 2012)", "nb_lr"),
    ]:
        if f"{key}_accuracy" in baselines:
            keys = [f"{key}_accuracy", f"{key}_short_accuracy"]
            rows.append(_percent_row(name, baselines, keys))
    return rows


def _next_word_rows(metrics: dict, baselines: dict, mixed_in: list[str]) -> list[list[str]]:
    """The served model (and, when it mixes, the language model alone), then the trigram."""
    served = f" + {' + '.join(mixed_in)}" if mixed_in else ""
    rows = [_next_word_row(f"LSTM language model{served} (ours, served)", metrics, "next_word")]
    if mixed_in:
        rows.append(_next_word_row("LSTM language model alone", metrics, "next_word_lstm"))
    if "kn_trigram_top1" in baselines:
        rows.append(
            _next_word_row("Kneser-Ney trigram of the matching form", baselines, "kn_trigram")
        )
        if "kn_trigram_all_tokens_top1" in baselines:
            keys = ["kn_trigram_all_tokens_top1", "kn_trigram_all_tokens_top5"]
            name = "Kneser-Ney trigram, ranking punctuation too"
            rows.append([*_percent_row(name, baselines, keys), *["–"] * 4])
    return rows


def _punctuation_rows(metrics: dict, baselines: dict) -> list[list[str]]:
    """Punctuation targets ranked among every token, for each model that scored them."""
    return [
        _percent_row(name, source, [f"{prefix}_punctuation_top1", f"{prefix}_punctuation_top5"])
        for name, source, prefix in (
            ("ours", metrics, "next_word"),
            ("Kneser-Ney trigram", baselines, "kn_trigram"),
        )
        if f"{prefix}_punctuation_top1" in source
    ]
