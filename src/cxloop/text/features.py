"""Character n-gram count matrices for a whole batch: exact-vocabulary and hashed counts.

scikit-learn's HashingVectorizer generates and hashes n-grams one Python string at a time,
which was most of the analysis time; the compiled kernel (`kernels.ngram_csr`) hashes the
code points of all texts and writes the CSR matrix directly. English char_wb n-grams are
hashed with numpy (`char_wb_hashed_counts`), the same matrix as scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from cxloop.text import kernels

_NO_BUCKETS = np.zeros(2, dtype=np.int32)
_NO_VOCAB = np.zeros(0, dtype=np.uint64)


def _counts(
    texts: Sequence[str],
    ngram_range: tuple[int, int],
    n_cols: int,
    shift: np.uint64 = np.uint64(0),
    buckets: np.ndarray = _NO_BUCKETS,
    vocab: np.ndarray = _NO_VOCAB,
) -> sp.csr_matrix:
    """The CSR matrix of `kernels.ngram_csr` for these texts."""
    codes, starts = kernels.code_points(texts)
    lo, hi = ngram_range
    # Keys wrap around modulo 2**64 by design; run as plain Python (CXLOOP_JIT=0), numpy's
    # scalars would warn about it.
    with np.errstate(over="ignore"):
        indptr, indices, counts = kernels.ngram_csr(
            codes, starts, lo, hi, kernels.ngram_constants(hi), shift, buckets, kernels.BUCKET_SHIFT, vocab
        )
    mat = sp.csr_matrix((counts, indices, indptr), shape=(len(texts), n_cols), copy=False)
    # Hashed columns come sorted and unique within a row (canonical CSR); vocabulary columns are
    # unique but in first-seen order, which every consumer here accepts (sorting cost time).
    if not len(vocab):
        mat.has_canonical_format = True
    return mat


def char_ngram_counts(
    texts: Sequence[str], ngram_range: tuple[int, int] = (1, 5), n_features: int = 2**21
) -> sp.csr_matrix:
    """Return a (len(texts), n_features) float32 CSR matrix of hashed character n-gram counts.

    The column of an n-gram is the top bits of its 64-bit key (see `kernels.ngram_keys`).
    """
    if n_features & (n_features - 1):
        raise ValueError("n_features must be a power of two")
    shift = np.uint64(64 - int(n_features).bit_length() + 1)
    return _counts(texts, ngram_range, n_features, shift=shift)


def vocab_counts(
    texts: Sequence[str], vocab: np.ndarray, buckets: np.ndarray, ngram_range: tuple[int, int] = (1, 5)
) -> sp.csr_matrix:
    """Counts over an exact n-gram vocabulary (sorted 64-bit keys, `build_vocab`); others are dropped.

    `buckets` is the vocabulary's `kernels.vocab_buckets` index.
    """
    if len(vocab) == 0:
        return sp.csr_matrix((len(texts), 0), dtype=np.float32)
    return _counts(texts, ngram_range, len(vocab), buckets=buckets, vocab=vocab)


def build_vocab(texts: Sequence[str], min_df: int, ngram_range: tuple[int, int] = (1, 5)) -> np.ndarray:
    """Sorted 64-bit keys of the n-grams found in at least `min_df` texts."""
    codes, starts = kernels.code_points(texts)
    lo, hi = ngram_range
    with np.errstate(over="ignore"):  # see `_counts`
        rows, keys = kernels.ngram_keys(codes, starts, lo, hi, kernels.ngram_constants(hi))
    pairs = np.unique(np.stack([keys, rows.astype(np.uint64)], axis=1), axis=0)
    uniq, df = np.unique(pairs[:, 0], return_counts=True)
    return np.sort(uniq[df >= min_df])


def row_norms(x: sp.csr_matrix) -> np.ndarray:
    """L2 norm of each row of a CSR matrix, read straight off its arrays.

    `x.multiply(x)` would first sort a non-canonical matrix (the kernel's vocabulary rows come
    in first-seen order) and build a second matrix; the norm needs neither.
    """
    sq = np.zeros(len(x.data) + 1)
    np.cumsum(np.square(x.data, dtype=np.float64), out=sq[1:])
    return np.sqrt(np.maximum(sq[x.indptr[1:]] - sq[x.indptr[:-1]], 0.0))


def scale_rows(x: sp.csr_matrix, scale: np.ndarray) -> sp.csr_matrix:
    """Multiply each row of a CSR matrix in place by a factor; same result as `diags(scale) @ x`.

    The sparse diagonal product was a visible share of analysis time; this is one array multiply.
    """
    x.data *= np.repeat(scale.astype(x.dtype, copy=False), np.diff(x.indptr))
    return x


_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)


def _rotl32(x: np.ndarray, r: int) -> np.ndarray:
    """Rotate uint32 values left by r bits."""
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _murmur3_32(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """MurmurHash3 x86 32-bit (seed 0) of the byte ranges buf[start:start + length], as int32.

    The same values as scikit-learn's murmurhash3_32 of those bytes, for many keys at once;
    `buf` must hold 4 zero bytes past the last range.
    """
    h = np.zeros(len(start), dtype=np.uint32)
    nblocks = length // 4
    for k in range(int(nblocks.max(initial=0))):
        m = np.flatnonzero(nblocks > k)
        p = start[m] + 4 * k
        kk = (
            buf[p].astype(np.uint32)
            | (buf[p + 1].astype(np.uint32) << np.uint32(8))
            | (buf[p + 2].astype(np.uint32) << np.uint32(16))
            | (buf[p + 3].astype(np.uint32) << np.uint32(24))
        )
        kk = _rotl32(kk * _C1, 15) * _C2
        hm = _rotl32(h[m] ^ kk, 13)
        h[m] = hm * np.uint32(5) + np.uint32(0xE6546B64)
    rem = length & 3
    tail = start + nblocks * 4
    k1 = np.zeros(len(start), dtype=np.uint32)
    for i in (2, 1, 0):
        m = np.flatnonzero(rem > i)
        k1[m] ^= buf[tail[m] + i].astype(np.uint32) << np.uint32(8 * i)
    m = np.flatnonzero(rem > 0)
    h[m] ^= _rotl32(k1[m] * _C1, 15) * _C2
    h ^= length.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def char_wb_hashed_counts(
    texts: Sequence[str], n_features: int, ngram_range: tuple[int, int] = (2, 5)
) -> sp.csr_matrix:
    """The matrix HashingVectorizer(analyzer="char_wb", alternate_sign=False, norm=None,
    lowercase=False, dtype=float32) gives for these texts, computed with numpy over the batch.

    Its n-grams are those of each whitespace-separated word padded with one space each side
    (a word no longer than n gives itself once), hashed with MurmurHash3 of their UTF-8 bytes
    into abs(hash) % n_features.
    """
    lo, hi = ngram_range
    words: list[str] = []
    word_row: list[int] = []
    for i, t in enumerate(texts):
        ws = t.split()
        words += ws
        word_row += [i] * len(ws)
    shape = (len(texts), n_features)
    if not words:
        return sp.csr_matrix(shape, dtype=np.float32)
    padded = "".join(f" {w} " for w in words)
    sizes = np.fromiter((len(w) + 2 for w in words), dtype=np.int64, count=len(words))
    word_start = np.cumsum(sizes) - sizes
    codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32)
    char_bytes = 1 + (codes >= 0x80).astype(np.int64) + (codes >= 0x800) + (codes >= 0x10000)
    byte_at = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(char_bytes, out=byte_at[1:])
    buf = np.frombuffer(padded.encode("utf-8") + b"\0\0\0\0", dtype=np.uint8)
    rows_w = np.asarray(word_row, dtype=np.int64)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for n in range(lo, hi + 1):
        # A word of `size` characters gives size - n + 1 n-grams (one, itself, when size == n;
        # none when shorter: the analyzer stops at the first n not shorter than the word).
        ok = np.flatnonzero(sizes >= n)
        if not len(ok):
            break
        counts = sizes[ok] - n + 1
        first = np.repeat(word_start[ok], counts)
        offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        s = first + offset
        starts.append(byte_at[s])
        ends.append(byte_at[s + n])
        rows.append(np.repeat(rows_w[ok], counts))
    b_start = np.concatenate(starts)
    b_len = np.concatenate(ends) - b_start
    h = _murmur3_32(buf, b_start, b_len).astype(np.int64)
    cols = np.abs(h) % n_features
    cols[h == -(2**31)] = (2147483647 - (n_features - 1)) % n_features
    mat = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (np.concatenate(rows), cols)), shape=shape, dtype=np.float32
    )
    mat.sum_duplicates()
    return mat
