"""Customer lifetime value follows seed 001's formula and profiles count history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from cxloop.customers import service
from cxloop.customers.models import Customer
from cxloop.orders.models import Order


def test_lifetime_value_matches_the_seed_example() -> None:
    clv = service.lifetime_value(
        orders=3, spend=Decimal("150000"), first=datetime(2026, 1, 1), last=datetime(2026, 6, 1)
    )
    assert clv is not None
    assert clv.average_order_value == Decimal("50000.00")
    assert clv.orders_per_year == 3 and clv.years == 1.0
    assert clv.value == Decimal("150000.00")
    assert service.lifetime_value(orders=0, spend=Decimal(0), first=None, last=None) is None


def test_profile_counts_orders_but_not_cancelled_ones(db_session: Session) -> None:
    customer = Customer(external_id="C-1", name="王小明", tier="vip")
    db_session.add(customer)
    db_session.flush()
    for i, amount in enumerate(["100.00", "300.00", "999.00"]):
        db_session.add(
            Order(
                external_id=f"O-{i}",
                customer_id=customer.id,
                total_amount=Decimal(amount),
                placed_at=datetime(2026, 5 + i, 1),
                cancelled_at=datetime(2026, 7, 2) if i == 2 else None,
            )
        )
    db_session.commit()
    found = service.profile(db_session=db_session, customer=customer, personal_data=True)
    assert found.orders == 2 and found.spend == Decimal("400.00")
    assert found.lifetime_value is not None and found.lifetime_value.average_order_value == Decimal("200.00")
