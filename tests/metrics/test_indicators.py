"""Each indicator on small hand-built data, on SQLite and PostgreSQL (see factory.py for the numbers)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.metrics import service
from cxloop.metrics.registry import INSUFFICIENT, get_indicator, registry
from cxloop.metrics.rollup import refresh
from cxloop.metrics.schemas import TargetIn
from cxloop.periods import Period, Scope
from cxloop.taxonomy import aspect_info
from tests.metrics import factory

AUG = Period.month("2026-08")

EXPECTED = {
    "on_time_rate": 30.0,
    "delivery_success_rate": 100.0,
    "damage_rate": 10.0,
    "loss_rate": 0.0,
    "payment_hours": 1.0,
    "picking_hours": 14.4,
    "processing_hours": 18.4,
    "sorting_hours": 2.0,
    "handover_hours": 2.0,
    "carrier_hours": 30.0,
    "refund_hours": 10.0,
    "stockout_rate": 5.0,
    "satisfaction_hours": -1.4,
    "surprise_rate": 30.0,
    "negative_share": 66.6667,
    "positive_share": 33.3333,
    "rating_mean": 5.0,
    "cs_first_response_minutes": 7.0,
    "cs_resolution_hours": 2.0,
    "csat": 50.0,
    "nps": 25.0,
    "ces": 3.0,
    "page_load_p50_ms": 325.0,
    "page_load_p90_ms": 5025.0,
    "aspect_negative_share": 75.0,
}


@pytest.fixture
def shop(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    """The factory's shop, rolled up (minimum samples lowered to its size)."""
    factory.allow_small_samples(monkeypatch)
    factory.build(db_session)
    refresh(db_session=db_session)
    return db_session


def test_period_arithmetic() -> None:
    """Months, weeks and days know their bounds and their previous period."""
    assert Period.month("2026-01").previous().label == "2025-12"
    assert Period.parse("2026-W32").start == date(2026, 8, 3)
    assert Period.parse("2026-08-03").previous().label == "2026-08-02"
    assert Scope.parse("carrier:C1") == Scope("carrier", "C1")
    with pytest.raises(ValueError):
        Scope.parse("planet:mars")


def test_every_indicator_on_hand_built_data(shop: Session) -> None:
    """Every formula gives the hand-computed value."""
    for code, expected in EXPECTED.items():
        got = service.compute(db_session=shop, indicator=code, period=AUG)
        assert got.value == pytest.approx(expected, abs=1e-3), code


def test_status_and_previous(shop: Session) -> None:
    """Damage 10% is red against the 1.5% red line; July had no damage so previous is 0."""
    damage = service.compute(db_session=shop, indicator="damage_rate", period=AUG)
    assert damage.status == "red" and damage.previous == 0.0 and damage.n == 10
    assert service.compute(db_session=shop, indicator="delivery_success_rate", period=AUG).status == "green"


def test_scopes_and_breakdown(shop: Session) -> None:
    """Picking is slow at WH2 only; the night shift answers slowly; breakdown lists the worst first."""
    wh2 = service.compute(
        db_session=shop, indicator="picking_hours", period=AUG, scope=Scope("warehouse", "WH2")
    )
    assert wh2.value == 30.0 and wh2.status == "red"
    rows = service.breakdown(db_session=shop, indicator="cs_first_response_minutes", period=AUG, by="shift")
    assert [(r.key, r.value, r.status) for r in rows] == [("night", 12.0, "red"), ("day", 2.0, "green")]
    carriers = service.breakdown(db_session=shop, indicator="on_time_rate", period=AUG, by="carrier")
    assert carriers[0].key == "C2" and carriers[0].value == 0.0 and carriers[0].label == "快递二"
    dept = service.compute(
        db_session=shop, indicator="aspect_negative_share", period=AUG, scope=Scope("department", "warehouse")
    )
    assert dept.value == 100.0
    with pytest.raises(ValueError):
        service.breakdown(db_session=shop, indicator="csat", period=AUG, by="shift")


