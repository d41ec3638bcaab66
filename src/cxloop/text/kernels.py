"""The per-text loops of the text package, compiled with numba: the one fast path.

- `ngram_csr`: a text's character n-gram counts, as a CSR matrix written in one pass per text
  (hash, look up, count), over a hashed space or an exact n-gram vocabulary; `ngram_keys`: the
  64-bit n-gram keys themselves, from which training builds that vocabulary.
- `scan_texts`: clause splitting and taxonomy keyword matching in one walk over the characters.
- `lexicon_counts`: the Chinese opinion-word counts with their negation rule.

Each is checked against a plain, readable reference implementation (regex and dict code in
`tests/text/reference.py`) by `tests/text/test_fast_paths.py`, which compares exactly.

`CXLOOP_JIT=0` (or a platform without numba) runs these same functions as ordinary Python: the
same results, but each text costs milliseconds instead of microseconds, so it is for debugging
a kernel in a Python debugger and for platforms without numba wheels, not for production.
Compiled code is cached on disk (numba's `cache=True`), so only the first run after an install
pays the compile, about ten seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])


def _numba_njit() -> Any:
    """numba's compiler with on-disk caching, or None when disabled (CXLOOP_JIT=0) or absent."""
    # Read here, not through cxloop.config: the text package sits below the settings layer.
    if os.environ.get("CXLOOP_JIT", "1") == "0":
        return None
    try:
        from numba import njit
    except ImportError:  # pragma: no cover - exercised only where numba is absent
        return None
    return njit(cache=True, nogil=True)


_NJIT = _numba_njit()
#: Whether the kernels below run compiled (False: the same functions run as plain Python).
COMPILED = _NJIT is not None


def kernel(fn: _F) -> _F:
    """Compile a kernel function with numba when `COMPILED`, else return it unchanged."""
    compiled: _F = _NJIT(fn) if _NJIT is not None else fn
    return compiled


# -- character n-grams ------------------------------------------------------------------------

_PRIME = np.uint64(1_000_003)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_ZERO = np.uint64(0)

BUCKET_BITS = 20
BUCKET_SHIFT = np.uint64(64 - BUCKET_BITS)


def code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of all texts (uint32) and where each text starts (n + 1 offsets)."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32), starts


def ngram_constants(hi: int) -> np.ndarray:
    """The per-length constants mixed into n-gram keys (index n, for n = 0..hi)."""
    return np.array([n * 0x9E3779B97F4A7C15 % 2**64 for n in range(hi + 1)], dtype=np.uint64)


def vocab_buckets(vocab: np.ndarray, bits: int = BUCKET_BITS) -> np.ndarray:
    """Start of each top-`bits` key prefix in a sorted key array (2**bits + 1 int32 offsets).

    4 MB instead of a 32 MB direct table: most look-ups of n-grams outside the vocabulary
    end at an empty bucket, and the rest scan one or two neighbouring keys, so the index
    stays in the CPU cache, which the direct table did not.
    """
    prefixes = vocab >> np.uint64(64 - bits)
    # int32 offsets: half the bytes to keep in cache (5.7 instead of 7.1 us per review).
    return np.searchsorted(prefixes, np.arange(2**bits + 1, dtype=np.uint64)).astype(np.int32)


@kernel
def _ngram_key(h: np.uint64, const: np.uint64) -> np.uint64:
    """The key of an n-gram from its polynomial hash: MurmurHash3's fmix64 of h + const."""
    key = h + const
    key = key ^ (key >> _S33)
    key = key * _M1
    key = key ^ (key >> _S33)
    key = key * _M2
    return key ^ (key >> _S33)


