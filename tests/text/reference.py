"""Plain reference implementations of the compiled kernels, used only as the tests' oracle.

Each states a rule as simply as it can be written (regexes, dicts, Python integers), with no
regard for speed; `test_fast_paths.py` checks that the kernels give exactly the same results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from cxloop.text.aspects import Detection
from cxloop.text.clauses import Clause
from cxloop.text.lexicon import _EN_NEGATORS, _EN_POLARITY, ZH_NEGATIVE, ZH_POSITIVE

# -- clauses ----------------------------------------------------------------------------------

_PUNCT = r"[。!?;,，！？；、\n\r\t~…|]+|\.(?:\s|$)+|\.{2,}|\s{2,}"
# "但" inside "不但/非但/但愿" and "却是" are not contrasts.
_CONTRAST = r"但是|不过|可是|然而|只是|就是有点|(?<![不非])但(?!愿)|却(?!是)|\b(?:but|however|although|though|except|yet)\b"


def has_contrast(text: str) -> bool:
    """Whether the text holds a contrast connective anywhere."""
    return re.search(_CONTRAST, text) is not None


def _stripped(text: str, a: int, b: int) -> list[Clause]:
    """text[a:b] stripped of spaces as a clause, or nothing when that leaves it empty."""
    seg = text[a:b]
    lead = len(seg) - len(seg.lstrip(" "))
    seg = seg.strip(" ")
    return [Clause(a + lead, a + lead + len(seg), seg)] if seg else []


def split_clauses(text: str) -> list[Clause]:
    """Cut at punctuation, and before a contrast connective more than one character into its piece."""
    out: list[Clause] = []
    pos = 0
    for m in [*re.finditer(_PUNCT, text), None]:
        end = m.start() if m else len(text)
        piece = text[pos:end]
        cut = 0
        for c in re.finditer(_CONTRAST, piece):
            if c.start() > 1:
                out += _stripped(text, pos + cut, pos + c.start())
                cut = c.start()
        out += _stripped(text, pos + cut, end)
        pos = m.end() if m else len(text)
    return out


# -- keywords ---------------------------------------------------------------------------------


def _longest_first(words: Sequence[str]) -> str:
    """An alternation that tries longer words first, so that it matches the longest one."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


def keyword_pattern(owner: Mapping[str, str]) -> re.Pattern[str] | None:
    """The longest non-Latin keyword at a position, else the longest Latin one between non-letters."""
    other = [w for w in owner if not w.isascii()]
    latin = [w for w in owner if w.isascii()]
    parts = []
    if other:
        parts.append(f"(?:{_longest_first(other)})")
    if latin:
        parts.append(rf"(?<![a-z])(?:{_longest_first(latin)})(?![a-z])")
    return re.compile("|".join(parts)) if parts else None


def detect_keywords(
    text: str, clauses: Sequence[Clause], owner: Mapping[str, str]
) -> tuple[list[Detection], list[Clause]]:
    """Keyword detections clause by clause (one per aspect and clause), and the clauses with none."""
    pattern = keyword_pattern(owner)
    found: list[Detection] = []
    without: list[Clause] = []
    for c in clauses:
        seen: set[str] = set()
        for m in pattern.finditer(c.text) if pattern else ():
            aspect = owner[m.group(0)]
            if aspect not in seen:
                seen.add(aspect)
                found.append(
                    Detection(aspect, c.start, c.end, c.start + m.start(), c.start + m.end(), "keyword")
                )
        if not seen:
            without.append(c)
    return found, without


# -- opinion words ----------------------------------------------------------------------------

_ZH_POLARITY = {w: 1 for w in ZH_POSITIVE} | {w: -1 for w in ZH_NEGATIVE}
_ZH_NEGATORS = ("不", "没", "没有", "别", "无", "未", "非", "并不", "毫不", "不是", "不太", "不够", "不怎么")


