"""Cheap rule-based language detection from script ratios."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np

Language = Literal["zh", "en", "mixed", "unknown"]


# The Chinese share (see `share_from_counts`) at or above which a text is Chinese; at or below
# one minus it, a text is English; in between it is mixed.
ZH_SHARE = 0.8

_HAN_RE = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df]")
_WORD_RE = re.compile("[A-Za-z]+")


def script_counts(text: str) -> tuple[int, int]:
    """Count Han characters and Latin-letter words in a text."""
    # Regex scans run in C; a per-character Python loop was a visible share of analysis time.
    han = len(_HAN_RE.findall(text))
    words = len(_WORD_RE.findall(text)) if han < len(text) else 0
    return han, words


def script_counts_batch(texts: Sequence[str]) -> list[tuple[int, int]]:
    """`script_counts` of many texts at once, with numpy over their concatenated code points."""
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    if n == 0 or int(lengths.sum()) == 0:
        return [(0, 0)] * n
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    han = (
        ((codes >= 0x4E00) & (codes <= 0x9FFF))
        | ((codes >= 0x3400) & (codes <= 0x4DBF))
        | ((codes >= 0x20000) & (codes <= 0x2A6DF))
    )
    folded = codes | 0x20  # A-Z -> a-z; no other code point lands in a-z
    letter = (folded >= 0x61) & (folded <= 0x7A)
    # A word starts at a letter whose previous character (in the same text) is not a letter.
    starts = letter.copy()
    starts[1:] &= ~letter[:-1]
    first = np.cumsum(lengths) - lengths
    nonempty = lengths > 0
    starts[first[nonempty]] = letter[first[nonempty]]
    doc = np.repeat(np.arange(n), lengths)
    han_n = np.bincount(doc, weights=han, minlength=n).astype(np.int64).tolist()
    word_n = np.bincount(doc, weights=starts, minlength=n).astype(np.int64).tolist()
    return list(zip(han_n, word_n, strict=True))


def language_from_counts(han: int, words: int) -> Language:
    """Return the language for a non-empty text from its `script_counts`."""
    # One Latin word carries about as much content as two Han characters.
    zh_weight = han / 2.0
    total = zh_weight + words
    if total == 0:
        return "unknown"
    share = zh_weight / total
    if share >= ZH_SHARE:
        return "zh"
    if share <= 1.0 - ZH_SHARE:
        return "en"
    return "mixed"


def detect_language(text: str | None) -> Language:
    """Return 'zh', 'en', 'mixed' or 'unknown' from the share of Han characters vs Latin words."""
    if not text:
        return "unknown"
    return language_from_counts(*script_counts(text))


def share_from_counts(han: int, words: int) -> float:
    """Return `zh_share` from a text's `script_counts`."""
    total = han / 2.0 + words
    return 0.5 if total == 0 else (han / 2.0) / total


def zh_share(text: str) -> float:
    """Return the weight of Chinese content in [0, 1] (0.5 when the text has no letters at all)."""
    return share_from_counts(*script_counts(text))