def test_series(shop: Session) -> None:
    """A monthly series has one point per month, empty months included."""
    points = service.series(
        db_session=shop, indicator="on_time_rate", start=date(2026, 6, 1), end=date(2026, 9, 1), grain="month"
    )
    assert [(p.period, p.value) for p in points] == [("2026-06", None), ("2026-07", 100.0), ("2026-08", 30.0)]
    daily = service.series(
        db_session=shop, indicator="damage_rate", start=date(2026, 8, 9), end=date(2026, 8, 12), grain="day"
    )
    assert [p.value for p in daily] == [None, 10.0, None]


def test_targets_are_editable(shop: Session) -> None:
    """A scope-specific target beats the registry default."""
    service.set_target(
        db_session=shop,
        target_in=TargetIn(
            indicator="damage_rate", scope_kind="carrier", scope_key="C2", target=30, amber=30, red=40
        ),
    )
    c2 = service.compute(db_session=shop, indicator="damage_rate", period=AUG, scope=Scope("carrier", "C2"))
    assert c2.value == 20.0 and c2.status == "green" and c2.target == 30
    assert len(service.list_targets(db_session=shop)) == 1
    with pytest.raises(ValueError):
        service.set_target(
            db_session=shop, target_in=TargetIn(indicator="damage_rate", target=1, amber=2, red=1)
        )


def test_pareto_and_items(shop: Session) -> None:
    """Own-brand negative mentions only; three bars, all focus; drill-down returns the evidence."""
    p = service.pareto(db_session=shop, month="2026-08")
    # Three complaints about three aspects from two items: one item complains about two aspects.
    assert p.total == 2 and p.bars_total == 3 and [i.count for i in p.items] == [1, 1, 1]
    assert p.items[-1].cumulative_share == 100.0 and len(p.focus) == 3
    page = service.pareto_items(db_session=shop, month="2026-08", aspect="packaging", limit=10)
    assert page.total == 1 and page.items[0].evidence == "包装破了" and page.items[0].external_id == "F2"
    comp = service.pareto(db_session=shop, month="2026-08", brand="COMP")
    assert comp.total == 1 and comp.items[0].aspect == "packaging"


def test_root_cause(shop: Session) -> None:
    """WH2's picking (30 h against 4 h normal) causes four late orders; C2's transit causes three."""
    rc = service.root_cause(db_session=shop, month="2026-08")
    assert rc.late_orders == 7 and rc.orders == 10
    assert {r.stage: r.late_orders for r in rc.by_stage} == {"picking": 4, "carrier": 3}
    top = rc.by_scope[0]
    assert (top.stage, top.key, top.late_orders, top.department) == ("picking", "WH2", 4, "warehouse")
    assert rc.complaints_total == 1 and rc.complaints[0].stage == "picking"


def test_emotion_map_and_journey(shop: Session) -> None:
    """Stage sentiment follows the aspects' stages; the customer's peak and end are the happy review."""
    em = service.emotion_map(db_session=shop, month="2026-08")
    stages = {st.stage: st for st in em.stages}
    taste_stage = aspect_info("taste").stage
    assert stages[taste_stage].positive_share is not None and stages[taste_stage].positive_share > 0
    assert em.peak_end.customers == 1 and em.peak_end.peak_positive_share == 100.0
    journey = service.customer_journey(db_session=shop, customer="CU1")
    assert [m.feedback_id for m in journey.moments] == [1, 2, 3]
    assert journey.peak is not None and journey.peak.score == 0.95 and journey.end == journey.peak
    service.set_stage_weights(db_session=shop, weights={"wait": 1.0})
    assert service.emotion_map(db_session=shop, month="2026-08").weights == {"wait": 1.0}