def lexicon_counts(text: str) -> tuple[float, float]:
    """Positive and negative opinion words, each flipped by a negator just before it."""
    pos = neg = 0.0
    for m in re.finditer(_longest_first(list(_ZH_POLARITY)), text):
        word, start = m.group(0), m.start()
        pol = _ZH_POLARITY[word]
        if not word.startswith(("不", "没")) and text[max(0, start - 3) : start].endswith(_ZH_NEGATORS):
            pol = -pol
        pos, neg = (pos + 1, neg) if pol > 0 else (pos, neg + 1)
    tokens = re.findall(r"[a-z]+(?:'[a-z]+)?", text)
    for i, tok in enumerate(tokens):
        pol = _EN_POLARITY.get(tok, 0)
        if pol and any(t in _EN_NEGATORS or t.endswith("n't") for t in tokens[max(0, i - 3) : i]):
            pol = -pol
        if pol:
            pos, neg = (pos + 1, neg) if pol > 0 else (pos, neg + 1)
    return pos, neg


# -- character n-grams ------------------------------------------------------------------------

_MASK = 2**64 - 1


def ngram_key(gram: str) -> int:
    """The 64-bit key of a character n-gram: fmix64(polynomial hash + a constant of its length)."""
    h = 0
    for ch in gram:
        h = (h * 1_000_003 + ord(ch)) & _MASK
    key = (h + len(gram) * 0x9E3779B97F4A7C15) & _MASK
    key ^= key >> 33
    key = (key * 0xFF51AFD7ED558CCD) & _MASK
    key ^= key >> 33
    key = (key * 0xC4CEB9FE1A85EC53) & _MASK
    return key ^ (key >> 33)


def ngrams(text: str, lo: int, hi: int) -> list[str]:
    """The character n-grams of a text, position by position, shorter first."""
    return [text[p : p + n] for p in range(len(text)) for n in range(lo, hi + 1) if p + n <= len(text)]


def _csr(rows: list[dict[int, float]], n_cols: int) -> sp.csr_matrix:
    """A CSR matrix holding each row's {column: count} in the dict's order."""
    indptr = np.cumsum([0, *map(len, rows)])
    indices = np.array([c for r in rows for c in r], dtype=np.int32)
    data = np.array([v for r in rows for v in r.values()], dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_cols))


def hashed_counts(texts: Sequence[str], ngram_range: tuple[int, int], n_features: int) -> sp.csr_matrix:
    """n-gram counts in columns key >> (64 - log2 n_features), columns sorted within a row."""
    shift = 64 - (n_features.bit_length() - 1)
    rows = []
    for t in texts:
        counts: dict[int, float] = {}
        for g in ngrams(t, *ngram_range):
            col = ngram_key(g) >> shift
            counts[col] = counts.get(col, 0.0) + 1.0
        rows.append(dict(sorted(counts.items())))
    return _csr(rows, n_features)


def vocab_counts(texts: Sequence[str], vocab: np.ndarray, ngram_range: tuple[int, int]) -> sp.csr_matrix:
    """Counts of the n-grams in a sorted key vocabulary, columns in the order first seen."""
    column = {int(k): i for i, k in enumerate(vocab.tolist())}
    rows = []
    for t in texts:
        counts: dict[int, float] = {}
        for g in ngrams(t, *ngram_range):
            col = column.get(ngram_key(g))
            if col is not None:
                counts[col] = counts.get(col, 0.0) + 1.0
        rows.append(counts)
    return _csr(rows, len(vocab))


def build_vocab(texts: Sequence[str], min_df: int, ngram_range: tuple[int, int]) -> np.ndarray:
    """The sorted keys of the n-grams found in at least min_df texts."""
    df: dict[int, int] = {}
    for t in texts:
        for key in {ngram_key(g) for g in ngrams(t, *ngram_range)}:
            df[key] = df.get(key, 0) + 1
    return np.array(sorted(k for k, n in df.items() if n >= min_df), dtype=np.uint64)


def same_csr(a: Any, b: Any) -> bool:
    """Exactly the same CSR arrays: shape, row pointers, column order and values."""
    return bool(
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )
