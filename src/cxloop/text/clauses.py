"""Clause splitting so that one review can hold several opinions."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# Punctuation that ends a clause (ASCII forms too: normalisation folds full-width ones).
_PUNCT = "。!?;,，！？；、\n\r\t~…|"
# Contrast connectives start a new clause; the opinion after them usually differs. "但" inside
# "不但/非但/但愿" and "却是" are not contrasts.
_CONTRAST_RE = re.compile(
    r"但是|不过|可是|然而|只是|就是有点|(?<![不非])但(?!愿)|却(?!是)|\b(?:but|however|although|though|except|yet)\b"
)
_PUNCT_RE = re.compile(r"[。!?;,，！？；、\n\r\t~…|]+|\.(?:\s|$)+|\.{2,}|\s{2,}")


@dataclass(frozen=True)
class Clause:
    """A clause of a normalised text: its [start, end) span and its text."""

    start: int
    end: int
    text: str


def _contrast_cuts(text: str) -> list[int]:
    """Positions inside a punctuation-free segment where a contrast connective begins."""
    return [m.start() for m in _CONTRAST_RE.finditer(text) if m.start() > 1]


def split_clauses(text: str) -> list[Clause]:
    """Split a normalised text into clauses on punctuation and contrast connectives."""
    if not text:
        return []
    pieces: list[tuple[int, int]] = []
    pos = 0
    for m in _PUNCT_RE.finditer(text):
        if m.start() > pos:
            pieces.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        pieces.append((pos, len(text)))
    clauses: list[Clause] = []
    for start, end in pieces:
        seg = text[start:end]
        bounds = [0, *_contrast_cuts(seg), len(seg)]
        for a, b in itertools.pairwise(bounds):
            # Strip spaces while keeping offsets right.
            while a < b and seg[a] == " ":
                a += 1
            while b > a and seg[b - 1] == " ":
                b -= 1
            if b > a:
                clauses.append(Clause(start + a, start + b, seg[a:b]))
    return clauses
