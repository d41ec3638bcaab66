"""Clause splitting so that one review can hold several opinions."""

from __future__ import annotations

import re
from typing import NamedTuple

# Punctuation that ends a clause (ASCII forms too: normalisation folds full-width ones).
_PUNCT = "。!?;,，！？；、\n\r\t~…|"
# Contrast connectives start a new clause; the opinion after them usually differs. "但" inside
# "不但/非但/但愿" and "却是" are not contrasts.
_CONTRAST = r"但是|不过|可是|然而|只是|就是有点|(?<![不非])但(?!愿)|却(?!是)|\b(?:but|however|although|though|except|yet)\b"
_CONTRAST_RE = re.compile(_CONTRAST)
_PUNCT_PATTERN = r"[。!?;,，！？；、\n\r\t~…|]+|\.(?:\s|$)+|\.{2,}|\s{2,}"
_PUNCT_RE = re.compile(_PUNCT_PATTERN)
# One scan finds both kinds of boundary: the two patterns match disjoint sets of characters
# (punctuation/whitespace vs letters), so the combined scan yields exactly the matches of the
# punctuation scan over the text and of the contrast scan inside each punctuation-free piece.
_BOUNDARY_RE = re.compile(f"({_PUNCT_PATTERN})|(?:{_CONTRAST})")


class Clause(NamedTuple):
    """A clause of a normalised text: its [start, end) span and its text."""

    start: int
    end: int
    text: str


def _contrast_cuts(text: str) -> list[int]:
    """Positions inside a punctuation-free segment where a contrast connective begins."""
    return [m.start() for m in _CONTRAST_RE.finditer(text) if m.start() > 1]


def _emit(text: str, a: int, b: int, out: list[Clause]) -> None:
    """Append the clause text[a:b] with surrounding spaces stripped (if anything is left)."""
    seg = text[a:b]
    if seg[:1] == " " or seg[-1:] == " ":
        stripped = seg.strip(" ")
        if not stripped:
            return
        a += len(seg) - len(seg.lstrip(" "))
        seg = stripped
    if seg:
        out.append(Clause(a, a + len(seg), seg))


def split_clauses(text: str) -> list[Clause]:
    """Split a normalised text into clauses on punctuation and contrast connectives."""
    if not text:
        return []
    out: list[Clause] = []
    piece = 0  # start of the current punctuation-free piece
    cut = 0  # start of the current clause inside it
    for m in _BOUNDARY_RE.finditer(text):
        s = m.start()
        if m.lastindex:  # punctuation: close the piece
            if s > cut:
                _emit(text, cut, s, out)
            piece = cut = m.end()
        elif s - piece > 1:  # a contrast connective not at the very start of the piece
            _emit(text, cut, s, out)
            cut = s
    if cut < len(text):
        _emit(text, cut, len(text), out)
    return out
