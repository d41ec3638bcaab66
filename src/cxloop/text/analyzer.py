"""The batch analysis pipeline: normalise, detect language, split clauses, score, find aspects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxloop.text.aspects import AspectModel, clause_of
from cxloop.text.bundle import ModelBundle, load_bundle
from cxloop.text.clauses import Clause, split_clauses
from cxloop.text.language import Language, detect_language, zh_share
from cxloop.text.normalize import Normalized, normalize
from cxloop.text.sentiment import Sentiment, label_for
from cxloop.text.taxonomy import Taxonomy, default_taxonomy


@dataclass(frozen=True)
class AspectMention:
    """One aspect mentioned in a text, with its own sentiment and evidence span in the original text."""

    aspect: str
    sentiment: Sentiment
    score: float
    start: int
    end: int
    text: str
    term: str = ""
    method: str = "keyword"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Analysis:
    """The analysis of one feedback text."""

    language: Language
    sentiment: Sentiment
    score: float
    aspects: list[AspectMention] = field(default_factory=list)
    clauses: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "language": self.language,
            "sentiment": self.sentiment,
            "score": self.score,
            "aspects": [a.to_dict() for a in self.aspects],
            "clauses": [list(c) for c in self.clauses],
        }

    def to_json(self) -> str:
        """Return the analysis as a JSON string."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


EMPTY_SCORE = 0.5


