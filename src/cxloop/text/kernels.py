"""Compiled (numba) kernels for the per-text loops that numpy cannot vectorise well.

Counting a text's character n-grams needs, per text, a sort of its n-gram columns; numpy does
that through a COO→CSR conversion and a per-row index sort over the whole batch, which was a
third of the review model's time. Here one compiled pass per text hashes its n-grams, looks
them up and run-length counts them, and writes a canonical CSR matrix (sorted, no duplicate
columns) directly.

The kernels compute exactly what the numpy code in `features.py` computes (the same 64-bit
keys, the same columns, the same counts); `tests/text/test_fast_paths.py` checks it. When numba
is not importable, or `CXLOOP_JIT=0` is set, `features.py` keeps using its numpy path.
Compiled code is cached on disk (numba's `cache=True`) so only the first run in a fresh
install pays the compile, about two seconds.
"""

from __future__ import annotations

import os
from typing import Any

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
    """Start of each top-`bits` key prefix in a sorted key array (2**bits + 1 int64 offsets).

    4-8 MB instead of a 32 MB direct table: most look-ups of n-grams outside the vocabulary
    end at an empty bucket, and the rest scan one or two neighbouring keys, so the index
    stays in the CPU cache, which the direct table did not.
    """
    prefixes = vocab >> np.uint64(64 - bits)
    return np.searchsorted(prefixes, np.arange(2**bits + 1, dtype=np.uint64)).astype(np.int64)


ngram_csr: Any = njit(cache=True, nogil=True)(_ngram_csr_py) if njit is not None else None
