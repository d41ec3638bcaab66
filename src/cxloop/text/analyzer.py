"""The batch analysis pipeline: normalise, detect language, split clauses, score, find aspects."""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cxloop.text.aspects import AspectModel, clause_of
from cxloop.text.bundle import ModelBundle, load_bundle
from cxloop.text.clauses import Clause, split_clauses
from cxloop.text.language import (
    ZH_SHARE,
    Language,
    language_from_counts,
    script_counts_batch,
    share_from_counts,
    zh_share,
)
from cxloop.text.normalize import Normalized, normalize, normalize_batch
from cxloop.text.sentiment import Sentiment, label_for
from cxloop.text.taxonomy import Taxonomy, default_taxonomy


class AspectMention(NamedTuple):
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
        return self._asdict()


# Results are immutable named tuples rather than frozen dataclasses: a batch builds one per
# review and per mention, and a frozen dataclass's __init__ (one object.__setattr__ per field)
# cost about 1 us each, 4 % of the analysis time.
class Analysis(NamedTuple):
    """The analysis of one feedback text."""

    language: Language
    sentiment: Sentiment
    score: float
    aspects: list[AspectMention]
    clauses: list[tuple[int, int]]

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
# Matches exactly the characters for which str.isalnum() is true (word characters but "_").
_ALNUM_RE = re.compile(r"[^\W_]")


