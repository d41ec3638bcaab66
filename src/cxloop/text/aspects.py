"""Aspect detection against a taxonomy and aspect-level sentiment.

Detection works zero-shot from the taxonomy's keywords (exact match on normalised text) and
examples (character n-gram similarity of a clause to the examples), and gets better with
labelled texts through `AspectModel.fit`. Aspect sentiment comes from `AspectSentimentModel`,
trained on aspect-polarity data and stacked on the review-level model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from cxloop.text.clauses import Clause, Keywords, compile_keywords, scan, split_clauses_batch
from cxloop.text.features import char_ngram_counts, row_norms, scale_rows
from cxloop.text.lexicon import lexicon_features
from cxloop.text.normalize import normalize
from cxloop.text.sentiment import SentimentModel
from cxloop.text.taxonomy import Taxonomy, default_taxonomy

# Marker that replaces the aspect term in the context window, so that the polarity model learns
# the opinion words around a term rather than the term itself.
TERM_MARK = "Ⓣ"
_SIM_FEATURES = 2**18
_ABSA_FEATURES = 2**19
#: A keyword-less clause this short that only grades ("太慢了", "很差") continues the clause before it;
#: closings such as "好评" or "希望改进" do not.
CONTINUATION_CHARS = 4
_CONTINUATION_RE = re.compile(r"(?:太|很|真|超|特别|非常|有点|挺|好慢|好差)")


class Detection(NamedTuple):
    """One aspect found in a normalised text: the clause span and the matched term span."""

    aspect: str
    start: int
    end: int
    term_start: int
    term_end: int
    method: str  # "keyword", "similar", "learned" or "context" (continues the clause before)


def _det_order(d: Detection) -> tuple[int, int]:
    """Sort key of detections: clause start, then term start."""
    return (d.start, d.term_start)


def _l2_rows(x: sp.csr_matrix) -> sp.csr_matrix:
    """Scale each row of a sparse matrix to unit L2 norm."""
    norms = row_norms(x)
    norms[norms == 0] = 1.0
    return scale_rows(sp.csr_matrix(x, dtype=np.float32), (1.0 / norms).astype(np.float32))


def _sim_features(texts: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised character 2-3-gram counts for clause/example similarity (unigrams match too much)."""
    return _l2_rows(char_ngram_counts(texts, (2, 3), _SIM_FEATURES))


