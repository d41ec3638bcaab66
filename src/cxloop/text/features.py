"""Fast hashed character n-gram counts, vectorised over a whole batch with numpy.

scikit-learn's HashingVectorizer generates and hashes n-grams one Python string at a time,
which was most of the analysis time; rolling polynomial hashes over the code points of all
texts at once are an order of magnitude faster and give the same kind of features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from cxloop.text import kernels

_PRIME = np.uint64(1_000_003)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _mix(h: np.ndarray) -> np.ndarray:
    """64-bit finaliser (MurmurHash3 fmix64) so that low and high bits are well spread."""
    h = h ^ (h >> _S33)
    h = h * _M1
    h = h ^ (h >> _S33)
    h = h * _M2
    return h ^ (h >> _S33)


def char_ngram_keys(
    texts: Sequence[str], ngram_range: tuple[int, int] = (1, 5)
) -> tuple[np.ndarray, np.ndarray]:
    """Return (row, 64-bit key) pairs for every character n-gram occurrence in the texts."""
    n_docs = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_docs)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    ends = np.cumsum(lengths)
    end_of_doc = np.repeat(ends, lengths)
    doc_of = np.repeat(np.arange(n_docs), lengths)
    pos = np.arange(total)
    lo, hi = ngram_range
    h = np.zeros(total, dtype=np.uint64)
    rows: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    for n in range(1, hi + 1):
        m = total - n + 1
        if m <= 0:
            break
        h = h[:m] * _PRIME + codes[n - 1 :]
        if n < lo:
            continue
        valid = pos[:m] + n <= end_of_doc[:m]
        # Mixing in n keeps n-grams of different lengths apart.
        keys.append(_mix(h[valid] + np.uint64(n * 0x9E3779B97F4A7C15 % 2**64)))
        rows.append(doc_of[:m][valid])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return np.concatenate(rows), np.concatenate(keys)


def char_ngram_counts(
    texts: Sequence[str], ngram_range: tuple[int, int] = (1, 5), n_features: int = 2**21
) -> sp.csr_matrix:
    """Return a (len(texts), n_features) float32 CSR matrix of hashed character n-gram counts."""
    if n_features & (n_features - 1):
        raise ValueError("n_features must be a power of two")
    shift = np.uint64(64 - int(n_features).bit_length() + 1)
    if kernels.AVAILABLE:
        return _compiled_counts(texts, ngram_range, n_features, shift=shift)
    rows, keys = char_ngram_keys(texts, ngram_range)
    cols = (keys >> shift).astype(np.int64)
    mat = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), n_features))
    mat.sum_duplicates()
    return mat


_NO_BUCKETS = np.zeros(2, dtype=np.int32)
_NO_VOCAB = np.zeros(0, dtype=np.uint64)


def _compiled_counts(
    texts: Sequence[str],
    ngram_range: tuple[int, int],
    n_cols: int,
    shift: np.uint64 = np.uint64(0),
    buckets: np.ndarray = _NO_BUCKETS,
    vocab: np.ndarray = _NO_VOCAB,
) -> sp.csr_matrix:
    """`char_ngram_counts` / `vocab_counts` through the compiled kernel: canonical CSR, same values."""
    codes, starts = kernels.code_points(texts)
    lo, hi = ngram_range
    indptr, indices, counts = kernels.ngram_csr(
        codes, starts, lo, hi, kernels.ngram_constants(hi), shift, buckets, kernels.BUCKET_SHIFT, vocab
    )
    mat = sp.csr_matrix((counts, indices, indptr), shape=(len(texts), n_cols), copy=False)
    # Columns are unique within a row; over a vocabulary they come in first-seen order.
    if not len(vocab):
        mat.has_canonical_format = True
    return mat


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


_TABLE_BITS = 23
_TABLE_SHIFT = np.uint64(64 - _TABLE_BITS)


def vocab_table(vocab: np.ndarray) -> np.ndarray:
    """Direct-address table from the top key bits to a vocabulary index (-1 empty, -2 shared slot)."""
    table = np.full(2**_TABLE_BITS, -1, dtype=np.int32)
    slots = (vocab >> _TABLE_SHIFT).astype(np.int64)
    uniq, first, counts = np.unique(slots, return_index=True, return_counts=True)
    table[uniq] = np.where(counts == 1, first, -2).astype(np.int32)
    return table


def vocab_index(vocab: np.ndarray) -> np.ndarray:
    """The look-up index `vocab_counts` uses: key-prefix buckets for the compiled kernel, else a table."""
    return kernels.vocab_buckets(vocab) if kernels.AVAILABLE else vocab_table(vocab)


def vocab_counts(
    texts: Sequence[str],
    vocab: np.ndarray,
    ngram_range: tuple[int, int] = (1, 5),
    index: np.ndarray | None = None,
) -> sp.csr_matrix:
    """Counts over an exact n-gram vocabulary (sorted 64-bit keys); n-grams outside it are dropped.

    With a `vocab_table`, most look-ups are one array index instead of a binary search (the
    binary search over ~0.5 M keys was the largest single cost of analysis).
    """
    if kernels.AVAILABLE and len(vocab) and index is not None:
        return _compiled_counts(texts, ngram_range, len(vocab), buckets=index, vocab=vocab)
    table = index
    rows, keys = char_ngram_keys(texts, ngram_range)
    if len(vocab) == 0 or len(keys) == 0:
        return sp.csr_matrix((len(texts), len(vocab)), dtype=np.float32)
    if table is None:
        idx = np.searchsorted(vocab, keys)
    else:
        idx = table[(keys >> _TABLE_SHIFT).astype(np.int64)].astype(np.int64)
        shared = idx == -2
        if shared.any():
            idx[shared] = np.searchsorted(vocab, keys[shared])
    idx[(idx < 0) | (idx >= len(vocab))] = 0
    hit = vocab[idx] == keys
    mat = sp.csr_matrix(
        (np.ones(int(hit.sum()), dtype=np.float32), (rows[hit], idx[hit])), shape=(len(texts), len(vocab))
    )
    mat.sum_duplicates()
    return mat


def build_vocab(texts: Sequence[str], min_df: int, ngram_range: tuple[int, int] = (1, 5)) -> np.ndarray:
    """Sorted 64-bit keys of the n-grams found in at least `min_df` texts."""
    rows, keys = char_ngram_keys(texts, ngram_range)
    pairs = np.unique(np.stack([keys, rows.astype(np.uint64)], axis=1), axis=0)
    uniq, df = np.unique(pairs[:, 0], return_counts=True)
    return np.sort(uniq[df >= min_df])


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
