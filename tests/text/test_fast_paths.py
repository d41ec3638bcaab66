"""The batch/vectorised fast paths give exactly what the straightforward code gives."""

from __future__ import annotations

import random

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from cxloop.text import kernels
from cxloop.text.aspects import AspectModel
from cxloop.text.clauses import split_clauses
from cxloop.text.features import (
    build_vocab,
    char_ngram_counts,
    char_wb_hashed_counts,
    row_norms,
    vocab_counts,
    vocab_table,
)
from cxloop.text.language import script_counts, script_counts_batch
from cxloop.text.lexicon import (
    ZH_NEGATIVE,
    ZH_POSITIVE,
    compiled_lexicon_counts,
    lexicon_counts,
    lexicon_features,
)
from cxloop.text.normalize import normalize, normalize_batch
from cxloop.text.taxonomy import default_taxonomy

_CHARS = (
    "這個東西很好用乾燥後台髮ＡＢＣａｂ１！～…“”·—\n\t \u3000\u200b👍😡½好好好好 aaaaa!!!!!.。，但是不过却"
)
_POOL = [*_CHARS, "  ", "後台", "乾燥", "but ", "不满意", "没有", "不但"]


def _random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_POOL) for _ in range(rng.randint(0, 14))) for _ in range(n)]


def test_normalize_batch_equals_normalize() -> None:
    texts: list[str | None] = [*_random_texts(3000), None, "", " ", "好好好好好", "x" * 6000, "  前后  "]
    for t, n in zip(texts, normalize_batch(texts), strict=True):
        ref = normalize(t)
        assert (n.text, list(n.offsets), n.original) == (ref.text, list(ref.offsets), ref.original)


def test_script_counts_batch_equals_script_counts() -> None:
    texts = [*_random_texts(2000, seed=1), "", "abc def", "𠀀好a"]
    assert script_counts_batch(texts) == [script_counts(t) for t in texts]
    assert script_counts_batch([]) == []


def test_char_wb_hashed_counts_equals_hashing_vectorizer() -> None:
    texts = [*_random_texts(2000, seed=2), "", "a", "ab c", "great phone, not bad", "é𠀀😀 ok"]
    hv = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        n_features=2**21,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
        lowercase=False,
    )
    want = hv.transform(texts)
    got = char_wb_hashed_counts(texts, 2**21)
    assert want.shape == got.shape
    assert np.array_equal(want.indptr, got.indptr)
    assert np.array_equal(want.indices, got.indices)
    assert np.array_equal(want.data, got.data)


def test_split_clauses_contrast_and_punctuation() -> None:
    text = "味道不错，但是送餐太慢了 不但好吃而且便宜 great food but slow"
    got = [c.text for c in split_clauses(text)]
    assert got == ["味道不错", "但是送餐太慢了 不但好吃而且便宜 great food", "but slow"]
    for c in split_clauses(text):
        assert text[c.start : c.end] == c.text


def test_lexicon_features_memo_consistent() -> None:
    texts = ["物流很快", "不满意", "物流很快", "并不好", "not good at all"]
    first = lexicon_features(texts)
    assert np.array_equal(first, lexicon_features(texts))
    counts = np.array([lexicon_counts(t) for t in texts])
    assert np.allclose(first[:, 0], np.tanh(counts[:, 0] / 2.0))
    assert np.allclose(first[:, 1], np.tanh(counts[:, 1] / 2.0))


def _same_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """Equal as matrices, whatever the order of columns inside a row."""
    a, b = a.copy(), b.copy()
    a.sort_indices()
    b.sort_indices()
    return (
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


@pytest.mark.skipif(
    not kernels.AVAILABLE, reason="compiled kernels are off (CXLOOP_JIT=0, or numba is missing)"
)
def test_compiled_ngram_counts_equal_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*_random_texts(2000, seed=3), "", "a", "好好好好好好" * 40, "𠀀好a"]
    vocab = build_vocab(_random_texts(3000, seed=4), min_df=3)
    compiled = {rng: char_ngram_counts(texts, rng, 2**18) for rng in ((1, 3), (2, 3), (1, 5))}
    compiled_vocab = vocab_counts(texts, vocab, (1, 5), kernels.vocab_buckets(vocab))
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    for rng, got in compiled.items():
        assert _same_matrix(got, char_ngram_counts(texts, rng, 2**18)), rng
    assert _same_matrix(compiled_vocab, vocab_counts(texts, vocab, (1, 5), vocab_table(vocab)))
    assert compiled_vocab.nnz > 1000


def test_row_norms() -> None:
    x = char_ngram_counts([*_random_texts(300, seed=5), ""], (1, 3), 2**12)
    want = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert np.allclose(row_norms(x), want)


@pytest.mark.skipif(
    not kernels.AVAILABLE, reason="compiled kernels are off (CXLOOP_JIT=0, or numba is missing)"
)
def test_compiled_scan_equals_split_clauses_and_detect_batch() -> None:
    model = AspectModel(default_taxonomy())
    rng = random.Random(6)
    pool = [
        *"但是不过可然而只就有点非愿却好很差物流快递客服.。，!?  \t\n~…|abutheowvrlgxcpy吗_1",
        *("but ", "however", "though", "although", "except", "yet", "不但", "但愿", "就是有点"),
        *("...", ". ", "  ", "\u2028", "𠀀"),
        *rng.sample(sorted(model.keyword_owner_), 200),
    ]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 20))) for _ in range(5000)]
    texts += ["", " ", "味道不错，但是送餐太慢了", "great food but slow delivery", "wifi差😀app闪退"]
    clause_lists, detections = model.split_and_detect(texts)
    want_clauses = [split_clauses(t) for t in texts]
    assert clause_lists == want_clauses
    assert detections == model.detect_batch(texts, want_clauses)
    assert sum(map(len, detections)) > 1000


@pytest.mark.skipif(
    not kernels.AVAILABLE, reason="compiled kernels are off (CXLOOP_JIT=0, or numba is missing)"
)
def test_compiled_lexicon_counts_equal_lexicon_counts() -> None:
    rng = random.Random(7)
    lexicon = sorted({*ZH_POSITIVE, *ZH_NEGATIVE})
    words = [
        *rng.sample(lexicon, min(300, len(lexicon))),
        "不",
        "没",
        "并不",
        "不怎么",
        "not good",
        "great",
        "😀",
    ]
    texts = ["".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    texts += ["", "不好不", "abc", "物流很快，但是包装不太好"]
    want = np.array([lexicon_counts(t) for t in texts])
    assert np.array_equal(compiled_lexicon_counts(texts), want)
    assert want.sum() > 5000
