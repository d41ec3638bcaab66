"""Compiled (numba) kernels for the per-text loops that numpy and `re` leave to Python.

- `ngram_csr`: a text's character n-gram counts. numpy needed a COO→CSR conversion and a
  per-row index sort over the whole batch; here one pass per text hashes its n-grams, looks
  them up and counts them, and writes CSR directly.
- `scan_texts`: clause splitting and taxonomy keyword matching. The regex scans (a trie regex
  over ~650 keywords, the boundary regex of `clauses.py`) plus the Python loops around them
  cost more than the review model; the kernel walks a character trie instead.
- `lexicon_counts`: the opinion-word counts of `lexicon.lexicon_counts` (the same trie walk over
  the Chinese opinion words, with its negation rule) for the aspect-polarity features.

Each computes exactly what the Python code it replaces computes (the same keys, columns and
counts; the same clauses, detections and word counts); `tests/text/test_fast_paths.py` checks it. When
numba is not importable, or `CXLOOP_JIT=0` is set, the callers keep their numpy/regex path.
Compiled code is cached on disk (numba's `cache=True`), so only the first run after an install
pays the compile, about ten seconds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

njit: Any = None
try:  # numba is a dependency, but a platform without its wheels still gets the numpy path
    if os.environ.get("CXLOOP_JIT", "1") != "0":
        from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is absent
    njit = None

AVAILABLE = njit is not None

_PRIME = np.uint64(1_000_003)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_ZERO = np.uint64(0)


def code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of all texts (uint32) and where each text starts (n + 1 offsets)."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32), starts


def ngram_constants(hi: int) -> np.ndarray:
    """The per-length constants mixed into n-gram keys (index n, for n = 0..hi)."""
    return np.array([n * 0x9E3779B97F4A7C15 % 2**64 for n in range(hi + 1)], dtype=np.uint64)


def _ngram_csr_py(
    codes: np.ndarray,
    starts: np.ndarray,
    lo: int,
    hi: int,
    consts: np.ndarray,
    shift: np.uint64,
    buckets: np.ndarray,
    bucket_shift: np.uint64,
    vocab: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (indptr, indices, counts) of character n-gram columns per text.

    `codes` are the code points of all texts, text d being codes[starts[d]:starts[d + 1]].
    With a non-empty `vocab` (sorted 64-bit keys) a column is the key's index in it and keys
    outside it are dropped; `buckets` (see `vocab_buckets`) gives, for the key's top bits, the
    range of `vocab` to scan, and the columns of a row come in first-seen order. With an empty
    `vocab` the column is the key's top bits (`key >> shift`) and a row's columns are sorted.
    """
    n_docs = len(starts) - 1
    use_vocab = len(vocab) > 0
    # Upper bound of the n-grams of one text and of all texts.
    longest = 0
    total = 0
    for d in range(n_docs):
        size = starts[d + 1] - starts[d]
        if size > longest:
            longest = size
        for n in range(lo, hi + 1):
            if size >= n:
                total += size - n + 1
    buf = np.empty(longest * (hi - lo + 1) + 1, dtype=np.int64)
    # Where each vocabulary column was last written. Left uninitialised (no 2 MB fill per
    # call): a position counts only if it lies in the current row and holds that column.
    seen_at = np.empty(len(vocab), dtype=np.int32)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    indices = np.empty(total, dtype=np.int32)
    counts = np.empty(total, dtype=np.float32)
    out = 0
    for d in range(n_docs):
        s = starts[d]
        e = starts[d + 1]
        row_start = out
        k = 0
        for p in range(s, e):
            h = _ZERO
            for n in range(1, hi + 1):
                if p + n > e:
                    break
                h = h * _PRIME + np.uint64(codes[p + n - 1])
                if n < lo:
                    continue
                key = h + consts[n]
                key = key ^ (key >> _S33)
                key = key * _M1
                key = key ^ (key >> _S33)
                key = key * _M2
                key = key ^ (key >> _S33)
                if use_vocab:
                    b = np.int64(key >> bucket_shift)
                    j = buckets[b]
                    stop = buckets[b + 1]
                    while j < stop and vocab[j] < key:
                        j += 1
                    if j == stop or vocab[j] != key:
                        # A vocabulary of n-grams found in at least min_df texts holds the prefix
                        # of each of its n-grams (the prefix is in every text the n-gram is in),
                        # so no longer n-gram starting here can be in it either.
                        break
                    q = seen_at[j]
                    if row_start <= q < out and indices[q] == j:
                        counts[q] += 1.0
                    else:
                        seen_at[j] = out
                        indices[out] = j
                        counts[out] = 1.0
                        out += 1
                else:
                    buf[k] = np.int64(key >> shift)
                    k += 1
        if k:
            cols = np.sort(buf[:k])
            prev = cols[0]
            run = 1
            for j in range(1, k):
                c = cols[j]
                if c == prev:
                    run += 1
                else:
                    indices[out] = prev
                    counts[out] = run
                    out += 1
                    prev = c
                    run = 1
            indices[out] = prev
            counts[out] = run
            out += 1
        indptr[d + 1] = out
    return indptr, indices[:out].copy(), counts[:out].copy()


