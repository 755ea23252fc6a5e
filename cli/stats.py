"""The figures of a sentiment model on labelled texts (accuracy, AUC, log loss, ECE, the
confusion matrix: ECE and the matrix computed by training's own functions, so they match the
training report), and the paired test of two models on the same texts (McNemar's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cli.project import training_report

EXACT_BELOW = 25  # discordant pairs under which McNemar's test uses the exact binomial
SIGNIFICANCE = 0.05


def sentiment_figures(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """rows, accuracy, auc (None with one class only), log_loss, ece, confusion, positive_share."""
    from sklearn.metrics import roc_auc_score

    report = training_report()
    p = np.asarray(probabilities, np.float64)
    y = np.asarray(labels, np.float64)
    clipped = np.clip(p, 1e-7, 1 - 1e-7)  # as training computes its log loss
    log_loss = -np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    both_classes = len(np.unique(y)) == 2
    return {
        "rows": int(len(y)),
        "accuracy": float(np.mean((p >= 0.5) == (y > 0.5))),
        "auc": float(roc_auc_score(y, p)) if both_classes else None,
        "log_loss": float(log_loss),
        "ece": float(report.expected_calibration_error(p, y)),
        "confusion": report.confusion_matrix(p, y),
        "positive_share": float(np.mean(y)),
    }


@dataclass(frozen=True)
class Paired:
    """McNemar's test of two models' right/wrong answers on the same items."""

    only_a: int  # items A gets right and B wrong
    only_b: int
    p_value: float
    method: str

    def to_json(self) -> dict[str, Any]:
        return {
            "only_a_right": self.only_a,
            "only_b_right": self.only_b,
            "p_value": self.p_value,
            "method": self.method,
        }


def mcnemar(right_a: np.ndarray, right_b: np.ndarray) -> Paired:
    """Two-sided: the exact binomial test of the discordant pairs when there are fewer than
    EXACT_BELOW of them, else the chi-squared test with continuity correction."""
    from scipy import stats

    a = np.asarray(right_a, bool)
    b = np.asarray(right_b, bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = only_a + only_b
    if discordant == 0:
        return Paired(0, 0, 1.0, "no discordant pairs")
    if discordant < EXACT_BELOW:
        p = stats.binomtest(only_a, discordant, 0.5).pvalue
        return Paired(only_a, only_b, float(p), "exact binomial")
    statistic = (abs(only_a - only_b) - 1) ** 2 / discordant
    return Paired(only_a, only_b, float(stats.chi2.sf(statistic, 1)), "chi-squared, corrected")


def verdict(name_a: str, name_b: str, score_a: float, score_b: float, test: Paired) -> str:
    """One plain sentence: which is better on this file, or that they do not differ."""
    if test.p_value >= SIGNIFICANCE or score_a == score_b:
        return f"no significant difference between {name_a} and {name_b} (p={test.p_value:.3g})"
    better, worse = (name_a, name_b) if score_a > score_b else (name_b, name_a)
    return f"{better} is better than {worse} on this file (p={test.p_value:.3g})"