class Analyzer:
    """Full analysis of feedback texts against a taxonomy; batch-first and CPU-only."""

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        model_path: str | Path | None = None,
        aspect_model: AspectModel | None = None,
        neutral_band: tuple[float, float] | None = None,
    ) -> None:
        self.taxonomy = taxonomy or default_taxonomy()
        self.model_path = model_path
        self.aspect_model = aspect_model or AspectModel(self.taxonomy)
        self.bundle: ModelBundle = load_bundle(model_path)
        self.neutral_band = neutral_band or self.bundle.zh.neutral_band

    @property
    def model_version(self) -> str:
        """Return the model version (a content hash of the model file)."""
        return self.bundle.version

    def fit(self, texts: Sequence[str | None], labels: Sequence[Any]) -> Analyzer:
        """Improve aspect detection with labelled texts (see `AspectModel.fit`)."""
        self.aspect_model.fit(texts, labels)
        return self

    # -- scoring helpers ----------------------------------------------------------------
    def _scores(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated P(positive) for normalised texts, routed by language and blended when mixed."""
        return self._scores_and_logits(texts)[0]

    def _scores_and_logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return blended P(positive) and the Chinese model's raw logits for normalised texts."""
        out = np.full(len(texts), EMPTY_SCORE)
        shares = np.array([zh_share(t) for t in texts])
        has_content = np.array([any(ch.isalnum() for ch in t) for t in texts], dtype=bool)
        zh_idx = np.flatnonzero(has_content & (shares > 0.0))
        en_idx = np.flatnonzero(has_content & (shares < 1.0))
        zh_p = np.zeros(len(texts))
        en_p = np.zeros(len(texts))
        zh_d = np.zeros(len(texts))
        if len(zh_idx):
            zh_d[zh_idx] = self.bundle.zh.decision_function([texts[int(i)] for i in zh_idx])
            a, b = self.bundle.zh.platt_
            zh_p[zh_idx] = 1.0 / (1.0 + np.exp(-(a * zh_d[zh_idx] + b)))
        if len(en_idx):
            en_p[en_idx] = self.bundle.en.score([texts[int(i)] for i in en_idx])
        mask = has_content
        out[mask] = shares[mask] * zh_p[mask] + (1.0 - shares[mask]) * en_p[mask]
        return out, zh_d

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        """Return calibrated P(positive) for raw texts (review level only, no aspects)."""
        return self._scores([normalize(t).text for t in texts])

    # -- the pipeline -------------------------------------------------------------------
    def analyze(self, texts: Sequence[str | None]) -> list[Analysis]:
        """Analyse a batch of texts; None, empty or junk input gives a neutral, aspect-free result."""
        norms: list[Normalized] = [normalize(t) for t in texts]
        ntexts = [n.text for n in norms]
        review_scores = self._scores(ntexts)
        clause_lists: list[list[Clause]] = [split_clauses(t) for t in ntexts]
        detections = self.aspect_model.detect_batch(ntexts, clause_lists)
        # Score every aspect mention in one batch. Chinese-dominant texts use the aspect polarity
        # model; other texts use the review model on the clause.
        items: list[tuple[str, Clause, int, int]] = []
        en_items: list[str] = []
        where: list[tuple[int, int, bool]] = []
        for i, dets in enumerate(detections):
            for k, d in enumerate(dets):
                clause = clause_of(clause_lists[i], d.start, d.end, ntexts[i])
                if zh_share(clause.text) >= 0.5:
                    where.append((i, k, True))
                    items.append((ntexts[i], clause, d.term_start, d.term_end))
                else:
                    where.append((i, k, False))
                    en_items.append(clause.text)
        zh_scores = self.bundle.absa.score(self.bundle.zh, items) if items else np.zeros(0)
        en_scores = self.bundle.en.score(en_items) if en_items else np.zeros(0)
        mention_scores: dict[tuple[int, int], float] = {}
        zi = ei = 0
        for i, k, is_zh in where:
            if is_zh:
                mention_scores[(i, k)] = float(zh_scores[zi])
                zi += 1
            else:
                mention_scores[(i, k)] = float(en_scores[ei])
                ei += 1
        results: list[Analysis] = []
        for i, n in enumerate(norms):
            mentions = []
            for k, d in enumerate(detections[i]):
                s = mention_scores[(i, k)]
                o_start, o_end = n.span(d.start, d.end)
                t_start, t_end = n.span(d.term_start, d.term_end)
                mentions.append(
                    AspectMention(
                        aspect=d.aspect,
                        sentiment=label_for(s, self.neutral_band),
                        score=round(s, 4),
                        start=o_start,
                        end=o_end,
                        text=n.original[o_start:o_end],
                        term=n.original[t_start:t_end],
                        method=d.method,
                    )
                )
            score = float(review_scores[i])
            results.append(
                Analysis(
                    language=detect_language(ntexts[i]),
                    sentiment=label_for(score, self.neutral_band) if ntexts[i] else "neutral",
                    score=round(score, 4),
                    aspects=mentions,
                    clauses=[n.span(c.start, c.end) for c in clause_lists[i]],
                )
            )
        return results

    def analyze_one(self, text: str | None) -> Analysis:
        """Analyse a single text."""
        return self.analyze([text])[0]


_default: Analyzer | None = None


def default_analyzer() -> Analyzer:
    """Return a process-wide Analyzer with the default taxonomy and shipped model."""
    global _default
    if _default is None:
        _default = Analyzer()
    return _default


def aspect_sentiment(text: str | None, term: str) -> tuple[Sentiment, float]:
    """Return the sentiment and P(positive) of an aspect term as it is used in a text."""
    an = default_analyzer()
    norm = normalize(text)
    nterm = normalize(term).text
    if not norm.text:
        return ("neutral", EMPTY_SCORE)
    pos = norm.text.find(nterm) if nterm else -1
    if pos < 0:
        # The term is not in the text: fall back to the review-level sentiment.
        s = float(an._scores([norm.text])[0])
        return (label_for(s, an.neutral_band), round(s, 4))
    clause = clause_of(split_clauses(norm.text), pos, pos + len(nterm), norm.text)
    if zh_share(clause.text) >= 0.5:
        s = float(an.bundle.absa.score(an.bundle.zh, [(norm.text, clause, pos, pos + len(nterm))])[0])
    else:
        s = float(an.bundle.en.score([clause.text])[0])
    return (label_for(s, an.neutral_band), round(s, 4))