@kernel
def ngram_keys(
    codes: np.ndarray, starts: np.ndarray, lo: int, hi: int, consts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(row, 64-bit key) of every character n-gram occurrence, lo <= n <= hi, text by text.

    The key of an n-gram is `_ngram_key` of the polynomial hash (base 1,000,003, modulo 2**64)
    of its code points, mixed with the constant of its length n.
    """
    n_docs = len(starts) - 1
    total = 0
    for d in range(n_docs):
        size = starts[d + 1] - starts[d]
        for n in range(lo, hi + 1):
            if size >= n:
                total += size - n + 1
    rows = np.empty(total, dtype=np.int64)
    keys = np.empty(total, dtype=np.uint64)
    k = 0
    for d in range(n_docs):
        e = starts[d + 1]
        for p in range(starts[d], e):
            h = _ZERO
            for n in range(1, hi + 1):
                if p + n > e:
                    break
                h = h * _PRIME + np.uint64(codes[p + n - 1])
                if n >= lo:
                    rows[k] = d
                    keys[k] = _ngram_key(h, consts[n])
                    k += 1
    return rows, keys


@kernel
def ngram_csr(
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
    """CSR (indptr, indices, counts) of the character n-grams of each text (keys as `ngram_keys`).

    With a non-empty `vocab` (sorted keys) a column is the key's index in it, keys outside it
    are dropped and a row's columns come in the order their n-grams first occur; `buckets`
    (`vocab_buckets`) gives, for a key's top bits, the range of `vocab` to scan. With an empty
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
                key = _ngram_key(h, consts[n])
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


# -- character tries --------------------------------------------------------------------------

# Node ids at and above this stand for the roots of the groups (see `build_trie`).
_ROOT_BASE = 1 << 40


class Trie(NamedTuple):
    """Character tries of groups of words as arrays (see `build_trie`)."""

    roots: np.ndarray  # (groups, 0x10000): the root's child for each BMP character, or -1
    edge_keys: np.ndarray  # sorted (node << 21 | character) keys of the other edges
    edge_child: np.ndarray  # the child node of each edge key
    terminal: np.ndarray  # the index of the word ending at a node, or -1


def build_trie(groups: Sequence[Sequence[str]]) -> Trie:
    """One character trie per group of words, sharing their node arrays.

    Words are numbered across the groups in order. A root's children for characters of the
    Basic Multilingual Plane are a direct table (the hot look-up); its children for characters
    beyond it are edges of the pseudo-node `_ROOT_BASE + group`.
    """
    roots = np.full((len(groups), 0x10000), -1, dtype=np.int64)
    edges: dict[int, int] = {}
    terminal: list[int] = []
    k = -1
    for g, words in enumerate(groups):
        for w in words:
            k += 1
            if not w:
                continue
            first = ord(w[0])
            if first < 0x10000:
                node = int(roots[g, first])
                if node < 0:
                    node = len(terminal)
                    roots[g, first] = node
                    terminal.append(-1)
            else:
                key = ((_ROOT_BASE + g) << 21) | first
                if key not in edges:
                    edges[key] = len(terminal)
                    terminal.append(-1)
                node = edges[key]
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


@kernel
def _child(node: int, c: int, group: int, trie: Trie) -> int:
    """The trie node reached from `node` by character c, or -1 (node -1 is the group's root)."""
    if node < 0:
        if c < 0x10000:
            return trie.roots[group, c]
        node = _ROOT_BASE + group
    key = (np.int64(node) << 21) | np.int64(c)
    j = np.searchsorted(trie.edge_keys, key)
    if j < len(trie.edge_keys) and trie.edge_keys[j] == key:
        return trie.edge_child[j]
    return -1


@kernel
def _longest(t: np.ndarray, q: int, stop: int, group: int, trie: Trie) -> tuple[int, int]:
    """The longest word of a trie group starting at t[q] and ending by `stop`: (word, end) or (-1, -1)."""
    best = -1
    best_end = -1
    node = _child(-1, t[q], group, trie)
    r = q
    while node >= 0:
        r += 1
        if trie.terminal[node] >= 0:
            best = trie.terminal[node]
            best_end = r
        if r >= stop:
            break
        node = _child(node, t[r], group, trie)
    return best, best_end


# -- clauses and keywords ---------------------------------------------------------------------

# Character classes for `scan_texts` (bit flags of `clauses.char_classes`).
PUNCT = 1  # a character of clauses.PUNCTUATION
SPACE = 2  # regex \s (str.isspace)
WORD = 4  # regex \w (str.isalnum or "_")
LOWER = 8  # a-z, the letters the Latin keyword boundaries look at

# Code points of the Chinese contrast connectives (see `_contrast_end`).
_DAN, _SHI, _BU, _GUO, _KE, _RAN, _ER, _ZHI, _JIU, _YOU, _DIAN, _FEI, _YUAN, _QUE = (
    ord(c) for c in "但是不过可然而只就有点非愿却"
)
_DOT = ord(".")
#: The English contrast connectives, matched as whole words.
EN_CONTRAST = ("but", "however", "although", "though", "except", "yet")


def padded_codes(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Words as a zero-padded code-point matrix and their lengths."""
    codes = np.zeros((len(words), max(map(len, words))), dtype=np.int64)
    for i, w in enumerate(words):
        codes[i, : len(w)] = [ord(c) for c in w]
    return codes, np.array([len(w) for w in words], dtype=np.int64)


@kernel
def _contrast_end(
    t: np.ndarray, p: int, n: int, cls: np.ndarray, words: np.ndarray, word_len: np.ndarray
) -> int:
    """End of the contrast connective starting at t[p], or -1.

    但是 不过 可是 然而 只是 就是有点; 但 unless in 不但 / 非但 / 但愿; 却 unless in 却是; and the
    English words of `EN_CONTRAST` with a word boundary on both sides.
    """
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


@kernel
def _boundary(t: np.ndarray, p: int, n: int, cls: np.ndarray, words: np.ndarray, word_len: np.ndarray) -> int:
    """The clause boundary starting at t[p]: the end of a punctuation boundary, -(end + 2) of a
    contrast connective, or -1.

    Punctuation boundaries are a run of clause punctuation, a "." followed by whitespace or the
    end and the whitespace after it, two or more dots, or two or more whitespace characters.
    """
    c = t[p]
    k = cls[c]
    if k & PUNCT:
        q = p + 1
        while q < n and cls[t[q]] & PUNCT:
            q += 1
        return q
    if c == _DOT:
        if p + 1 == n or cls[t[p + 1]] & SPACE:
            q = p + 1
            while q < n and cls[t[q]] & SPACE:
                q += 1
            return q
        if t[p + 1] == _DOT:
            q = p + 2
            while q < n and t[q] == _DOT:
                q += 1
            return q
        return -1
    if k & SPACE:
        if p + 1 < n and cls[t[p + 1]] & SPACE:
            q = p + 2
            while q < n and cls[t[q]] & SPACE:
                q += 1
            return q
        return -1
    e = _contrast_end(t, p, n, cls, words, word_len)
    return -(e + 2) if e >= 0 else -1


@kernel
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


@kernel
def scan_texts(
    codes: np.ndarray,
    starts: np.ndarray,
    cls: np.ndarray,
    words: np.ndarray,
    word_len: np.ndarray,
    trie: Trie,
    keyword_aspect: np.ndarray,
    n_aspects: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clauses, keyword detections and contrast flags of many normalised texts.

    Clauses: a text is cut at every punctuation boundary (which is dropped) and before every
    contrast connective that is not at the very start of its punctuation-free piece (or one
    character after it); clauses are stripped of spaces and empty ones dropped.
    Keywords, clause by clause, left to right: the longest non-Latin keyword (trie group 0) at a
    position, else the longest Latin one (group 1) with no a-z letter right before or after it
    inside the clause; one detection per aspect and clause; the scan resumes after the match.

    Returns clause_ptr (the clauses of text d are clause_ptr[d]:clause_ptr[d + 1]), clause start
    and end, det_ptr (the detections of clause m are det_ptr[m]:det_ptr[m + 1]), detection aspect
    and term start / end, and whether each text holds a contrast connective anywhere. Offsets are
    relative to each text. `cls` must cover every code point of the texts.
    """
    n_docs = len(starts) - 1
    total = len(codes)
    clause_ptr = np.zeros(n_docs + 1, dtype=np.int64)
    c_start = np.empty(total + n_docs, dtype=np.int64)
    c_end = np.empty(total + n_docs, dtype=np.int64)
    contrast = np.zeros(n_docs, dtype=np.bool_)
    m = 0
    for d in range(n_docs):
        t = codes[starts[d] : starts[d + 1]]
        n = len(t)
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
                contrast[d] = True
                if p - piece > 1:  # a contrast connective not at the very start of the piece
                    m = _emit_clause(t, cut, p, c_start, c_end, m)
                    cut = p
                p = -r - 2
        if cut < n:
            m = _emit_clause(t, cut, n, c_start, c_end, m)
        clause_ptr[d + 1] = m
    det_ptr = np.zeros(m + 1, dtype=np.int64)
    det_aspect = np.empty(total, dtype=np.int64)
    det_start = np.empty(total, dtype=np.int64)
    det_end = np.empty(total, dtype=np.int64)
    seen = np.full(max(n_aspects, 1), -1, dtype=np.int64)
    k = 0
    for d in range(n_docs):
        t = codes[starts[d] : starts[d + 1]]
        for ci in range(clause_ptr[d], clause_ptr[d + 1]):
            a = c_start[ci]
            b = c_end[ci]
            q = a
            while q < b:
                best, best_end = _longest(t, q, b, 0, trie)
                if best < 0 and (q == a or not (cls[t[q - 1]] & LOWER)):
                    node = _child(-1, t[q], 1, trie)
                    r = q
                    while node >= 0:
                        r += 1
                        if trie.terminal[node] >= 0 and (r == b or not (cls[t[r]] & LOWER)):
                            best = trie.terminal[node]
                            best_end = r
                        if r >= b:
                            break
                        node = _child(node, t[r], 1, trie)
                if best < 0:
                    q += 1
                    continue
                asp = keyword_aspect[best]
                if seen[asp] != ci:
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
        contrast,
    )


# -- opinion words ----------------------------------------------------------------------------


@kernel
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


@kernel
def lexicon_counts(
    codes: np.ndarray,
    starts: np.ndarray,
    trie: Trie,
    polarity: np.ndarray,
    self_negated: np.ndarray,
    negators: np.ndarray,
    negator_len: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Chinese opinion-word counts per text.

    The longest lexicon word at each position, left to right without overlaps; a word flips
    when a negator ends within the three characters before it, unless it is self-negated (it
    starts with one). Returns (n, 2) positive / negative counts and whether each text holds an
    a-z letter (the caller adds the English counts of those).
    """
    n_docs = len(starts) - 1
    out = np.zeros((n_docs, 2), dtype=np.float64)
    latin = np.zeros(n_docs, dtype=np.bool_)
    for d in range(n_docs):
        t = codes[starts[d] : starts[d + 1]]
        n = len(t)
        for i in range(n):
            if 97 <= t[i] <= 122:
                latin[d] = True
                break
        q = 0
        while q < n:
            best, best_end = _longest(t, q, n, 0, trie)
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
            q = best_end
    return out, latin
