"""A batch of due timers decides from data read once for the whole batch: the same outcomes as one step
at a time, including what the batch itself wrote (its messages count towards the caps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cxloop.config import get_settings
from cxloop.journeys import service
from cxloop.journeys.models import JourneyRun, JourneyStep
from cxloop.journeys.prefetch import RunState
from cxloop.messaging.models import CustomerMessage

from .conftest import T0, Shop

OFFERS = """
key: offers
trigger: {event: cart.added}
steps:
- wait: 1 hour
- tag: offered
- send: {template: cart_offer, vars: {coupon: CART10}}
"""


def test_run_state_holds_every_column_of_a_run() -> None:
    assert set(RunState.__slots__) == {c.name for c in JourneyRun.__table__.columns}


def test_one_batch_counts_its_own_messages_towards_the_cap(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXLOOP_MESSAGE_CAP_PER_DAY", "1")
    get_settings.cache_clear()
    db = shop.db
    service.load_file(db_session=db, path="offers.yaml", text=OFFERS)
    for journey in service.list_journeys(db_session=db):
        if journey.key != "offers":
            service.set_enabled(db_session=db, key=journey.key, enabled=False, commit=False)
    keen, other = shop.customer(), shop.customer()
    for ref, customer in (("cart:1", keen), ("cart:2", keen), ("cart:3", other)):
        service.emit_event(db, kind="cart.added", customer_id=customer.id, occurred_at=T0, ref=ref)
    db.flush()
    # All three due timers fire in one batch.
    assert service.fire_due(db, now=T0 + timedelta(hours=2), limit=500) == 3
    db.flush()
    rows = list(db.scalars(select(CustomerMessage).order_by(CustomerMessage.id)))
    by_customer = [(m.customer_id, m.status, m.reason) for m in rows]
    assert by_customer == [
        (keen.id, "queued", None),
        (keen.id, "skipped", "frequency_cap"),
        (other.id, "queued", None),
    ]
    # Each step's log points at its message; the tag was written once for the customer with two runs.
    steps = list(db.scalars(select(JourneyStep).where(JourneyStep.action == "send")))
    assert sorted(s.message_id for s in steps) == [m.id for m in rows]
    runs = list(db.scalars(select(JourneyRun).where(JourneyRun.journey_key == "offers")))
    assert {r.status for r in runs} == {"done"}
    # Firing again does nothing: every step ran once.
    assert service.fire_due(db, now=T0 + timedelta(hours=3), limit=500) == 0