def test_scorecards_and_competitors(shop: Session) -> None:
    """Scorecards score each department; competitors compare packaging complaints."""
    cards = service.scorecards(db_session=shop, month="2026-08", department="logistics")
    card = cards.departments[0]
    assert card.department == "logistics" and card.score is not None
    damage = next(i for i in card.indicators if i.code == "damage_rate")
    assert damage.status == "red" and len(damage.trend) == 6 and damage.trend[-2].value == 0.0
    comp = service.competitors(db_session=shop, month="2026-08")
    packaging = next(r for r in comp.rows if r.aspect == "packaging")
    assert [(c.brand, c.mentions, c.negative_share) for c in packaging.cells] == [
        ("own", 1, 100.0),
        ("COMP", 1, 100.0),
    ]  # the shop fixture lowers every minimum sample to 1


def test_overview_and_latest_month(shop: Session) -> None:
    """The overview gathers headline indicators; the latest month is August."""
    assert service.latest_month(db_session=shop) == "2026-08"
    ov = service.overview(db_session=shop)
    assert ov.month == "2026-08" and "damage_rate" in ov.red and ov.late_rate == 70.0


def test_refresh_since_keeps_earlier_months(shop: Session) -> None:
    """A partial refresh rebuilds only from its month on."""
    result = refresh(db_session=shop, since=date(2026, 8, 15))
    assert result.since == date(2026, 8, 1)
    assert (
        service.compute(db_session=shop, indicator="on_time_rate", period=Period.month("2026-07")).value
        == 100.0
    )
    assert service.compute(db_session=shop, indicator="on_time_rate", period=AUG).value == 30.0


def test_refresh_after_the_last_data_keeps_everything(shop: Session) -> None:
    """A refresh from a month with no data yet (an answer today, orders until last month) rebuilds
    nothing and keeps every earlier month (it raised IndexError before)."""
    result = refresh(db_session=shop, since=date(2027, 1, 5))
    assert result.since == date(2027, 1, 1)
    assert service.compute(db_session=shop, indicator="on_time_rate", period=AUG).value == 30.0


def _add_survey(session: Session, kind: str, scores: list[int], at: datetime) -> None:
    session.add_all(
        SurveyResponse(external_id=f"X{kind}{at:%m}-{i}", kind=kind, score=score, responded_at=at)
        for i, score in enumerate(scores)
    )
    session.commit()


def test_ces_seven_is_very_easy_and_green(db_session: Session) -> None:
    """Regression: CES answers of 6–7 (easy on the surveys' 1–7 scale, 7 = very easy) are green, not red."""
    _add_survey(db_session, "ces", [7, 6] * 20, datetime(2026, 8, 3, 10))
    _add_survey(db_session, "ces", [2, 1] * 20, datetime(2026, 7, 3, 10))
    refresh(db_session=db_session)
    easy = service.compute(db_session=db_session, indicator="ces", period=AUG)
    assert easy.value == 6.5 and easy.direction == "higher_better" and easy.status == "green"
    assert easy.previous == 1.5 and easy.previous_status == "red" and easy.change == 5.0


def test_minimum_sample_gives_not_enough_data(db_session: Session) -> None:
    """Below the registry's minimum sample a value is shown with status 'insufficient' (样本不足)."""
    ind = get_indicator("csat")
    _add_survey(db_session, "csat", [1] * (ind.min_n - 1), datetime(2026, 8, 3, 10))
    _add_survey(db_session, "csat", [1] * ind.min_n, datetime(2026, 7, 3, 10))
    refresh(db_session=db_session)
    value = service.compute(db_session=db_session, indicator="csat", period=AUG)
    assert value.value == 0.0 and value.n == ind.min_n - 1 and value.min_n == ind.min_n
    assert value.status == INSUFFICIENT and value.previous_status == "red"
    points = service.series(
        db_session=db_session, indicator="csat", start=date(2026, 7, 1), end=date(2026, 9, 1)
    )
    assert [p.status for p in points] == ["red", INSUFFICIENT]


