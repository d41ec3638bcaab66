"""Cheap rule-based language detection from script ratios."""

from __future__ import annotations

from typing import Literal

Language = Literal["zh", "en", "mixed", "unknown"]


def script_counts(text: str) -> tuple[int, int]:
    """Count Han characters and Latin-letter words in a text."""
    han = 0
    latin_words = 0
    in_word = False
    for ch in text:
        cp = ord(ch)
        if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF:
            han += 1
            in_word = False
        elif ("a" <= ch <= "z") or ("A" <= ch <= "Z"):
            if not in_word:
                latin_words += 1
            in_word = True
        else:
            in_word = False
    return han, latin_words


def detect_language(text: str | None) -> Language:
    """Return 'zh', 'en', 'mixed' or 'unknown' from the share of Han characters vs Latin words."""
    if not text:
        return "unknown"
    han, words = script_counts(text)
    # One Latin word carries about as much content as two Han characters.
    zh_weight = han / 2.0
    total = zh_weight + words
    if total == 0:
        return "unknown"
    share = zh_weight / total
    if share >= 0.8:
        return "zh"
    if share <= 0.2:
        return "en"
    return "mixed"


def zh_share(text: str) -> float:
    """Return the weight of Chinese content in [0, 1] (0.5 when the text has no letters at all)."""
    han, words = script_counts(text)
    total = han / 2.0 + words
    return 0.5 if total == 0 else (han / 2.0) / total
