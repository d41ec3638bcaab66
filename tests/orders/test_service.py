"""An order's timeline merges its events with the moments only its columns know."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cxloop.orders import service
from cxloop.orders.models import Order, OrderEvent


def test_timeline_stage_hours_and_promise_gap(db_session: Session) -> None:
    order = Order(
        external_id="O-1",
        placed_at=datetime(2026, 8, 3, 9, 0),
        paid_at=datetime(2026, 8, 3, 9, 5),
        picked_at=datetime(2026, 8, 4, 15, 5),
        sorted_at=datetime(2026, 8, 4, 17, 5),
        shipped_at=datetime(2026, 8, 4, 19, 5),
        delivered_at=datetime(2026, 8, 6, 10, 0),
        promised_delivery_at=datetime(2026, 8, 5, 18, 0),
    )
    db_session.add(order)
    db_session.flush()
    db_session.add(
        OrderEvent(order_id=order.id, kind="picked", occurred_at=order.picked_at, location="华东仓")
    )
    db_session.commit()

    found = service.get_by_external_id(db_session=db_session, external_id="O-1")
    assert found is not None
    entries = service.timeline(db_session=db_session, order=found)
    assert [e.kind for e in entries] == ["placed", "paid", "picked", "sorted", "shipped", "delivered"]
    assert entries[2].location == "华东仓"  # the recorded event wins over the bare column
    hours = service.stage_hours(found)
    assert hours["picking"] == 30.0 and hours["carrier"] == 38.92
    assert service.promise_gap_hours(found) == 16.0
    assert service.get_by_external_id(db_session=db_session, external_id="nope") is None