class AspectModel(BaseEstimator):
    """Find taxonomy aspects in texts, from keywords and examples, improved by labelled texts.

    A scikit-learn estimator: `fit(texts, labels)` learns and returns the model; `fit([], [])`
    gives the zero-shot model of the taxonomy alone (keywords and examples).
    """

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        similarity_threshold: float = 0.45,
        learned_threshold: float = 0.5,
        min_clause_chars: int = 2,
    ) -> None:
        self.taxonomy = taxonomy
        self.similarity_threshold = similarity_threshold
        self.learned_threshold = learned_threshold
        self.min_clause_chars = min_clause_chars

    # -- training -----------------------------------------------------------------------
    def fit(
        self, texts: Sequence[str | None], labels: Sequence[Sequence[str] | Mapping[str, Any]]
    ) -> AspectModel:
        """Learn from labelled texts: each label is a list of aspect ids (or a {aspect: sentiment} map).

        The taxonomy's keywords are compiled, and its examples together with the labelled texts
        form the example index of each aspect; an aspect with enough positive and negative texts
        also gets a one-vs-rest classifier. With no texts this is the taxonomy's zero-shot model.
        """
        from sklearn.linear_model import LogisticRegression

        tax = self.taxonomy or default_taxonomy()
        known = set(tax.ids)
        norm_texts = [normalize(t).text for t in texts]
        label_sets = [set(lab.keys() if isinstance(lab, Mapping) else lab) & known for lab in labels]
        extra: dict[str, list[str]] = {}
        for t, labs in zip(norm_texts, label_sets, strict=True):
            for aid in labs:
                extra.setdefault(aid, []).append(t)
        owner: dict[str, str] = {}
        for a in tax.aspects:
            for k in a.all_keywords():
                nk = normalize(k).text
                # The first aspect listing a keyword owns it; taxonomy order breaks ties.
                if nk and nk not in owner:
                    owner[nk] = a.id
        examples: list[str] = []
        example_owner: list[str] = []
        for a in tax.aspects:
            texts_of_a = [normalize(e).text for e in [*a.all_examples(), *extra.get(a.id, [])]]
            for clauses in split_clauses_batch(texts_of_a):
                examples += [c.text for c in clauses]
                example_owner += [a.id] * len(clauses)
        classifiers: dict[str, tuple[np.ndarray, float]] = {}
        if norm_texts:
            x = _sim_features(norm_texts)
            for aid in tax.ids:
                y = np.array([aid in labs for labs in label_sets], dtype=int)
                if y.sum() >= 2 and (len(y) - y.sum()) >= 2:
                    clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000, random_state=0)
                    clf.fit(x, y)
                    classifiers[aid] = (clf.coef_.ravel().astype(np.float32), float(clf.intercept_[0]))
        self.taxonomy_ = tax
        self.keyword_owner_ = owner
        self.keywords_: Keywords = compile_keywords(owner)
        self.example_owner_ = np.array(example_owner, dtype=object)
        self.example_matrix_ = (
            _sim_features(examples).T.tocsr() if examples else sp.csr_matrix((_SIM_FEATURES, 0))
        )
        self.classifiers_ = classifiers
        return self

    # -- prediction ---------------------------------------------------------------------
    def split_and_detect(self, texts: Sequence[str]) -> tuple[list[list[Clause]], list[list[Detection]]]:
        """The clauses of normalised texts and the aspects found in them.

        Keywords first (one detection per aspect and clause); a clause of at least
        `min_clause_chars` characters with no keyword is compared with the examples and the
        learned classifiers (`_add_similar`).
        """
        check_is_fitted(self, "keywords_")
        scanned = scan(texts, self.keywords_)
        c_ptr, c_start, c_end = scanned.clause_ptr, scanned.clause_start, scanned.clause_end
        d_ptr, d_aspect, d_start, d_end = (
            scanned.det_ptr,
            scanned.det_aspect,
            scanned.det_start,
            scanned.det_end,
        )
        aspects = self.keywords_.aspects
        min_chars = self.min_clause_chars
        clause_lists: list[list[Clause]] = []
        results: list[list[Detection]] = []
        pending: list[tuple[int, Clause]] = []
        for i, t in enumerate(texts):
            res: list[Detection] = []
            cls: list[Clause] = []
            for m in range(c_ptr[i], c_ptr[i + 1]):
                a, b = c_start[m], c_end[m]
                c = Clause(a, b, t[a:b])
                cls.append(c)
                d0, d1 = d_ptr[m], d_ptr[m + 1]
                if d0 == d1:
                    if b - a >= min_chars:
                        pending.append((i, c))
                    continue
                for k in range(d0, d1):
                    res.append(Detection(aspects[d_aspect[k]], a, b, d_start[k], d_end[k], "keyword"))
            clause_lists.append(cls)
            results.append(res)
        self._add_similar(pending, results)
        return clause_lists, results

    def _add_similar(self, pending: list[tuple[int, Clause]], results: list[list[Detection]]) -> None:
        """Add the aspects of keyword-less clauses found by example similarity and learned classifiers."""
        pending = self._continue_previous(pending, results)
        classifiers = self.classifiers_
        if not pending or not (self.example_matrix_.shape[1] or classifiers):
            return
        x = _sim_features([c.text for _, c in pending])
        # Per pending clause: the most similar example's aspect when it passes the threshold
        # (compared in float32), and the learned aspects.
        similar: dict[int, str] = {}
        if self.example_matrix_.shape[1]:
            sims = (x @ self.example_matrix_).toarray()
            j = sims.argmax(axis=1)
            ok = np.flatnonzero(sims[np.arange(len(pending)), j] >= self.similarity_threshold)
            similar = dict(zip(ok.tolist(), self.example_owner_[j[ok]].tolist(), strict=True))
        learned: dict[int, list[str]] = {}
        for aid, (coef, b) in classifiers.items():
            p = 1.0 / (1.0 + np.exp(-(np.asarray(x @ coef).ravel() + b)))
            for hit in np.flatnonzero(p >= self.learned_threshold).tolist():
                learned.setdefault(hit, []).append(aid)
        touched: set[int] = set()
        for k in sorted(similar.keys() | learned.keys()):
            i, c = pending[k]
            touched.add(i)
            best_aid = similar.get(k)
            if best_aid is not None:
                results[i].append(Detection(best_aid, c.start, c.end, c.start, c.end, "similar"))
            for aid in learned.get(k, ()):
                if aid != best_aid:
                    results[i].append(Detection(aid, c.start, c.end, c.start, c.end, "learned"))
        for i in touched:
            if len(results[i]) > 1:
                results[i].sort(key=_det_order)

    def _continue_previous(
        self, pending: list[tuple[int, Clause]], results: list[list[Detection]]
    ) -> list[tuple[int, Clause]]:
        """A short keyword-less clause right after a clause with aspects goes on about them.

        "物流信息好几天不更新，太慢了": "太慢了" is about the logistics named just before, not about
        whatever example it happens to resemble most. Returns the clauses still to be matched.
        """
        left: list[tuple[int, Clause]] = []
        touched: set[int] = set()
        for i, c in pending:
            before = [d for d in results[i] if d.method == "keyword" and d.end <= c.start]
            if len(c.text) <= CONTINUATION_CHARS and before and _CONTINUATION_RE.match(c.text):
                last_end = max(d.end for d in before)
                if c.start - last_end <= 2:  # only the punctuation between the two clauses
                    for aid in dict.fromkeys(d.aspect for d in before if d.end == last_end):
                        results[i].append(Detection(aid, c.start, c.end, c.start, c.end, "context"))
                    touched.add(i)
                    continue
            left.append((i, c))
        for i in touched:
            results[i].sort(key=_det_order)
        return left

    def predict(self, texts: Sequence[str | None]) -> list[list[str]]:
        """Return the aspect ids found in each raw text (batch-first)."""
        norm = [normalize(t).text for t in texts]
        out = []
        for dets in self.split_and_detect(norm)[1]:
            ids: list[str] = []
            for d in dets:
                if d.aspect not in ids:
                    ids.append(d.aspect)
            out.append(ids)
        return out


