"""Small hand-built shop data for metrics tests: every number below is checked by hand in the tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.customers.models import Customer, CustomerEvent
from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.metrics.registry import registry
from cxloop.orders.models import Order, OrderLine

AUG = datetime(2026, 8, 10, 9, 0)
JUL = datetime(2026, 7, 10, 9, 0)


def build(session: Session) -> None:
    """Two warehouses, two carriers, one own and one competitor brand, ten August orders."""
    own, comp = Brand(external_id="OWN", name="优选"), Brand(external_id="COMP", name="对手", is_own=False)
    sup = Supplier(external_id="SUP1", name="供应商一")
    session.add_all([own, comp, sup])
    session.flush()
    prod = Product(external_id="P1", name="坚果", supplier_id=sup.id, brand_id=own.id)
    wh1, wh2 = Warehouse(external_id="WH1", name="一号仓"), Warehouse(external_id="WH2", name="二号仓")
    c1, c2 = Carrier(external_id="C1", name="快递一"), Carrier(external_id="C2", name="快递二")
    alice = Customer(external_id="CU1", name="Alice", tier="vip", region="上海")
    session.add_all([prod, wh1, wh2, c1, c2, alice])
    session.flush()
    orders = []
    # Ten August orders: 1 h payment, picking 4 h (WH1) or 30 h (WH2), sorting 2 h, handover 2 h,
    # carrier 20 h (C1) or 40 h (C2); promise 48 h after placing.
    for i in range(10):
        wh = wh1 if i < 6 else wh2
        cr = c1 if i % 2 == 0 else c2
        placed = AUG + timedelta(hours=i)
        paid = placed + timedelta(hours=1)
        picked = paid + timedelta(hours=4 if wh is wh1 else 30)
        sorted_ = picked + timedelta(hours=2)
        shipped = sorted_ + timedelta(hours=2)
        delivered = shipped + timedelta(hours=20 if cr is c1 else 40)
        o = Order(
            external_id=f"O{i}", customer_id=alice.id, brand_id=own.id, warehouse_id=wh.id, carrier_id=cr.id,
            region="上海", sales_channel="app", placed_at=placed, promised_delivery_at=placed + timedelta(hours=48),
            paid_at=paid, picked_at=picked, sorted_at=sorted_, shipped_at=shipped, delivered_at=delivered,
            damaged=(i == 1), lost=False, spilled=False,
        )  # fmt: skip
        if i == 9:
            o.refund_requested_at, o.refunded_at = delivered, delivered + timedelta(hours=10)
        orders.append(o)
    # One July order (normal history for the root-cause rule): picking 4 h at WH2 too.
    orders.append(Order(
        external_id="OJ", brand_id=own.id, warehouse_id=wh2.id, carrier_id=c1.id, placed_at=JUL,
        promised_delivery_at=JUL + timedelta(hours=48), paid_at=JUL + timedelta(hours=1),
        picked_at=JUL + timedelta(hours=5), sorted_at=JUL + timedelta(hours=7), shipped_at=JUL + timedelta(hours=9),
        delivered_at=JUL + timedelta(hours=29),
    ))  # fmt: skip
    session.add_all(orders)
    session.flush()
    session.add_all(
        OrderLine(order_id=o.id, line_no=1, product_id=prod.id, quantity=2, stockout_qty=1 if i == 0 else 0)
        for i, o in enumerate(orders[:10])
    )
    # Feedback: two chats (first response 2 and 12 minutes; shifts day / night), one review, one competitor.
    f1 = FeedbackItem(external_id="F1", channel="chat", text="快递太慢了", occurred_at=AUG, customer_id=alice.id,
                      order_id=orders[7].id, brand_id=own.id, shift="day", first_response_at=AUG + timedelta(minutes=2),
                      resolved_at=AUG + timedelta(hours=2), sentiment="negative", sentiment_score=0.1)  # fmt: skip
    f2 = FeedbackItem(external_id="F2", channel="chat", text="包装破了，客服也慢", occurred_at=AUG + timedelta(days=1),
                      customer_id=alice.id, brand_id=own.id, shift="night",
                      first_response_at=AUG + timedelta(days=1, minutes=12), sentiment="negative", sentiment_score=0.2)  # fmt: skip
    f3 = FeedbackItem(external_id="F3", channel="review", text="坚果很好吃", rating=5, occurred_at=AUG + timedelta(days=2),
                      customer_id=alice.id, product_id=prod.id, brand_id=own.id, sentiment="positive",
                      sentiment_score=0.95)  # fmt: skip
    f4 = FeedbackItem(external_id="F4", channel="review", text="对手包装差", rating=2, occurred_at=AUG,
                      brand_id=comp.id, sentiment="negative", sentiment_score=0.1)  # fmt: skip
    session.add_all([f1, f2, f3, f4])
    session.flush()

    def aspect(
        item: FeedbackItem, name: str, sentiment: str, score: float, start: int, end: int
    ) -> FeedbackAspect:
        return FeedbackAspect(feedback_id=item.id, aspect=name, sentiment=sentiment, score=score, start=start, end=end,
                              occurred_at=item.occurred_at, brand_id=item.brand_id, channel=item.channel)  # fmt: skip

    session.add_all([
        aspect(f1, "delivery_speed", "negative", 0.1, 0, 4),
        aspect(f2, "packaging", "negative", 0.2, 0, 4),
        aspect(f2, "cs_response", "negative", 0.2, 5, 9),
        aspect(f3, "taste", "positive", 0.95, 2, 5),
        aspect(f4, "packaging", "negative", 0.1, 2, 5),
    ])  # fmt: skip
    session.add_all([
        SurveyResponse(external_id="S1", kind="csat", score=5, responded_at=AUG, brand_id=own.id),
        SurveyResponse(external_id="S2", kind="csat", score=3, responded_at=AUG, brand_id=own.id),
        SurveyResponse(external_id="S3", kind="nps", score=10, responded_at=AUG),
        SurveyResponse(external_id="S4", kind="nps", score=9, responded_at=AUG),
        SurveyResponse(external_id="S5", kind="nps", score=3, responded_at=AUG),
        SurveyResponse(external_id="S6", kind="nps", score=8, responded_at=AUG),
        SurveyResponse(external_id="S7", kind="ces", score=2, responded_at=AUG),
        SurveyResponse(external_id="S8", kind="ces", score=4, responded_at=AUG),
    ])  # fmt: skip
    session.add_all(
        CustomerEvent(external_id=f"E{i}", kind="view", occurred_at=AUG, load_ms=ms)
        for i, ms in enumerate([100, 200, 300, 400, 5000])
    )
    session.commit()


def allow_small_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the factory's ten orders carry a status: every indicator's minimum sample becomes 1.

    The factory checks arithmetic; the minimum sample itself is tested on its own
    (tests/metrics/test_indicators.py::test_minimum_sample).
    """
    table = registry()
    for code, ind in list(table.items()):
        monkeypatch.setitem(table, code, dataclasses.replace(ind, min_n=1))
