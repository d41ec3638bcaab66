"""Taxonomies, zero-shot and fitted aspect detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxloop.text import Analyzer, AspectModel, TaxonomyError, default_taxonomy, load_taxonomy
from cxloop.text.taxonomy import DEPARTMENTS, STAGES, Taxonomy

RESTAURANT = (
    Path(__file__).resolve().parents[2] / "src" / "cxloop" / "text" / "taxonomies" / "restaurant.yaml"
)

REQUIRED = {
    "product_quality": ("quality", "use"),
    "description_match": ("product", "use"),
    "price_value": ("marketing", "purchase"),
    "dispatch_speed": ("warehouse", "wait"),
    "delivery_speed": ("logistics", "wait"),
    "packaging": ("warehouse", "arrival"),
    "damage_loss": ("logistics", "arrival"),
    "wrong_missing_item": ("warehouse", "arrival"),
    "courier_service": ("logistics", "arrival"),
    "cs_attitude": ("customer_service", "after_sales"),
    "cs_response": ("customer_service", "after_sales"),
    "returns_refunds": ("customer_service", "after_sales"),
    "app_usability": ("it", "browse"),
    "payment": ("it", "purchase"),
    "taste": ("product", "use"),
    "freshness": ("quality", "use"),
}


def test_default_taxonomy_schema() -> None:
    tax = default_taxonomy()
    assert tax.name == "ecommerce"
    assert tuple(tax.stages) == STAGES
    for aid, (dept, stage) in REQUIRED.items():
        a = tax.get(aid)
        assert (a.department, a.stage) == (dept, stage)
        assert a.keywords.get("zh") and a.keywords.get("en") and a.examples.get("zh")
    for a in tax.aspects:
        assert a.department in DEPARTMENTS
        assert a.parent is None or a.parent in tax.ids
    assert len(tax.version) == 12
    assert load_taxonomy(None) is tax


def test_version_changes_with_content() -> None:
    tax = default_taxonomy()
    d = tax.to_dict()
    d["aspects"][0]["keywords"] = {"zh": ["新词"]}
    assert Taxonomy.from_dict(d).version != tax.version
    assert Taxonomy.from_dict(tax.to_dict()).version == tax.version


def test_invalid_taxonomy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\naspects:\n  - id: a\n    stage: nowhere\n", encoding="utf-8")
    with pytest.raises(TaxonomyError):
        load_taxonomy(bad)


@pytest.mark.parametrize(
    ("text", "aspect", "sentiment"),
    [
        ("发货太慢了，三天还没发货", "dispatch_speed", "negative"),
        ("快递小哥态度很好，还送货上门", "courier_service", "positive"),
        ("收到的时候杯子碎了", "damage_loss", "negative"),
        ("少发了一件，联系客服也没人理", "wrong_missing_item", "negative"),
        ("水果很新鲜", "freshness", "positive"),
        ("性价比很高", "price_value", "positive"),
        ("app老是闪退", "app_usability", "negative"),
        ("申请退款一直不处理", "returns_refunds", "negative"),
        ("The delivery guy was rude", "courier_service", "negative"),
    ],
)
def test_default_aspects(analyzer: Analyzer, text: str, aspect: str, sentiment: str) -> None:
    [a] = analyzer.analyze([text])
    got = {m.aspect: m.sentiment for m in a.aspects}
    assert got.get(aspect) == sentiment, a.aspects


def test_restaurant_zero_shot() -> None:
    an = Analyzer(taxonomy=load_taxonomy(RESTAURANT))
    [a] = an.analyze(["菜很好吃，但是上菜太慢了，服务员态度也很差，环境还行"])
    got = {m.aspect: m.sentiment for m in a.aspects}
    assert got["taste"] == "positive"
    assert got["waiting_time"] == "negative"
    assert got["waiter_attitude"] == "negative"
    assert "environment" in got
    # Fuzzy match against the examples, with no shared keyword: the zero-shot model is fit([], []).
    zero_shot = AspectModel(load_taxonomy(RESTAURANT)).fit([], [])
    assert "waiting_time" in zero_shot.predict(["上菜慢，等了四十多分钟"])[0]


def test_restaurant_improves_with_labels() -> None:
    tax = load_taxonomy(RESTAURANT)
    model = AspectModel(tax)
    probe = ["店里氛围感很棒，很有格调", "灯光氛围太暗了"]
    before = AspectModel(tax).fit([], []).predict(probe)
    assert all("environment" not in ids for ids in before)
    texts = [
        "氛围很好，有格调",
        "餐厅氛围感不错",
        "很有格调的小店",
        "氛围一般",
        "菜很好吃",
        "上菜快",
        "服务员热情",
    ]
    labels: list[list[str]] = [["environment"]] * 4 + [["taste"], ["waiting_time"], ["waiter_attitude"]]
    assert model.fit(texts, labels) is model
    after = model.predict(probe)
    assert all("environment" in ids for ids in after)
    # Labels may also be {aspect: sentiment} maps.
    model.fit(texts, [{lab[0]: "positive"} for lab in labels])
    assert "environment" in model.predict(probe)[0]


def test_absa_sentences_keep_only_agreeing_sentences(tmp_path: Path) -> None:
    from cxloop.text.data import absa_sentences, read_absa

    path = tmp_path / "x.txt"
    path.write_text(
        "屏 幕 很 好 ， $T$ 太 慢\n速 度\nNegative\n"
        "$T$ 很 好 ， 速 度 太 慢\n屏 幕\nPositive\n"
        "$T$ 真 漂 亮\n外 观\nPositive\n"
        "$T$ 一 般\n价 格\nNeutral\n",
        encoding="utf-8",
    )
    assert absa_sentences(read_absa(path)) == (["外观真漂亮"], [1])


def test_aspect_model_follows_the_estimator_contract() -> None:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    tax = load_taxonomy(RESTAURANT)
    model = AspectModel(tax, similarity_threshold=0.5)
    # __init__ only stores its parameters: nothing is learnt before fit.
    assert model.get_params() == {
        "taxonomy": tax,
        "similarity_threshold": 0.5,
        "learned_threshold": 0.5,
        "min_clause_chars": 2,
    }
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(["菜很好吃"])
    assert model.fit(["氛围很好", "菜很好吃"], [["environment"], ["taste"]]) is model
    assert model.classifiers_ == {}  # fewer than two texts on either side: no classifier
    assert "taste" in model.predict(["菜很好吃"])[0]
    assert clone(model).get_params()["similarity_threshold"] == 0.5


def test_aspect_sentiment_model_takes_its_review_model_as_a_parameter(analyzer: Analyzer) -> None:
    from cxloop.text import AspectSentimentModel
    from cxloop.text.clauses import Clause

    absa = analyzer.bundle.absa
    assert absa.get_params()["review"] is analyzer.bundle.zh
    text = "电池不耐用"
    [p] = absa.score([(text, Clause(0, len(text), text), 0, 2)])
    assert p < 0.5
    with pytest.raises(ValueError, match="review model"):
        AspectSentimentModel().fit([(text, Clause(0, len(text), text), 0, 2)], [0])
