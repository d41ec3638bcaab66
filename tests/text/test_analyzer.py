"""Review sentiment, aspects, robustness and the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from cxloop.text import MODEL_VERSION, Analysis, Analyzer, aspect_sentiment
from cxloop.text.bundle import MODEL_FILE, load_bundle_file


def test_shipped_model_loads_and_is_small() -> None:
    # Load time is measured by bench/text.py, never asserted in a test.
    bundle = load_bundle_file(MODEL_FILE)
    assert MODEL_FILE.stat().st_size < 30e6
    assert bundle.version == MODEL_VERSION


def test_taste_good_delivery_slow(analyzer: Analyzer) -> None:
    text = "味道不错，但是送餐太慢了"
    [a] = analyzer.analyze([text])
    got = {m.aspect: m for m in a.aspects}
    assert got["taste"].sentiment == "positive"
    assert got["delivery_speed"].sentiment == "negative"
    d = got["delivery_speed"]
    assert "送餐太慢" in text[d.start : d.end] == d.text
    assert text[got["taste"].start : got["taste"].end] == "味道不错"


def test_traditional_equals_simplified(analyzer: Analyzer) -> None:
    pairs = [
        ("這家店的東西質量很好，物流也很快", "这家店的东西质量很好，物流也很快"),
        ("味道不錯，但是送餐太慢了", "味道不错，但是送餐太慢了"),
        ("客服態度很差，退款一直不處理", "客服态度很差，退款一直不处理"),
    ]
    trad = analyzer.analyze([t for t, _ in pairs])
    simp = analyzer.analyze([s for _, s in pairs])
    for a, b in zip(trad, simp, strict=True):
        assert (a.language, a.sentiment, a.score, a.clauses) == (b.language, b.sentiment, b.score, b.clauses)
        key = [(m.aspect, m.sentiment, m.score, m.start, m.end) for m in a.aspects]
        assert key == [(m.aspect, m.sentiment, m.score, m.start, m.end) for m in b.aspects]
        assert key
        # Evidence is quoted from the original (Traditional) text.
        assert all(m.text in trad_texts for m in a.aspects for trad_texts in [" ".join(t for t, _ in pairs)])


def test_clear_reviews(analyzer: Analyzer) -> None:
    res = analyzer.analyze(
        [
            "非常好，很满意，还会再来",
            "太差了，再也不买了",
            "Great phone, works perfectly!",
            "Terrible, broke after a day.",
        ]
    )
    assert [r.sentiment for r in res] == ["positive", "negative", "positive", "negative"]
    assert res[2].language == "en"


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "😀😀😀",
        "🫠",
        "x" * 100_000,
        "好" * 100_000,
        "\x00\xff\ufffd\ud800abc",
        "这个phone不错 but 电池 so-so",
    ],
)
def test_bad_input_gives_defined_result(analyzer: Analyzer, text: str | None) -> None:
    [a] = analyzer.analyze([text])
    assert isinstance(a, Analysis)
    assert a.sentiment in ("positive", "neutral", "negative")
    assert 0.0 <= a.score <= 1.0
    for m in a.aspects:
        assert 0 <= m.start < m.end <= len(text or "")
    a.to_json()


def test_empty_is_neutral(analyzer: Analyzer) -> None:
    for a in analyzer.analyze([None, "", "🫠"]):
        assert a.sentiment == "neutral" and a.aspects == []


def test_non_string_input(analyzer: Analyzer) -> None:
    [a] = analyzer.analyze([12345])  # type: ignore[list-item]
    assert a.sentiment in ("positive", "neutral", "negative")


def test_aspect_sentiment() -> None:
    assert aspect_sentiment("屏幕很大，但是电池不耐用", "电池")[0] == "negative"
    assert aspect_sentiment("屏幕很大，但是电池不耐用", "屏幕")[0] == "positive"
    sentiment, score = aspect_sentiment("", "电池")
    assert sentiment == "neutral" and score == 0.5


def test_model_version(analyzer: Analyzer) -> None:
    assert analyzer.model_version == MODEL_VERSION
    assert analyzer.model_version.startswith("text-")


def test_a_domain_specialist_leans_its_own_domain_and_survives_saving() -> None:
    """Texts that look like the specialist's domain move towards its model; others do not."""
    from cxloop.text.sentiment import SentimentModel

    shop = ["质量很好", "做工精致", "质量太差", "做工粗糙"] * 5
    food = ["骑手很快", "味道不错", "骑手太慢", "味道难吃"] * 5
    # In the food domain "辣" is praise; the shop reviews never use it.
    food += ["很辣", "很辣很香"] * 5
    texts = shop + food
    labels = [1, 1, 0, 0] * 5 + [1, 1, 0, 0] * 5 + [1, 1] * 5
    domains = ["shop"] * len(shop) + ["food"] * len(food)
    model = SentimentModel(min_df=1, calibration_folds=0).fit(
        texts, labels, domains=domains, specialist="food"
    )
    assert model.specialist_ is not None and model.specialist_["domain"] == "food"
    plain = SentimentModel(min_df=1, calibration_folds=0).fit(texts, labels)
    probe = ["骑手很辣", "质量很好"]
    with_spec, without = model.score(probe), plain.score(probe)
    assert with_spec[0] != without[0]  # the food-looking text takes the specialist's view
    assert abs(with_spec[1] - without[1]) < abs(with_spec[0] - without[0])
    again = SentimentModel.from_state(model.to_state())
    assert np.allclose(again.score(probe), with_spec)
    # Without domains there is no specialist, as in bundles trained before it existed.
    state = plain.to_state()
    del state["specialist"]
    assert SentimentModel.from_state(state).specialist_ is None


