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

from cxloop.text import kernels
from cxloop.text.clauses import Clause, char_classes, split_clauses
from cxloop.text.features import char_ngram_counts, row_norms, scale_rows
from cxloop.text.lexicon import lexicon_features
from cxloop.text.normalize import normalize
from cxloop.text.regex import trie_regex
from cxloop.text.sentiment import SentimentModel
from cxloop.text.taxonomy import Taxonomy, default_taxonomy

# Marker that replaces the aspect term in the context window, so that the polarity model learns
# the opinion words around a term rather than the term itself.
TERM_MARK = "Ⓣ"
_SIM_FEATURES = 2**18
_CONTRAST_WORDS = kernels.padded_codes(kernels.EN_CONTRAST)
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


# tuple.__new__ builds a Detection without the Python-level NamedTuple constructor.
_new_tuple = tuple.__new__


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


def _keyword_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """Compile keywords into one trie regex; Latin-script words need letter boundaries."""
    words = sorted(set(w for w in words if w))
    if not words:
        return None
    latin = [w for w in words if w.isascii()]
    other = [w for w in words if not w.isascii()]
    parts = []
    if other:
        parts.append(trie_regex(other))
    if latin:
        parts.append(rf"(?<![a-z])(?:{trie_regex(latin)})(?![a-z])")
    # The lookbehind of the Latin branch stops `re` from skipping ahead to positions that can
    # start a keyword; a lookahead on the possible first characters restores that (3x faster).
    first = re.escape("".join(sorted({w[0] for w in words})))
    return re.compile(f"(?=[{first}])(?:{'|'.join(parts)})")


class _KeywordTrie(NamedTuple):
    """The keyword tries for `kernels.scan_texts`: non-Latin and Latin words, and their aspects."""

    trie: kernels.Trie
    keyword_aspect: np.ndarray  # the aspect index of each keyword
    aspects: list[str]


def _keyword_trie(owner: Mapping[str, str]) -> _KeywordTrie:
    """Tries of the non-Latin and the Latin keywords (as `_keyword_pattern` splits them)."""
    other = sorted(w for w in owner if not w.isascii())
    latin = sorted(w for w in owner if w.isascii())
    aspects = sorted(set(owner.values()))
    aspect_index = {a: i for i, a in enumerate(aspects)}
    return _KeywordTrie(
        kernels.build_trie([other, latin]),
        np.array([aspect_index[owner[w]] for w in [*other, *latin]], dtype=np.int64),
        aspects,
    )


