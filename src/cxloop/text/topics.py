"""Keywords, pain/delight points per aspect and emerging topics: pure functions over batches."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cxloop.text.normalize import normalize
from cxloop.text.segment import content_words

if TYPE_CHECKING:
    from cxloop.text.analyzer import Analysis

_LEAD_CONNECTIVES = ("但是", "不过", "可是", "然而", "只是", "但", "却", "but ", "however ")


@dataclass(frozen=True)
class Keyword:
    """A keyword or phrase with the number of texts it occurs in."""

    phrase: str
    count: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class EmergingTopic:
    """A phrase whose share of texts in a period stands out against a baseline period."""

    phrase: str
    count: int
    baseline_count: int
    z: float
    lift: float
    new: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Point:
    """A recurring opinion phrase about an aspect, with how often it occurs and one example."""

    phrase: str
    count: int
    example: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class AspectPoints:
    """Pain points (negative) and delight points (positive) of one aspect."""

    aspect: str
    positive: int
    neutral: int
    negative: int
    pain: list[Point] = field(default_factory=list)
    delight: list[Point] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _join(words: Sequence[str]) -> str:
    """Join words into a phrase: no space between Chinese words, a space between Latin ones."""
    out = ""
    for w in words:
        if out and out[-1].isascii() and out[-1].isalnum() and w[:1].isascii():
            out += " "
        out += w
    return out


def text_terms(text: str | None, max_n: int = 2) -> set[str]:
    """Return the distinct content words and adjacent-word phrases (up to `max_n` words) of a text."""
    words = content_words(normalize(text).text)
    terms: set[str] = set(words)
    for n in range(2, max_n + 1):
        for i in range(len(words) - n + 1):
            terms.add(_join(words[i : i + n]))
    return terms


def extract_keywords(texts: Iterable[str | None], top_k: int = 20, min_count: int = 2) -> list[Keyword]:
    """Return the most widespread keywords and two-word phrases (jieba words, stop words removed)."""
    df: Counter[str] = Counter()
    n_docs = 0
    for t in texts:
        n_docs += 1
        df.update(text_terms(t))
    if n_docs == 0:
        return []
    scored = []
    for term, c in df.items():
        if c < min_count:
            continue
        # Favour phrases slightly over the single words inside them: they read better as labels.
        n_words = term.count(" ") + 1 if term.isascii() else max(1, len(term) // 2)
        scored.append(Keyword(term, c, round(c / n_docs * (1.0 + 0.1 * min(n_words, 3)), 6)))
    scored.sort(key=lambda k: (-k.score, -k.count, k.phrase))
    return scored[:top_k]


def emerging_topics(
    current: Iterable[str | None],
    baseline: Iterable[str | None],
    min_count: int = 3,
    z_threshold: float = 2.0,
    top_k: int = 20,
) -> list[EmergingTopic]:
    """Find phrases whose share of texts in `current` is significantly above `baseline`.

    Uses the log-odds ratio with a Jeffreys (0.5) prior and its z-score on document counts;
    a phrase needs at least `min_count` current texts. `new` marks phrases absent from the baseline.
    """
    cur_df: Counter[str] = Counter()
    base_df: Counter[str] = Counter()
    n_cur = n_base = 0
    for t in current:
        n_cur += 1
        cur_df.update(text_terms(t))
    for t in baseline:
        n_base += 1
        base_df.update(text_terms(t))
    if n_cur == 0:
        return []
    out = []
    for term, y in cur_df.items():
        if y < min_count:
            continue
        b = base_df.get(term, 0)
        a = 0.5
        lo_cur = math.log((y + a) / (n_cur - y + a))
        lo_base = math.log((b + a) / (max(n_base, 0) - b + a))
        z = (lo_cur - lo_base) / math.sqrt(
            1 / (y + a) + 1 / (n_cur - y + a) + 1 / (b + a) + 1 / (n_base - b + a)
        )
        if z < z_threshold:
            continue
        lift = (y / n_cur) / ((b + a) / (n_base + 2 * a))
        out.append(EmergingTopic(term, y, b, round(z, 3), round(lift, 3), b == 0))
    # Drop single words whose emergence is fully explained by a longer phrase holding them.
    phrases = [t for t in out if " " in t.phrase or len(t.phrase) > 3]
    kept = [
        t
        for t in out
        if not any(t.phrase != p.phrase and t.phrase in p.phrase and p.count == t.count for p in phrases)
    ]
    kept.sort(key=lambda t: (-t.z, -t.count, t.phrase))
    return kept[:top_k]


def _opinion_phrase(evidence: str) -> str:
    """Reduce an evidence clause to a short phrase used to group similar opinions."""
    text = normalize(evidence).text
    for c in _LEAD_CONNECTIVES:
        if text.startswith(c):
            text = text[len(c) :]
            break
    words = content_words(text)
    return _join(words)[:30] if words else text.strip(" !?.~")[:30]


def pain_and_delight_points(analyses: Sequence[Analysis], top_k: int = 5) -> dict[str, AspectPoints]:
    """Aggregate aspect mentions: per aspect, counts by sentiment and the most frequent phrases."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    phrases: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    examples: dict[tuple[str, str, str], str] = {}
    for an in analyses:
        for m in an.aspects:
            counts[m.aspect][m.sentiment] += 1
            if m.sentiment == "neutral":
                continue
            p = _opinion_phrase(m.text)
            if not p:
                continue
            phrases[(m.aspect, m.sentiment)][p] += 1
            examples.setdefault((m.aspect, m.sentiment, p), m.text)
    result: dict[str, AspectPoints] = {}
    for aspect, c in counts.items():

        def top(sentiment: str, aspect: str = aspect) -> list[Point]:
            ranked = sorted(phrases[(aspect, sentiment)].items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
            return [Point(p, n, examples[(aspect, sentiment, p)]) for p, n in ranked]

        result[aspect] = AspectPoints(
            aspect=aspect,
            positive=c["positive"],
            neutral=c["neutral"],
            negative=c["negative"],
            pain=top("negative"),
            delight=top("positive"),
        )
    return result