def test_analyze_leaves_the_garbage_collector_alone(analyzer: Analyzer) -> None:
    import gc

    assert gc.isenabled()
    analyzer.analyze(["味道不错，但是送餐太慢了"])
    assert gc.isenabled()


def test_collector_paused_nests_and_overlaps_across_threads() -> None:
    import gc
    import threading

    from cxloop.text.analyzer import collector_paused

    inside = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=other)
    with collector_paused():
        assert not gc.isenabled()
        t.start()
        inside.wait(10)
    # The other thread still holds it: the collector stays paused until it leaves.
    assert not gc.isenabled()
    leave.set()
    t.join()
    assert gc.isenabled()
    # A collector the application switched off stays off.
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _negatives(analyzer: Analyzer, text: str) -> set[str]:
    [a] = analyzer.analyze([text])
    return {m.aspect for m in a.aspects if m.sentiment == "negative"}


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("收到的时候外箱就破损了，能退款吗", "damage_loss"),
        ("物流一直停在中转站，什么情况", "delivery_speed"),
        ("包装很随意，送人都拿不出手", "packaging"),
        ("活动优惠力度太小。不过口感不错", "price_value"),
        ("Hi, I paid 4 days ago and the order has not shipped yet.", "dispatch_speed"),
    ],
)
def test_a_named_fault_is_a_complaint(analyzer: Analyzer, text: str, aspect: str) -> None:
    """Fault words (broken, stuck, shabby, dear), here or in the clause that goes on, make a complaint."""
    assert aspect in _negatives(analyzer, text)


def test_a_fault_in_praise_is_left_to_the_model(analyzer: Analyzer) -> None:
    """Thanks for a remedy ("客服很快帮我处理了破损问题") is not turned into a complaint by the fault word."""
    [a] = analyzer.analyze(["客服很快帮我处理了破损问题，很满意"])
    [m] = [m for m in a.aspects if m.aspect == "damage_loss" and "破损" in m.text]
    # The model's own score, not the one the fault rule sets (half the negative threshold).
    assert m.score != round(analyzer.neutral_band[0] / 2, 4)


def test_a_denied_flaw_is_no_complaint(analyzer: Analyzer) -> None:
    """ "没有色差" / "没有破损" praise the item: the flaw is denied, not claimed."""
    assert not _negatives(analyzer, "实物和图片一致，没有色差，会回购的！")
    assert "damage_loss" not in _negatives(analyzer, "包装完好，没有破损")


def test_a_couriers_attitude_is_courier_service(analyzer: Analyzer) -> None:
    """The courier's rudeness is not customer service's attitude, also in the clause that goes on."""
    assert _negatives(analyzer, "快递员态度很差，电话里很不耐烦") == {"courier_service"}
    assert _negatives(analyzer, "The courier did not deliver to my door and was rude.") == {"courier_service"}
    assert "cs_attitude" in _negatives(analyzer, "快递员送货上门，客服态度很差")


def test_a_product_name_is_not_its_keyword(analyzer: Analyzer) -> None:
    """ "充电宝" (a power bank) is no charging-performance mention; its charging still is."""
    assert "performance" not in _negatives(analyzer, "质量差，充电宝充不进电")
    assert "performance" in _negatives(analyzer, "充电宝充电很慢")


def test_a_remedy_asked_for_is_no_second_complaint(analyzer: Analyzer) -> None:
    """Asking for (or an agent arranging) a replacement is what the customer wants done."""
    for text in (
        "It stopped working after two days, the quality is bad. Can I get a replacement?",
        "客户来电称商品漏液，已安排退款。",
    ):
        assert "returns_refunds" not in _negatives(analyzer, text), text