class AspectModel:
    """Find taxonomy aspects in texts; zero-shot from keywords/examples, improved by `fit`."""

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
        self._prepare(extra_examples={})

    # -- set-up -------------------------------------------------------------------------
    def _prepare(self, extra_examples: Mapping[str, Sequence[str]]) -> None:
        """Compile the keyword matcher and the example similarity index."""
        tax = self.taxonomy or default_taxonomy()
        self.taxonomy_ = tax
        kw_owner: dict[str, str] = {}
        for a in tax.aspects:
            for k in a.all_keywords():
                nk = normalize(k).text
                # The first aspect listing a keyword owns it; taxonomy order breaks ties.
                if nk and nk not in kw_owner:
                    kw_owner[nk] = a.id
        self.keyword_owner_ = kw_owner
        self.pattern_ = _keyword_pattern(list(kw_owner))
        self.trie_: _KeywordTrie | None = _keyword_trie(kw_owner) if kernels.AVAILABLE and kw_owner else None
        ex_texts: list[str] = []
        ex_owner: list[str] = []
        for a in tax.aspects:
            for e in [*a.all_examples(), *extra_examples.get(a.id, [])]:
                for c in split_clauses(normalize(e).text):
                    ex_texts.append(c.text)
                    ex_owner.append(a.id)
        self.example_owner_ = np.array(ex_owner, dtype=object)
        self.example_matrix_ = (
            _sim_features(ex_texts).T.tocsr() if ex_texts else sp.csr_matrix((_SIM_FEATURES, 0))
        )

    # -- training -----------------------------------------------------------------------
    def fit(
        self, texts: Sequence[str | None], labels: Sequence[Sequence[str] | Mapping[str, Any]]
    ) -> AspectModel:
        """Learn from labelled texts: each label is a list of aspect ids (or a {aspect: sentiment} map).

        Labelled texts are added to the example index of their aspects, and when an aspect has
        enough positive and negative texts a one-vs-rest classifier is trained for it.
        """
        from sklearn.linear_model import LogisticRegression

        tax = self.taxonomy or default_taxonomy()
        known = set(tax.ids)
        norm_texts = [normalize(t).text for t in texts]
        label_sets = [set(lab.keys() if isinstance(lab, Mapping) else lab) & known for lab in labels]
        extra: dict[str, list[str]] = {}
        for t, labs in zip(norm_texts, label_sets, strict=True):
            for a in labs:
                extra.setdefault(a, []).append(t)
        self._prepare(extra_examples=extra)
        x = _sim_features(norm_texts)
        classifiers: dict[str, tuple[np.ndarray, float]] = {}
        for a in tax.ids:
            y = np.array([a in labs for labs in label_sets], dtype=int)
            if y.sum() >= 2 and (len(y) - y.sum()) >= 2:
                clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000, random_state=0)
                clf.fit(x, y)
                classifiers[a] = (clf.coef_.ravel().astype(np.float32), float(clf.intercept_[0]))
        self.classifiers_ = classifiers
        return self

    # -- prediction ---------------------------------------------------------------------
    def detect(self, text: str, clauses: Sequence[Clause] | None = None) -> list[Detection]:
        """Find aspects in one normalised text (clauses may be passed in to avoid re-splitting)."""
        return self.detect_batch([text], [clauses] if clauses is not None else None)[0]

    def detect_batch(
        self, texts: Sequence[str], clauses: Sequence[Sequence[Clause] | None] | None = None
    ) -> list[list[Detection]]:
        """Find aspects in normalised texts; one (aspect, clause) pair is reported at most once."""
        pattern = self.pattern_
        owner = self.keyword_owner_
        new_det = _new_tuple
        min_chars = self.min_clause_chars
        results: list[list[Detection]] = [[] for _ in texts]
        pending: list[tuple[int, Clause]] = []
        for i, t in enumerate(texts):
            given = clauses[i] if clauses is not None else None
            cls = given if given is not None else split_clauses(t)
            # One keyword scan over the whole text instead of one per clause. Clause boundaries
            # hold no keyword characters that a match could need, so the whole-text matches are
            # the per-clause matches unless one crosses a boundary; then the text is matched
            # clause by clause as before.
            matches = list(pattern.finditer(t)) if pattern is not None and cls else []
            if not matches:
                for c in cls:
                    if len(c.text) >= min_chars:
                        pending.append((i, c))
                continue
            res = results[i]
            mi = 0
            n_m = len(matches)
            per_clause = False
            for c in cls:
                cs, ce = c.start, c.end
                if mi < n_m and matches[mi].start() < cs:
                    per_clause = True  # a match starts between clauses
                    break
                seen: set[str] = set()
                while mi < n_m and matches[mi].start() < ce:
                    m = matches[mi]
                    mi += 1
                    if m.end() > ce:
                        per_clause = True
                        break
                    aid = owner[m.group(0)]
                    if aid not in seen:
                        seen.add(aid)
                        res.append(new_det(Detection, (aid, cs, ce, m.start(), m.end(), "keyword")))
                if per_clause:
                    break
                if not seen and len(c.text) >= min_chars:
                    pending.append((i, c))
            if per_clause or mi < n_m:
                # A match outside every clause or across a boundary: redo this text per clause.
                del res[:]
                pending = [p for p in pending if p[0] != i]
                self._keywords_per_clause(i, cls, res, pending)
        self._add_similar(pending, results)
        return results

    def split_and_detect(self, texts: Sequence[str]) -> tuple[list[list[Clause]], list[list[Detection]]]:
        """Clauses and aspects of normalised texts: `split_clauses` and `detect_batch` in one compiled scan.

        The regex scans were most of their cost: per text, the keyword trie-regex alone took
        longer than the review model. Same results (tests/text/test_fast_paths.py).
        """
        trie = self.trie_
        if trie is None:
            split = [split_clauses(t) for t in texts]
            return split, self.detect_batch(texts, split)
        codes, starts = kernels.code_points(texts)
        scanned = kernels.scan_texts(
            codes,
            starts,
            char_classes(),
            *_CONTRAST_WORDS,
            *trie.trie,
            trie.keyword_aspect,
            len(trie.aspects),
        )
        c_ptr, c_start, c_end, d_ptr, d_aspect, d_start, d_end = (a.tolist() for a in scanned[:7])
        skipped = scanned[7].tolist()
        aspects = trie.aspects
        min_chars = self.min_clause_chars
        new_clause = _new_tuple
        clause_lists: list[list[Clause]] = []
        results: list[list[Detection]] = []
        pending: list[tuple[int, Clause]] = []
        for i, t in enumerate(texts):
            res: list[Detection] = []
            if skipped[i]:
                cls = split_clauses(t)
                self._keywords_per_clause(i, cls, res, pending)
            else:
                cls = []
                for m in range(c_ptr[i], c_ptr[i + 1]):
                    a, b = c_start[m], c_end[m]
                    c = new_clause(Clause, (a, b, t[a:b]))
                    cls.append(c)
                    d0, d1 = d_ptr[m], d_ptr[m + 1]
                    if d0 == d1:
                        if b - a >= min_chars:
                            pending.append((i, c))
                        continue
                    for k in range(d0, d1):
                        res.append(
                            new_clause(
                                Detection, (aspects[d_aspect[k]], a, b, d_start[k], d_end[k], "keyword")
                            )
                        )
            clause_lists.append(cls)
            results.append(res)
        self._add_similar(pending, results)
        return clause_lists, results

    def _add_similar(self, pending: list[tuple[int, Clause]], results: list[list[Detection]]) -> None:
        """Add the aspects of keyword-less clauses found by example similarity and learned classifiers."""
        pending = self._continue_previous(pending, results)
        new_det = _new_tuple
        classifiers = getattr(self, "classifiers_", {})
        if pending and (self.example_matrix_.shape[1] or classifiers):
            x = _sim_features([c.text for _, c in pending])
            # Per pending clause: the most similar example's aspect when it passes the threshold
            # (compared in numpy, float32 against the threshold, as before), and learned aspects.
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
            for k in sorted(similar.keys() | learned.keys()) if learned else similar:
                i, c = pending[k]
                touched.add(i)
                best_aid = similar.get(k)
                if best_aid is not None:
                    results[i].append(
                        new_det(Detection, (best_aid, c.start, c.end, c.start, c.end, "similar"))
                    )
                for aid in learned.get(k, ()):
                    if aid != best_aid:
                        results[i].append(
                            new_det(Detection, (aid, c.start, c.end, c.start, c.end, "learned"))
                        )
            for i in touched:
                r = results[i]
                if len(r) > 1:
                    r.sort(key=_det_order)

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
                        results[i].append(
                            _new_tuple(Detection, (aid, c.start, c.end, c.start, c.end, "context"))
                        )
                    touched.add(i)
                    continue
            left.append((i, c))
        for i in touched:
            results[i].sort(key=_det_order)
        return left

    def _keywords_per_clause(
        self, i: int, cls: Sequence[Clause], res: list[Detection], pending: list[tuple[int, Clause]]
    ) -> None:
        """Keyword detections of one text, matching each clause on its own."""
        assert self.pattern_ is not None
        for c in cls:
            seen: set[str] = set()
            for m in self.pattern_.finditer(c.text):
                aid = self.keyword_owner_[m.group(0)]
                if aid not in seen:
                    seen.add(aid)
                    res.append(
                        Detection(aid, c.start, c.end, c.start + m.start(), c.start + m.end(), "keyword")
                    )
            if not seen and len(c.text) >= self.min_clause_chars:
                pending.append((i, c))

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