class _CollectorPause:
    """Pauses Python's cyclic garbage collector while any holder is inside; see `collector_paused`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    def enter(self) -> None:
        """Pause the collector if this is the first holder."""
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1

    def exit(self) -> None:
        """Switch the collector back on when the last holder leaves, if it was on before the first."""
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._was_enabled:
                gc.enable()


_pause = _CollectorPause()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a run of batches, in a batch process only.

    Worth it: analysing allocates many small containers that survive a batch, so the collector
    runs full collections that walk every object of the process (the loaded libraries: about
    160,000). Measured on the bench mix (6,000 reviews, CPU time, 4 interleaved rounds): 13-14 %
    of analysis time in the collector, and 11-14 % more reviews/s with it paused.
    Not inside `Analyzer.analyze`: the collector is process-wide, and a server's other threads
    must keep it. Use it where one process does nothing but analyse (`cxloop text analyze`, a
    job worker, the benchmark). Holders may nest or overlap: the collector comes back on when
    the last one leaves, and only if it was on when the first came in.
    """
    _pause.enter()
    try:
        yield
    finally:
        _pause.exit()


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
        # Without labelled texts, the taxonomy's zero-shot model (keywords and examples).
        self.aspect_model = aspect_model or AspectModel(self.taxonomy).fit([], [])
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
    def _scores(self, texts: Sequence[str], counts: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
        """Calibrated P(positive) for normalised texts, routed by language and blended when mixed."""
        out = np.full(len(texts), EMPTY_SCORE)
        if counts is None:
            counts = script_counts_batch(texts)
        shares = np.array([share_from_counts(h, w) for h, w in counts], dtype=np.float64)
        # Each model scores the texts of its own language alone, and only mixed texts get the
        # blend: a Chinese review that names a brand ("iPad") is the Chinese model's to judge.
        # On a held-out 15 % of train this was 0.05 point better than blending every text with
        # any Latin word, and it spares the slower English model for 11 % of shopping reviews.
        shares[shares >= ZH_SHARE] = 1.0
        shares[shares <= 1.0 - ZH_SHARE] = 0.0
        has_content = np.array([_ALNUM_RE.search(t) is not None for t in texts], dtype=bool)
        zh_idx = np.flatnonzero(has_content & (shares > 0.0))
        en_idx = np.flatnonzero(has_content & (shares < 1.0))
        zh_p = np.zeros(len(texts))
        en_p = np.zeros(len(texts))
        if len(zh_idx):
            zh_p[zh_idx] = self.bundle.zh.score([texts[i] for i in zh_idx.tolist()])
        if len(en_idx):
            en_p[en_idx] = self.bundle.en.score([texts[i] for i in en_idx.tolist()])
        mask = has_content
        out[mask] = shares[mask] * zh_p[mask] + (1.0 - shares[mask]) * en_p[mask]
        return out

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        """Return calibrated P(positive) for raw texts (review level only, no aspects)."""
        return self._scores([n.text for n in normalize_batch(texts)])

    # -- the pipeline -------------------------------------------------------------------
    def analyze(self, texts: Sequence[str | None]) -> list[Analysis]:
        """Analyse a batch of texts; None, empty or junk input gives a neutral, aspect-free result."""
        norms: list[Normalized] = normalize_batch(texts)
        ntexts = [n.text for n in norms]
        counts = script_counts_batch(ntexts)
        review_scores: list[float] = self._scores(ntexts, counts).tolist()
        clause_lists, detections = self.aspect_model.split_and_detect(ntexts)
        # Score every aspect mention in one batch. Chinese-dominant clauses use the aspect
        # polarity model; other clauses use the review model on the clause.
        mentions_at: list[tuple[str, Clause, int, int]] = []
        rules: list[str] = []  # what `_rule` says of each mention, in the same order
        for i, dets in enumerate(detections):
            if not dets:
                continue
            text = ntexts[i]
            clauses = clause_lists[i]
            by_start = {c.start: c for c in clauses}
            detected = {d.start for d in dets}
            # Most texts have no word any rule looks for: one search spares the rules per mention.
            ruled = _RULE_WORDS_RE.search(text) is not None
            for d in dets:
                # Detections span whole clauses, so the clause starting there is `clause_of`'s.
                clause = by_start.get(d.start)
                if clause is None or clause.end != d.end:
                    clause = clause_of(clauses, d.start, d.end, text)
                mentions_at.append((text, clause, d.term_start, d.term_end))
                rules.append(
                    _rule(d.aspect, text, clauses, clause, (d.term_start, d.term_end), detected)
                    if ruled
                    else ""
                )
        clause_texts = list({m[1].text: None for m in mentions_at})
        share_of = {
            t: share_from_counts(h, w)
            for t, (h, w) in zip(clause_texts, script_counts_batch(clause_texts), strict=True)
        }
        items: list[tuple[str, Clause, int, int]] = []
        en_items: list[str] = []
        is_zh: list[bool] = []
        for m in mentions_at:
            if share_of[m[1].text] >= 0.5:
                is_zh.append(True)
                items.append(m)
            else:
                is_zh.append(False)
                en_items.append(m[1].text)
        # A plain question ("能开发票吗", "请问保质期多久") asks, it does not complain: without a negative
        # word in the clause its aspect is neutral, whatever the polarity model makes of the question.
        plain_question = iter([_is_plain_question(m[1].text) for m in mentions_at])
        remedy = iter([_is_remedy_demand(m[1].text) for m in mentions_at])
        rule_of = iter(rules)
        zh_scores = iter(self.bundle.absa.score(items).tolist() if items else ())
        en_scores = iter(self.bundle.en.score(en_items).tolist() if en_items else ())
        route = iter(is_zh)
        lo, hi = self.neutral_band
        results: list[Analysis] = []
        for i, n in enumerate(norms):
            offsets = n.offsets
            # Most texts map one-to-one onto a slice of the original: the map is a range.
            base = offsets.start if type(offsets) is range else -1
            mentions: list[AspectMention] = []
            remedies: list[bool] = []
            relabelled = False
            dets = detections[i]
            if dets:
                original = n.original
                for d in dets:
                    s = next(zh_scores) if next(route) else next(en_scores)
                    if next(plain_question) and s < lo:
                        s = (lo + hi) / 2.0
                    rule = next(rule_of)
                    is_remedy = next(remedy)
                    if rule == _DROP:
                        continue
                    if rule == _FAULT and s >= lo:
                        s = lo / 2.0
                    elif rule == _DENIED and s < lo:
                        s = (lo + hi) / 2.0
                    relabelled = relabelled or rule == _COURIER
                    remedies.append(is_remedy)
                    if base >= 0:
                        o_start, o_end = base + d.start, base + d.end
                        t_start, t_end = base + d.term_start, base + d.term_end
                    else:
                        o_start, o_end = n.span(d.start, d.end)
                        t_start, t_end = n.span(d.term_start, d.term_end)
                    mentions.append(
                        AspectMention(
                            "courier_service" if rule == _COURIER else d.aspect,
                            "negative" if s < lo else "positive" if s > hi else "neutral",
                            round(s, 4),
                            o_start,
                            o_end,
                            original[o_start:o_end],
                            original[t_start:t_end],
                            d.method,
                        )
                    )
            if any(remedies):
                mentions = _remedies_neutral(mentions, remedies, (lo + hi) / 2.0)
            if relabelled:
                mentions = _first_of_each(mentions)
            score = review_scores[i]
            if not ntexts[i]:
                language: Language = "unknown"
                sentiment: Sentiment = "neutral"
            else:
                language = language_from_counts(*counts[i])
                sentiment = "negative" if score < lo else "positive" if score > hi else "neutral"
            if base == 0:
                spans = [c[:2] for c in clause_lists[i]]  # (start, end) of each Clause tuple
            elif base > 0:
                spans = [(base + c.start, base + c.end) for c in clause_lists[i]]
            else:
                spans = [n.span(c.start, c.end) for c in clause_lists[i]]
            results.append(Analysis(language, sentiment, round(score, 4), mentions, spans))
        return results

    def analyze_one(self, text: str | None) -> Analysis:
        """Analyse a single text."""
        return self.analyze([text])[0]


_default: Analyzer | None = None


#: How a clause that only asks something begins or ends (normalised text, punctuation removed).
_QUESTION_RE = re.compile(
    r"^(?:请问|请教|想问|问一下|咨询一下)|(?:吗|么|呢|多久|多少|几天|什么时候|哪里|在哪)$"
)


#: Words that turn a question into a complaint ("怎么还没发货呢", "为什么坏了吗").
_COMPLAINT_CUE_RE = re.compile(r"[没不坏破差慢错漏丢烂]|为什么|怎么还|失败|问题|投诉|太")


def _is_plain_question(clause: str) -> bool:
    """A question clause without a complaint cue: an enquiry, not a complaint."""
    return _QUESTION_RE.search(clause) is not None and _COMPLAINT_CUE_RE.search(clause) is None


#: A clause that asks for a remedy ("要求退款", "麻烦补发", "不发就给我退款").
_REMEDY_RE = re.compile(
    r"要求|申请|给我|麻烦|帮我|能否|可否|尽快|已安排|已同意"
    r"|\b(?:can i (?:get|have)|i want|i'd like|i would like|please)\b"
)
#: ... unless it complains about the remedy itself ("退款申请一直不处理").
_REMEDY_COMPLAINT_RE = re.compile(r"还没|一直|迟迟|不处理|不给|拒绝|太慢|没到|多久了|好几天")


def _is_remedy_demand(clause: str) -> bool:
    """A clause that demands a remedy without complaining about how the remedy is handled."""
    return _REMEDY_RE.search(clause) is not None and _REMEDY_COMPLAINT_RE.search(clause) is None


def _remedies_neutral(
    mentions: list[AspectMention], remedies: list[bool], neutral: float
) -> list[AspectMention]:
    """A remedy demanded for ANOTHER negative mention of the text is what the customer wants done,
    not a second complaint: "东西漏液了，要求退款" is one damage complaint, not a refund complaint too."""
    other_negative = {
        m.start for m, r in zip(mentions, remedies, strict=True) if not r and m.sentiment == "negative"
    }
    if not other_negative:
        return mentions
    return [
        m._replace(sentiment="neutral", score=round(neutral, 4))
        if r and m.sentiment == "negative" and m.start not in other_negative
        else m
        for m, r in zip(mentions, remedies, strict=True)
    ]


_FAULT, _DENIED, _COURIER, _DROP = "fault", "denied", "courier", "drop"

#: Words that name a fault whatever the polarity model makes of them ("外箱就破损了" read as neutral,
#: "物流一直停在中转站" as praise): broken, leaking, lost, spoilt, crashing, stuck, dear, shabby.
_FAULT_RE = re.compile(
    r"破损|压坏|压扁|摔坏|磕坏|漏液|碎了|丢件|湿透|变质|发霉|过期|闪退|卡死|打不开|支付失败"
    r"|开不了机|充不进电|接触不良|坏了|次品|一直停在|一直卡在|没有?更新|不更新|没动静|拿不出手"
    r"|太贵|有点贵|偏贵|力度太小"
    r"|\bnot shipped\b|\bnot arrived\b|\btoo slow\b|\btook forever\b|\bnever (?:got|arrived)\b"
)
#: Praise in the clause leaves the verdict to the model ("客服很快帮我处理了破损问题" thanks for a remedy).
_PRAISE_RE = re.compile(r"很好|不错|满意|及时|很快|谢谢|感谢|帮我|帮忙|给力|点赞|好评|\bthanks?\b|\bgreat\b")
#: A fault word right after one of these is denied ("没有破损", "不太贵", "防漏液"), not claimed.
_DENIALS = frozenset("没无未不防")
#: A flaw that the text says is absent ("没有色差", "无异味"): praise, whatever the model says.
_DENIED_FLAW_RE = re.compile(
    r"(?:没有|没|无|毫无|不存在)(?:任何|一点|什么|一丝)?"
    r"(?:色差|异味|怪味|瑕疵|划痕|破损|损坏|磕碰|漏液|毛刺|线头|变形|问题)"
)
#: Who delivers the parcel, and who sells or serves: "快递员态度很差" is the courier's attitude.
_COURIER_RE = re.compile(
    r"快递员|快递小哥|快递师傅|配送员|送货员|骑手|\bcourier\b|\bdelivery (?:man|guy|driver)\b"
)
_SERVICE_RE = re.compile(r"客服|商家|卖家|店家|掌柜|老板|\bseller\b|customer service")
#: Product names that contain an aspect keyword ("充电" in "充电宝" is a power bank, not charging).
_PRODUCT_NOUN_RE = re.compile(r"充电宝|充电器|充电线|充电头")


#: Any word one of the rules below looks for.
_RULE_WORDS_RE = re.compile(
    "|".join(r.pattern for r in (_FAULT_RE, _DENIED_FLAW_RE, _COURIER_RE, _PRODUCT_NOUN_RE))
)


def _first_of_each(mentions: list[AspectMention]) -> list[AspectMention]:
    """The mentions without repeats of an aspect on the same span (a courier mention relabelled onto
    the clause's own courier mention), in order."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for m in mentions:
        key = (m.aspect, m.start, m.end)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _tail(clauses: Sequence[Clause], clause: Clause, detected: set[int]) -> str:
    """The clauses after ``clause`` that name no aspect of their own: they go on about the same thing
    ("包装很随意，送人都拿不出手")."""
    out = []
    for c in clauses:
        if c.start < clause.end:
            continue
        if c.start in detected:
            break
        out.append(c.text)
    return "，".join(out)


def _claims_fault(text: str) -> bool:
    """Whether ``text`` names a fault that no denial right before it takes back."""
    return any(
        not _DENIALS.intersection(text[max(0, m.start() - 2) : m.start()]) for m in _FAULT_RE.finditer(text)
    )


def _rule(
    aspect: str,
    text: str,
    clauses: Sequence[Clause],
    clause: Clause,
    term: tuple[int, int],
    detected: set[int],
) -> str:
    """What the rules say of one mention, beyond the model: "" (nothing), a fault (negative), a denied
    flaw (not negative), a courier's attitude (courier service), or drop it (a product's name)."""
    word = text[term[0] : term[1]]
    rel_start, rel_end = term[0] - clause.start, term[1] - clause.start
    for m in _PRODUCT_NOUN_RE.finditer(clause.text):
        if m.start() <= rel_start and rel_end <= m.end():
            # The term counts only where it stands outside the product's name.
            if word not in _PRODUCT_NOUN_RE.sub("", clause.text):
                return _DROP
            break
    if aspect == "cs_attitude" and _courier_speaks(clauses, clause):
        return _COURIER
    for m in _DENIED_FLAW_RE.finditer(clause.text):
        if m.start() <= rel_start and rel_end <= m.end():
            return _DENIED
    if _PRAISE_RE.search(clause.text):
        return ""
    if _claims_fault(clause.text):
        return _FAULT
    tail = _tail(clauses, clause, detected)
    return _FAULT if tail and _claims_fault(tail) else ""


def _courier_speaks(clauses: Sequence[Clause], clause: Clause) -> bool:
    """Whether the attitude in ``clause`` is a courier's: the clause, or the one before it when the
    clause names nobody ("快递员态度很差，电话里很不耐烦"), names a courier and no seller or service."""
    for c in (clause, *[c for c in reversed(clauses) if c.end <= clause.start][:1]):
        if _SERVICE_RE.search(c.text):
            return False
        if _COURIER_RE.search(c.text):
            return True
    return False


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
        s = float(an.bundle.absa.score([(norm.text, clause, pos, pos + len(nterm))])[0])
    else:
        s = float(an.bundle.en.score([clause.text])[0])
    return (label_for(s, an.neutral_band), round(s, 4))