def test_pareto_counts_each_item_once_per_aspect(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a review naming packaging three times is one packaging complaint, listed once."""
    factory.allow_small_samples(monkeypatch)
    factory.build(db_session)
    f2 = db_session.scalars(select(FeedbackItem).where(FeedbackItem.external_id == "F2")).one()
    db_session.add_all(
        FeedbackAspect(feedback_id=f2.id, aspect="packaging", sentiment="negative", score=0.2, start=s, end=s + 2,
                       occurred_at=f2.occurred_at, brand_id=f2.brand_id, channel=f2.channel)
        for s in (1, 2)
    )  # fmt: skip
    db_session.commit()
    refresh(db_session=db_session)
    pareto = service.pareto(db_session=db_session, month="2026-08")
    assert {i.aspect: i.count for i in pareto.items} == {
        "packaging": 1,
        "cs_response": 1,
        "delivery_speed": 1,
    }
    assert pareto.total == 2 and pareto.bars_total == 3
    page = service.pareto_items(db_session=db_session, month="2026-08", aspect="packaging")
    assert page.total == 1 and [i.external_id for i in page.items] == ["F2"]
    share = service.compute(db_session=db_session, indicator="aspect_neg:packaging", period=AUG)
    assert (share.value, share.n) == (100.0, 1)


def test_default_month_is_the_latest_complete_one(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One chat dated today does not turn the dashboard to a month that has barely begun."""
    monkeypatch.setattr(service, "business_today", lambda: date(2026, 9, 2))
    factory.allow_small_samples(monkeypatch)
    factory.build(db_session)
    db_session.add(FeedbackItem(external_id="TODAY", channel="chat", text="在吗", occurred_at=datetime(2026, 9, 2, 9),
                                sentiment="negative", sentiment_score=0.2))  # fmt: skip
    db_session.commit()
    refresh(db_session=db_session)
    assert service.latest_month(db_session=db_session) == "2026-09"
    assert service.default_month(db_session=db_session) == "2026-08"
    ov = service.overview(db_session=db_session)
    assert ov.month == "2026-08" and not ov.month_to_date
    assert service.pareto(db_session=db_session, month="2026-09").month_to_date
    choices = service.month_choices(db_session=db_session)
    assert (choices[0].month, choices[0].month_to_date) == ("2026-09", True)
    assert (choices[1].month, choices[1].month_to_date) == ("2026-08", False)


def test_scorecards_judge_departments_fairly(shop: Session) -> None:
    """Scorecards use complaints per 1,000 orders, never the ~100 % negative share of a complaint aspect."""
    cards = service.scorecards(db_session=shop, month="2026-08")
    codes = {i.code for card in cards.departments for i in card.indicators}
    assert not any(c.startswith("aspect_neg:") for c in codes)
    assert {"aspect_negative_share", "negative_share"}.isdisjoint(codes)
    assert {"complaint_rate:packaging", "complaint_rate:delivery_speed"} <= codes
    warehouse = next(c for c in cards.departments if c.department == "warehouse")
    packaging = next(i for i in warehouse.indicators if i.code == "complaint_rate:packaging")
    assert (packaging.value, packaging.n, packaging.unit) == (100.0, 10, "‰")  # 1 complaint / 10 orders


def test_competitor_share_needs_the_minimum_sample(shop: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: one competitor mention is no 100 % bar."""
    ind = get_indicator("aspect_neg:packaging")
    monkeypatch.setitem(registry(), ind.code, dataclasses.replace(ind, min_n=2))
    comp = service.competitors(db_session=shop, month="2026-08")
    packaging = next(r for r in comp.rows if r.aspect == "packaging")
    assert [(c.brand, c.mentions, c.negative_share, c.enough) for c in packaging.cells] == [
        ("own", 1, None, False),
        ("COMP", 1, None, False),
    ]