class AspectSentimentModel:
    """P(positive) of an aspect term in context, stacked on the review-level sentiment model."""

    def __init__(self, C: float = 2.0, n_features: int = _ABSA_FEATURES, random_state: int = 0) -> None:
        self.C = C
        self.n_features = n_features
        self.random_state = random_state

    def _features(
        self,
        review: SentimentModel,
        items: Sequence[tuple[str, Clause, int, int]],
    ) -> sp.csr_matrix:
        """Window n-grams, the review model's logit for the term's clause, and lexicon features."""
        windows = [context_window(t, c, s, e) for t, c, s, e in items]
        # Several mentions often share a clause or a text: score each distinct string once.
        clause_texts = sorted({c.text for _, c, _, _ in items})
        clause_dec = dict(zip(clause_texts, review.decision_function(clause_texts), strict=True))
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
        self, review: SentimentModel, items: Sequence[tuple[str, Clause, int, int]], labels: Sequence[int]
    ) -> AspectSentimentModel:
        """Learn from (normalised text, clause, term start, term end) items and 0/1 polarity labels."""
        from sklearn.linear_model import LogisticRegression

        x = self._features(review, items)
        clf = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        clf.fit(x, np.asarray(labels, dtype=int))
        self.coef_ = clf.coef_.ravel().astype(np.float32)
        self.intercept_ = float(clf.intercept_[0])
        return self

    def score(self, review: SentimentModel, items: Sequence[tuple[str, Clause, int, int]]) -> np.ndarray:
        """Return P(positive) for each item."""
        if not items:
            return np.zeros(0)
        x = self._features(review, items)
        d = np.asarray(x @ self.coef_).ravel() + self.intercept_
        return 1.0 / (1.0 + np.exp(-d))

    def to_state(self) -> dict[str, Any]:
        """Export parameters and learned arrays."""
        return {
            "params": {"C": self.C, "n_features": self.n_features, "random_state": self.random_state},
            "coef": self.coef_,
            "intercept": self.intercept_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AspectSentimentModel:
        """Rebuild a fitted model from `to_state` output."""
        m = cls(**state["params"])
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