BUCKET_BITS = 20
BUCKET_SHIFT = np.uint64(64 - BUCKET_BITS)


def vocab_buckets(vocab: np.ndarray, bits: int = BUCKET_BITS) -> np.ndarray:
    """Start of each top-`bits` key prefix in a sorted key array (2**bits + 1 int32 offsets).

    4 MB instead of a 32 MB direct table: most look-ups of n-grams outside the vocabulary
    end at an empty bucket, and the rest scan one or two neighbouring keys, so the index
    stays in the CPU cache, which the direct table did not.
    """
    prefixes = vocab >> np.uint64(64 - bits)
    # int32 offsets: half the bytes to keep in cache (5.7 instead of 7.1 us per review).
    return np.searchsorted(prefixes, np.arange(2**bits + 1, dtype=np.uint64)).astype(np.int32)


ngram_csr: Any = njit(cache=True, nogil=True)(_ngram_csr_py) if njit is not None else None


class Trie(NamedTuple):
    """Character tries of groups of words as arrays (see `build_trie`)."""

    roots: np.ndarray  # (groups, 0x10000): the root's child for each BMP character, or -1
    edge_keys: np.ndarray  # sorted (node << 21 | character) keys of the deeper edges
    edge_child: np.ndarray  # the child node of each edge key
    terminal: np.ndarray  # the index of the word ending at a node, or -1


def build_trie(groups: Sequence[Sequence[str]]) -> Trie:
    """One character trie per group of words, sharing their node arrays.

    Words are numbered across the groups in order. A word holding a character beyond the BMP
    is left out: the kernels only walk texts within the BMP or read such characters as
    matching nothing, so it could never be found anyway.
    """
    roots = np.full((len(groups), 0x10000), -1, dtype=np.int64)
    edges: dict[int, int] = {}
    terminal: list[int] = []
    k = -1
    for g, words in enumerate(groups):
        for w in words:
            k += 1
            if not w or max(map(ord, w)) >= 0x10000:
                continue
            node = int(roots[g, ord(w[0])])
            if node < 0:
                node = len(terminal)
                roots[g, ord(w[0])] = node
                terminal.append(-1)
            for ch in w[1:]:
                key = (node << 21) | ord(ch)
                if key not in edges:
                    edges[key] = len(terminal)
                    terminal.append(-1)
                node = edges[key]
            terminal[node] = k
    keys = np.array(sorted(edges), dtype=np.int64)
    return Trie(
        roots,
        keys,
        np.array([edges[int(key)] for key in keys], dtype=np.int64),
        np.array(terminal, dtype=np.int64),
    )


# Character classes for `scan_texts` (bit flags of `clauses.char_classes`).
PUNCT = 1  # a character of clauses._PUNCT
SPACE = 2  # regex \s (str.isspace)
WORD = 4  # regex \w (str.isalnum or "_")
LOWER = 8  # a-z, the letters the Latin keyword boundaries look at

