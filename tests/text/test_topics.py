"""Keywords, emerging topics and pain/delight points."""

from __future__ import annotations

from cxloop.text import Analyzer, emerging_topics, extract_keywords, pain_and_delight_points


def test_extract_keywords() -> None:
    texts = ["物流很快，包装很好", "物流太慢了", "包装破损了", "物流速度还可以", "质量不错"]
    kws = extract_keywords(texts, top_k=5)
    phrases = [k.phrase for k in kws]
    assert "物流" in phrases
    assert all(k.count >= 2 for k in kws)
    assert extract_keywords([]) == []


def test_emerging_topics_flags_new_and_rising() -> None:
    baseline = ["质量很好", "物流很快", "包装不错", "质量一般", "价格便宜"] * 20
    current = (
        ["质量很好", "物流很快"] * 10
        + ["电池鼓包了", "电池鼓包很危险", "电池鼓包，要求退货"] * 3
        + ["价格便宜"] * 5
    )
    topics = emerging_topics(current, baseline, min_count=3)
    by_phrase = {t.phrase: t for t in topics}
    hit = next(t for t in topics if "鼓包" in t.phrase)
    assert hit.new is True and hit.baseline_count == 0 and hit.count >= 3
    assert all(t.z >= 2.0 for t in topics)
    assert "质量" not in by_phrase
    assert emerging_topics([], baseline) == []


def test_pain_and_delight_points(analyzer: Analyzer) -> None:
    texts = ["送餐太慢了", "送餐太慢了！", "送餐很快", "味道不错", "味道很好，但是送餐太慢了"]
    points = pain_and_delight_points(analyzer.analyze(texts))
    delivery = points["delivery_speed"]
    assert delivery.negative == 3 and delivery.positive == 1
    assert delivery.pain[0].count == 3
    assert "送餐" in delivery.pain[0].example
    assert points["taste"].delight and points["taste"].pain == []
    assert points["taste"].to_dict()["aspect"] == "taste"
