"""Evaluation helpers: label parsing, accuracy and macro-F1."""

from __future__ import annotations

from collections.abc import Sequence

_LABELS = {
    "1": "positive",
    "positive": "positive",
    "pos": "positive",
    "正面": "positive",
    "好评": "positive",
    "0": "negative",
    "negative": "negative",
    "neg": "negative",
    "负面": "negative",
    "差评": "negative",
    "2": "neutral",
    "neutral": "neutral",
    "neu": "neutral",
    "中性": "neutral",
    "中评": "neutral",
}


def parse_label(value: object) -> str | None:
    """Map a label (0/1, positive/negative/neutral, 正面/负面...) to a sentiment name, or None."""
    if value is None:
        return None
    s = str(value).strip().lower()
    if s.endswith(".0"):
        s = s[:-2]
    return _LABELS.get(s)


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Share of predictions equal to the truth (0.0 for empty input)."""
    if not y_true:
        return 0.0
    return sum(a == b for a, b in zip(y_true, y_pred, strict=True)) / len(y_true)


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Unweighted mean F1 over the classes present in the truth."""
    classes = sorted(set(y_true))
    if not classes:
        return 0.0
    total = 0.0
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred, strict=True))
        fp = sum(t != c and p == c for t, p in zip(y_true, y_pred, strict=True))
        fn = sum(t == c and p != c for t, p in zip(y_true, y_pred, strict=True))
        total += 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return total / len(classes)


def predictions_for(labels: Sequence[str], scores: Sequence[float], band: tuple[float, float]) -> list[str]:
    """Turn P(positive) into labels; binary truths (no neutral) are scored at the 0.5 threshold."""
    if "neutral" not in labels:
        return ["positive" if s > 0.5 else "negative" for s in scores]
    return ["negative" if s < band[0] else "positive" if s > band[1] else "neutral" for s in scores]
