"""The fast paths give exactly what the plain reference code (`reference.py`) gives.

Exactly: the same clauses, detections and counts, and CSR matrices with the same arrays (the
same column order within each row), not merely equal after sorting.
"""

from __future__ import annotations

import random

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from cxloop.text import kernels
from cxloop.text.aspects import AspectModel, Detection
from cxloop.text.clauses import Clause, scan, split_clauses, split_clauses_batch
from cxloop.text.features import (
    build_vocab,
    char_ngram_counts,
    char_wb_hashed_counts,
    row_norms,
    vocab_counts,
)
from cxloop.text.language import script_counts, script_counts_batch
from cxloop.text.lexicon import ZH_NEGATIVE, ZH_POSITIVE, lexicon_counts_batch, lexicon_features
from cxloop.text.normalize import normalize, normalize_batch
from cxloop.text.taxonomy import default_taxonomy

from . import reference

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


def _scan_texts(model: AspectModel, n: int, seed: int) -> list[str]:
    """Random texts of clause punctuation, contrast words, keywords and characters beyond the BMP."""
    rng = random.Random(seed)
    pool = [
        *"但是不过可然而只就有点非愿却好很差物流快递客服.。，!?  \t\n~…|abutheowvrlgxcpy吗_1",
        *("but ", "however", "though", "although", "except", "yet", "不但", "但愿", "就是有点"),
        *("...", ". ", "  ", "\u2028", "𠀀", "😀", "𠀀but"),
        *rng.sample(sorted(model.keyword_owner_), 200),
    ]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 20))) for _ in range(n)]
    return [*texts, "", " ", "味道不错，但是送餐太慢了", "great food but slow delivery", "wifi差😀app闪退"]


def test_scan_equals_reference_clauses_keywords_and_contrast() -> None:
    model = AspectModel(default_taxonomy()).fit([], [])
    texts = _scan_texts(model, 5000, seed=6)
    assert split_clauses_batch(texts) == [reference.split_clauses(t) for t in texts]
    assert scan(texts).contrast == [reference.has_contrast(t) for t in texts]
    clause_lists, detections = model.split_and_detect(texts)
    want_clauses = [reference.split_clauses(t) for t in texts]
    assert clause_lists == want_clauses
    # The reference keyword pass; the similarity pass for clauses without keywords is shared.
    want: list[list[Detection]] = []
    pending: list[tuple[int, Clause]] = []
    for i, (t, clauses) in enumerate(zip(texts, want_clauses, strict=True)):
        found, without = reference.detect_keywords(t, clauses, model.keyword_owner_)
        want.append(found)
        pending += [(i, c) for c in without if len(c.text) >= model.min_clause_chars]
    model._add_similar(pending, want)
    assert detections == want
    assert sum(d.method == "keyword" for dets in detections for d in dets) > 1000
    assert any(d.method == "similar" for dets in detections for d in dets)


def test_keywords_beyond_the_bmp() -> None:
    owner = {"𠀀好": "a", "x𠀀": "b", "ok": "c"}
    model = AspectModel(default_taxonomy()).fit([], [])
    model.keyword_owner_ = owner
    from cxloop.text.clauses import compile_keywords

    model.keywords_ = compile_keywords(owner)
    texts = ["𠀀好 ok，x𠀀", "b𠀀好", "𠀀ok𠀀", "okx𠀀"]
    _, detections = model.split_and_detect(texts)
    for t, dets in zip(texts, detections, strict=True):
        want, _ = reference.detect_keywords(t, reference.split_clauses(t), owner)
        assert [d for d in dets if d.method == "keyword"] == want
    assert [d.aspect for d in detections[0]] == ["a", "c", "b"]


def test_ngram_counts_equal_reference() -> None:
    texts = [*_random_texts(1500, seed=3), "", "a", "好好好好好好" * 40, "𠀀好a"]
    for rng, n_features in (((1, 3), 2**18), ((2, 3), 2**12), ((1, 5), 2**21)):
        got = char_ngram_counts(texts, rng, n_features)
        assert reference.same_csr(got, reference.hashed_counts(texts, rng, n_features)), rng
    vocab = build_vocab(_random_texts(3000, seed=4), min_df=3)
    assert np.array_equal(vocab, reference.build_vocab(_random_texts(3000, seed=4), 3, (1, 5)))
    got = vocab_counts(texts, vocab, kernels.vocab_buckets(vocab))
    assert reference.same_csr(got, reference.vocab_counts(texts, vocab, (1, 5)))
    assert got.nnz > 1000


def test_row_norms() -> None:
    x = char_ngram_counts([*_random_texts(300, seed=5), ""], (1, 3), 2**12)
    want = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert np.allclose(row_norms(x), want)


def test_lexicon_counts_equal_reference() -> None:
    rng = random.Random(7)
    lexicon = sorted({*ZH_POSITIVE, *ZH_NEGATIVE})
    words = [
        *rng.sample(lexicon, min(300, len(lexicon))),
        *("不", "没", "并不", "不怎么", "not good", "great", "isn't bad", "😀", "𠀀"),
    ]
    texts = ["".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += ["", "不好不", "abc", "物流很快，但是包装不太好"]
    want = np.array([reference.lexicon_counts(t) for t in texts])
    assert np.array_equal(lexicon_counts_batch(texts), want)
    assert want.sum() > 3000
    features = lexicon_features(texts)
    assert np.allclose(features[:, 0], np.tanh(want[:, 0] / 2.0))
    assert np.allclose(features[:, 2], np.tanh((want[:, 0] - want[:, 1]) / 2.0))


def test_kernels_run_compiled_unless_switched_off() -> None:
    # CXLOOP_JIT=0 runs the same functions as plain Python; this suite passes either way.
    import os

    assert (os.environ.get("CXLOOP_JIT", "1") != "0") == kernels.COMPILED