# ---------------------------------------------------------------------------------------
# Aspect polarity


def context_window(text: str, clause: Clause, term_start: int, term_end: int, width: int = 12) -> str:
    """Text around a term inside its clause, with the term replaced by a marker."""
    left = text[max(clause.start, term_start - width) : term_start]
    right = text[term_end : min(clause.end, term_end + width)]
    return f"{left}{TERM_MARK}{right}"


class AspectSentimentModel(BaseEstimator):
    """P(positive) of an aspect term in context, stacked on a fitted review-level sentiment model.

    `review` is a parameter, as a stacking estimator takes its base estimator: the model's
    features include the review model's logit for the term's clause.
    """

    def __init__(
        self,
        review: SentimentModel | None = None,
        C: float = 2.0,
        n_features: int = _ABSA_FEATURES,
        random_state: int = 0,
    ) -> None:
        self.review = review
        self.C = C
        self.n_features = n_features
        self.random_state = random_state

    def _features(self, items: Sequence[tuple[str, Clause, int, int]]) -> sp.csr_matrix:
        """Window n-grams, the review model's logit for the term's clause, and lexicon features."""
        if self.review is None:
            raise ValueError(
                "AspectSentimentModel needs a fitted review model: AspectSentimentModel(review=...)"
            )
        windows = [context_window(t, c, s, e) for t, c, s, e in items]
        # Several mentions often share a clause or a text: score each distinct string once.
        clause_texts = sorted({c.text for _, c, _, _ in items})
        clause_dec = dict(zip(clause_texts, self.review.decision_function(clause_texts), strict=True))
        d_clause = np.array([clause_dec[c.text] for _, c, _, _ in items])
        # The whole-text logit is deliberately not a feature: the polarity files hold short
        # sentences where text == clause, so the model learnt to trust it, and then one negative
        # clause in a long review overruled every positive aspect.
        dense = np.column_stack(
            [
                d_clause / 4.0,
                lexicon_features([c.text for _, c, _, _ in items]),
                lexicon_features(windows),
            ]
        ).astype(np.float32)
        win = _l2_rows(char_ngram_counts(windows, (1, 3), self.n_features))
        return sp.hstack([win, sp.csr_matrix(dense)], format="csr")

    def fit(
        self, items: Sequence[tuple[str, Clause, int, int]], labels: Sequence[int]
    ) -> AspectSentimentModel:
        """Learn from (normalised text, clause, term start, term end) items and 0/1 polarity labels."""
        from sklearn.linear_model import LogisticRegression

        x = self._features(items)
        clf = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        clf.fit(x, np.asarray(labels, dtype=int))
        self.coef_ = clf.coef_.ravel().astype(np.float32)
        self.intercept_ = float(clf.intercept_[0])
        return self

    def score(self, items: Sequence[tuple[str, Clause, int, int]]) -> np.ndarray:
        """Return P(positive) for each item."""
        check_is_fitted(self, "coef_")
        if not items:
            return np.zeros(0)
        x = self._features(items)
        d = np.asarray(x @ self.coef_).ravel() + self.intercept_
        return 1.0 / (1.0 + np.exp(-d))

    def to_state(self) -> dict[str, Any]:
        """Export parameters and learned arrays (not the review model: the bundle holds it)."""
        return {
            "params": {"C": self.C, "n_features": self.n_features, "random_state": self.random_state},
            "coef": self.coef_,
            "intercept": self.intercept_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], review: SentimentModel) -> AspectSentimentModel:
        """Rebuild a fitted model from `to_state` output and its review model."""
        m = cls(review=review, **state["params"])
        m.coef_ = np.asarray(state["coef"], dtype=np.float32)
        m.intercept_ = float(state["intercept"])
        return m


def clause_of(clauses: Sequence[Clause], start: int, end: int, text: str) -> Clause:
    """Return the clause holding a span (or a pseudo-clause spanning the whole text)."""
    for c in clauses:
        if c.start <= start < c.end or (c.start < end <= c.end):
            return c
    return Clause(0, len(text), text)


def to_normalized_span(offsets: Sequence[int], start: int, end: int) -> tuple[int, int] | None:
    """Map an original [start, end) span to the normalised text via its offset map."""
    idx = [i for i, o in enumerate(offsets) if start <= o < end]
    return (idx[0], idx[-1] + 1) if idx else None