# Code points of the contrast connectives of clauses._CONTRAST, in the regex's order.
_DAN, _SHI, _BU, _GUO, _KE, _RAN, _ER, _ZHI, _JIU, _YOU, _DIAN, _FEI, _YUAN, _QUE = (
    ord(c) for c in "但是不过可然而只就有点非愿却"
)
_DOT = ord(".")
EN_CONTRAST = ("but", "however", "although", "though", "except", "yet")


def padded_codes(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Words as a zero-padded code-point matrix and their lengths."""
    codes = np.zeros((len(words), max(map(len, words))), dtype=np.int64)
    for i, w in enumerate(words):
        codes[i, : len(w)] = [ord(c) for c in w]
    return codes, np.array([len(w) for w in words], dtype=np.int64)


def _contrast_end(
    t: np.ndarray, p: int, n: int, cls: np.ndarray, words: np.ndarray, word_len: np.ndarray
) -> int:
    """End of the contrast connective starting at t[p], or -1: `clauses._CONTRAST` at p."""
    c = t[p]
    nxt = t[p + 1] if p + 1 < n else -1
    if c == _DAN and nxt == _SHI:
        return p + 2
    if (c == _BU and nxt == _GUO) or (c == _KE and nxt == _SHI) or (c == _RAN and nxt == _ER):
        return p + 2
    if c == _ZHI and nxt == _SHI:
        return p + 2
    if c == _JIU and nxt == _SHI and p + 3 < n and t[p + 2] == _YOU and t[p + 3] == _DIAN:
        return p + 4
    if c == _DAN:
        before = t[p - 1] if p > 0 else -1
        if before != _BU and before != _FEI and nxt != _YUAN:
            return p + 1
        return -1
    if c == _QUE:
        return p + 1 if nxt != _SHI else -1
    # \b(?:but|however|...)\b: a word boundary before (t[p] is a letter) and after.
    if p > 0 and cls[t[p - 1]] & WORD:
        return -1
    for w in range(len(word_len)):
        size = word_len[w]
        if p + size > n:
            continue
        ok = True
        for j in range(size):
            if t[p + j] != words[w, j]:
                ok = False
                break
        if ok and (p + size == n or not (cls[t[p + size]] & WORD)):
            return p + size
    return -1


def _boundary(t: np.ndarray, p: int, n: int, cls: np.ndarray, words: np.ndarray, word_len: np.ndarray) -> int:
    """`clauses._BOUNDARY_RE` at t[p]: the end of a punctuation match, -(end + 2) of a contrast match, or -1."""
    c = t[p]
    k = cls[c]
    if k & PUNCT:  # [punctuation]+
        q = p + 1
        while q < n and cls[t[q]] & PUNCT:
            q += 1
        return q
    if c == _DOT:
        if p + 1 == n or cls[t[p + 1]] & SPACE:  # \.(?:\s|$)+
            q = p + 1
            while q < n and cls[t[q]] & SPACE:
                q += 1
            return q
        if t[p + 1] == _DOT:  # \.{2,}
            q = p + 2
            while q < n and t[q] == _DOT:
                q += 1
            return q
        return -1
    if k & SPACE:
        if p + 1 < n and cls[t[p + 1]] & SPACE:  # \s{2,}
            q = p + 2
            while q < n and cls[t[q]] & SPACE:
                q += 1
            return q
        return -1
    e = _contrast_end(t, p, n, cls, words, word_len)
    return -(e + 2) if e >= 0 else -1


def _emit_clause(t: np.ndarray, a: int, b: int, out_start: np.ndarray, out_end: np.ndarray, m: int) -> int:
    """Store t[a:b] stripped of spaces as clause m when not empty; return the new clause count."""
    while a < b and t[a] == 32:
        a += 1
    while b > a and t[b - 1] == 32:
        b -= 1
    if a == b:
        return m
    out_start[m] = a
    out_end[m] = b
    return m + 1


def _child(node: int, c: int, root: np.ndarray, edge_keys: np.ndarray, edge_child: np.ndarray) -> int:
    """The trie node reached from `node` by character c, or -1 (node -1 stands for the root)."""
    if node < 0:
        return root[c] if c < len(root) else -1
    key = (np.int64(node) << 21) | np.int64(c)
    j = np.searchsorted(edge_keys, key)
    if j < len(edge_keys) and edge_keys[j] == key:
        return edge_child[j]
    return -1


def _longest(
    t: np.ndarray,
    q: int,
    stop: int,
    root: np.ndarray,
    edge_keys: np.ndarray,
    edge_child: np.ndarray,
    terminal: np.ndarray,
) -> tuple[int, int]:
    """The longest trie word starting at t[q] and ending by `stop`: (word index, end), or (-1, -1)."""
    best = -1
    best_end = -1
    node = _child(-1, t[q], root, edge_keys, edge_child)
    r = q
    while node >= 0:
        r += 1
        if terminal[node] >= 0:
            best = terminal[node]
            best_end = r
        if r >= stop:
            break
        node = _child(node, t[r], root, edge_keys, edge_child)
    return best, best_end


def _scan_texts_py(
    codes: np.ndarray,
    starts: np.ndarray,
    cls: np.ndarray,
    words: np.ndarray,
    word_len: np.ndarray,
    roots: np.ndarray,
    edge_keys: np.ndarray,
    edge_child: np.ndarray,
    terminal: np.ndarray,
    keyword_aspect: np.ndarray,
    n_aspects: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clauses and keyword detections of many normalised texts, as `split_clauses` and
    `AspectModel.detect_batch`'s keyword pass give them.

    Returns clause_ptr (clauses of text d are clause_ptr[d]:clause_ptr[d + 1]), clause start and
    end, det_ptr (detections of clause m are det_ptr[m]:det_ptr[m + 1]), detection aspect and
    term start / end, and which texts were skipped. Offsets are relative to each text. Texts
    holding a character beyond the Basic Multilingual Plane are skipped (no clauses; the caller
    takes the regex path for them): the character class table covers the BMP only.
    """
    n_docs = len(starts) - 1
    total = len(codes)
    clause_ptr = np.zeros(n_docs + 1, dtype=np.int64)
    c_start = np.empty(total + n_docs, dtype=np.int64)
    c_end = np.empty(total + n_docs, dtype=np.int64)
    skipped = np.zeros(n_docs, dtype=np.bool_)
    m = 0
    for d in range(n_docs):
        t = codes[starts[d] : starts[d + 1]]
        n = len(t)
        bmp = True
        for p in range(n):
            if t[p] >= len(cls):
                bmp = False
                break
        if not bmp:
            skipped[d] = True
            clause_ptr[d + 1] = m
            continue
        piece = 0
        cut = 0
        p = 0
        while p < n:
            r = _boundary(t, p, n, cls, words, word_len)
            if r == -1:
                p += 1
                continue
            if r >= 0:  # punctuation closes the piece
                if p > cut:
                    m = _emit_clause(t, cut, p, c_start, c_end, m)
                piece = r
                cut = r
                p = r
            else:
                if p - piece > 1:  # a contrast connective not at the very start of the piece
                    m = _emit_clause(t, cut, p, c_start, c_end, m)
                    cut = p
                p = -r - 2
        if cut < n:
            m = _emit_clause(t, cut, n, c_start, c_end, m)
        clause_ptr[d + 1] = m
    # Keywords, clause by clause: the longest non-Latin keyword at a position, else the longest
    # Latin one with no a-z letter right before or after it inside the clause.
    det_ptr = np.zeros(m + 1, dtype=np.int64)
    det_aspect = np.empty(total, dtype=np.int64)
    det_start = np.empty(total, dtype=np.int64)
    det_end = np.empty(total, dtype=np.int64)
    seen = np.full(max(n_aspects, 1), -1, dtype=np.int64)
    root_other = roots[0]  # non-Latin keywords
    root_latin = roots[1]  # Latin keywords, which need no a-z letter on either side
    k = 0
    for d in range(n_docs):
        t = codes[starts[d] : starts[d + 1]]
        for ci in range(clause_ptr[d], clause_ptr[d + 1]):
            a = c_start[ci]
            b = c_end[ci]
            q = a
            while q < b:
                best, best_end = _longest(t, q, b, root_other, edge_keys, edge_child, terminal)
                if best < 0 and (q == a or not (cls[t[q - 1]] & LOWER)):
                    node = _child(-1, t[q], root_latin, edge_keys, edge_child)
                    r = q
                    while node >= 0:
                        r += 1
                        if terminal[node] >= 0 and (r == b or not (cls[t[r]] & LOWER)):
                            best = terminal[node]
                            best_end = r
                        if r >= b:
                            break
                        node = _child(node, t[r], root_latin, edge_keys, edge_child)
                if best < 0:
                    q += 1
                    continue
                asp = keyword_aspect[best]
                if seen[asp] != ci:  # one detection per aspect and clause
                    seen[asp] = ci
                    det_aspect[k] = asp
                    det_start[k] = q
                    det_end[k] = best_end
                    k += 1
                q = best_end
            det_ptr[ci + 1] = k
    return (
        clause_ptr,
        c_start[:m].copy(),
        c_end[:m].copy(),
        det_ptr,
        det_aspect[:k].copy(),
        det_start[:k].copy(),
        det_end[:k].copy(),
        skipped,
    )


def _negated(t: np.ndarray, start: int, negators: np.ndarray, negator_len: np.ndarray) -> bool:
    """Whether the (up to) three characters before `start` end with a negator."""
    for j in range(len(negator_len)):
        size = negator_len[j]
        if size > start or size > 3:
            continue
        ok = True
        for i in range(size):
            if t[start - size + i] != negators[j, i]:
                ok = False
                break
        if ok:
            return True
    return False


def _lexicon_counts_py(
    codes: np.ndarray,
    starts: np.ndarray,
    trie_roots: np.ndarray,
    edge_keys: np.ndarray,
    edge_child: np.ndarray,
    terminal: np.ndarray,
    polarity: np.ndarray,
    self_negated: np.ndarray,
    negators: np.ndarray,
    negator_len: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Chinese opinion-word counts per text, as `lexicon.lexicon_counts` finds them.

    The longest lexicon word at each position, left to right without overlaps; a word flips
    when a negator ends within the three characters before it, unless it starts with one
    itself. Returns (n, 2) positive / negative counts and whether each text holds an a-z letter
    (the caller adds the English counts of those).
    """
    n_docs = len(starts) - 1
    out = np.zeros((n_docs, 2), dtype=np.float64)
    latin = np.zeros(n_docs, dtype=np.bool_)
    root = trie_roots[0]
    for d in range(n_docs):
        t = codes[starts[d] : starts[d + 1]]
        n = len(t)
        q = 0
        while q < n:
            c = t[q]
            if 97 <= c <= 122:
                latin[d] = True
            best, best_end = _longest(t, q, n, root, edge_keys, edge_child, terminal)
            if best < 0:
                q += 1
                continue
            pol = polarity[best]
            if not self_negated[best] and _negated(t, q, negators, negator_len):
                pol = -pol
            if pol > 0:
                out[d, 0] += 1.0
            else:
                out[d, 1] += 1.0
            for i in range(q + 1, best_end):  # the letters inside the word
                if 97 <= t[i] <= 122:
                    latin[d] = True
            q = best_end
    return out, latin


if njit is not None:
    _negated = njit(cache=True)(_negated)
    _contrast_end = njit(cache=True)(_contrast_end)
    _boundary = njit(cache=True)(_boundary)
    _emit_clause = njit(cache=True)(_emit_clause)
    _child = njit(cache=True)(_child)
    _longest = njit(cache=True)(_longest)
scan_texts: Any = njit(cache=True, nogil=True)(_scan_texts_py) if njit is not None else None
lexicon_counts: Any = njit(cache=True, nogil=True)(_lexicon_counts_py) if njit is not None else None
