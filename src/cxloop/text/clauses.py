"""Clause splitting so that one review can hold several opinions."""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

import numpy as np

from cxloop.text import kernels

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
# The lookahead lists every character a boundary can start with, so `re` skips other positions
# after one set test (the lookbehinds in the alternatives would otherwise stop that).
_BOUNDARY_START = r"[。!?;,，！？；、\n\r\t~…|.\s但不可然只就却bhatey]"
_BOUNDARY_RE = re.compile(f"(?={_BOUNDARY_START})(?:({_PUNCT_PATTERN})|(?:{_CONTRAST}))")


class Clause(NamedTuple):
    """A clause of a normalised text: its [start, end) span and its text."""

    start: int
    end: int
    text: str


# tuple.__new__ builds a Clause without the Python-level NamedTuple constructor.
_new_clause = tuple.__new__


def has_contrast(text: str) -> bool:
    """Whether a normalised text holds a contrast connective (但是, 不过, but...): a mixed opinion."""
    return _CONTRAST_RE.search(text) is not None


def _contrast_cuts(text: str) -> list[int]:
    """Positions inside a punctuation-free segment where a contrast connective begins."""
    return [m.start() for m in _CONTRAST_RE.finditer(text) if m.start() > 1]


def _append_stripped(out: list[Clause], text: str, a: int, b: int) -> None:
    """Append text[a:b] as a clause, stripped of surrounding spaces, unless that leaves it empty."""
    seg = text[a:b]
    if seg[0] == " " or seg[-1] == " ":
        stripped = seg.lstrip(" ")
        a += len(seg) - len(stripped)
        seg = stripped.rstrip(" ")
        if not seg:
            return
    out.append(_new_clause(Clause, (a, a + len(seg), seg)))


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
                _append_stripped(out, text, cut, s)
            piece = cut = m.end()
        elif s - piece > 1:  # a contrast connective not at the very start of the piece
            _append_stripped(out, text, cut, s)
            cut = s
    if cut < len(text):
        _append_stripped(out, text, cut, len(text))
    return out


@cache
def char_classes() -> np.ndarray:
    """Class bits (kernels.PUNCT/SPACE/WORD/LOWER) of every BMP character, for the compiled scan.

    SPACE and WORD are what the regex module's \\s and \\w match (str.isspace, str.isalnum or "_").
    """
    classes = np.zeros(0x10000, dtype=np.uint8)
    for i in range(0x10000):
        c = chr(i)
        classes[i] = (
            (kernels.PUNCT if c in _PUNCT else 0)
            | (kernels.SPACE if c.isspace() else 0)
            | (kernels.WORD if c.isalnum() or c == "_" else 0)
            | (kernels.LOWER if "a" <= c <= "z" else 0)
        )
    return classes
