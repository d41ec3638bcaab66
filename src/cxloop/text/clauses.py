"""Clause splitting, so that one review can hold several opinions, and keyword scanning.

Both run in one compiled walk over a batch's characters (`kernels.scan_texts`); the rules
are written out in its docstring, and `tests/text/reference.py` states them as regexes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from cxloop.text import kernels

#: Punctuation that ends a clause (ASCII forms too: normalisation folds full-width ones).
PUNCTUATION = "。!?;,，！？；、\n\r\t~…|"
_CONTRAST_WORDS = kernels.padded_codes(kernels.EN_CONTRAST)
_BMP = 0x10000
_UNICODE = 0x110000


class Clause(NamedTuple):
    """A clause of a normalised text: its [start, end) span and its text."""

    start: int
    end: int
    text: str


class Keywords(NamedTuple):
    """Keywords compiled for `scan`: tries of the non-Latin and the Latin words, and their aspects."""

    trie: kernels.Trie
    aspect_of: np.ndarray  # the aspect index of each keyword, in trie word order
    aspects: list[str]


def compile_keywords(owner: Mapping[str, str]) -> Keywords:
    """Compile {keyword: aspect id}; Latin-script (ASCII) keywords need no a-z letter either side."""
    other = sorted(w for w in owner if not w.isascii())
    latin = sorted(w for w in owner if w.isascii())
    aspects = sorted(set(owner.values()))
    index = {a: i for i, a in enumerate(aspects)}
    return Keywords(
        kernels.build_trie([other, latin]),
        np.array([index[owner[w]] for w in [*other, *latin]], dtype=np.int64),
        aspects,
    )


@cache
def _no_keywords() -> Keywords:
    """The empty keyword set, for splitting without keyword detection."""
    return compile_keywords({})


class Scan(NamedTuple):
    """`kernels.scan_texts` output for a batch (see there), as Python lists."""

    clause_ptr: list[int]
    clause_start: list[int]
    clause_end: list[int]
    det_ptr: list[int]
    det_aspect: list[int]
    det_start: list[int]
    det_end: list[int]
    contrast: list[bool]


@cache
def char_classes(size: int) -> np.ndarray:
    """Class bits (kernels.PUNCT / SPACE / WORD / LOWER) of the first `size` code points.

    SPACE and WORD are what regex \\s and \\w match. The Basic Multilingual Plane is built in
    milliseconds; all of Unicode takes a few tenths of a second, so `scan` asks for it only
    once a text holds a character beyond the BMP.
    """
    everything = np.arange(size, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(size, dtype=np.uint8)
    patterns = (
        (f"[{re.escape(PUNCTUATION)}]+", kernels.PUNCT),
        (r"\s+", kernels.SPACE),
        (r"\w+", kernels.WORD),
        ("[a-z]+", kernels.LOWER),
    )
    for pattern, bit in patterns:
        for m in re.finditer(pattern, everything):
            classes[m.start() : m.end()] |= bit
    return classes


def scan(texts: Sequence[str], keywords: Keywords | None = None) -> Scan:
    """Clauses, keyword detections and contrast flags of normalised texts (`kernels.scan_texts`)."""
    codes, starts = kernels.code_points(texts)
    wide = len(codes) > 0 and int(codes.max()) >= _BMP
    kw = keywords or _no_keywords()
    arrays = kernels.scan_texts(
        codes,
        starts,
        char_classes(_UNICODE if wide else _BMP),
        *_CONTRAST_WORDS,
        kw.trie,
        kw.aspect_of,
        len(kw.aspects),
    )
    return Scan(*(a.tolist() for a in arrays))


def clauses_of(texts: Sequence[str], scanned: Scan) -> list[list[Clause]]:
    """The clauses of each text from its scan."""
    ptr, start, end = scanned.clause_ptr, scanned.clause_start, scanned.clause_end
    return [
        [Clause(start[m], end[m], t[start[m] : end[m]]) for m in range(ptr[i], ptr[i + 1])]
        for i, t in enumerate(texts)
    ]


def split_clauses_batch(texts: Sequence[str]) -> list[list[Clause]]:
    """Split normalised texts into clauses on punctuation and contrast connectives."""
    return clauses_of(texts, scan(texts))


def split_clauses(text: str) -> list[Clause]:
    """Split a normalised text into clauses on punctuation and contrast connectives."""
    return split_clauses_batch([text])[0]


def has_contrast(text: str) -> bool:
    """Whether a normalised text holds a contrast connective (但是, 不过, but...): a mixed opinion."""
    return scan([text]).contrast[0]
