"""Customer profiles (客户档案) and lifetime value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.customers.models import Customer
from cxloop.feedback.models import FeedbackItem
from cxloop.orders.models import Order


@dataclass(frozen=True)
class LifetimeValue:
    """CLV by the MISSION's formula: average order value × orders per year × years of relationship."""

    average_order_value: Decimal
    orders_per_year: float
    years: float
    value: Decimal


@dataclass(frozen=True)
class Profile:
    """What a service agent needs on one screen about a customer."""

    customer: Customer
    orders: int
    spend: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None
    feedback: int
    negative_feedback: int
    lifetime_value: LifetimeValue | None


def get_by_external_id(*, db_session: Session, external_id: str) -> Customer | None:
    """The customer with the source system's id ``external_id``."""
    return db_session.scalar(select(Customer).where(Customer.external_id == external_id))


def lifetime_value(
    *, orders: int, spend: Decimal, first: datetime | None, last: datetime | None, horizon_years: float = 1.0
) -> LifetimeValue | None:
    """Average order value × orders per year × years; the relationship counts at least ``horizon_years``.

    Seed 001's example: 50,000 × 3 orders a year × 1 year = 150,000.
    """
    if orders == 0 or first is None or last is None:
        return None
    average = (spend / orders).quantize(Decimal("0.01"))
    observed_years = max((last - first).days / 365.25, 0.0)
    # A customer seen for a few weeks has not shown a yearly rate yet: spread the orders over a year.
    per_year = orders / max(observed_years, 1.0)
    years = max(observed_years, horizon_years)
    value = (average * Decimal(str(round(per_year, 4))) * Decimal(str(round(years, 4)))).quantize(
        Decimal("0.01")
    )
    return LifetimeValue(average, round(per_year, 2), round(years, 2), value)


def profile(*, db_session: Session, customer: Customer) -> Profile:
    """The customer's order history, feedback counts and lifetime value."""
    count, spend, first, last = db_session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.total_amount), 0),
            func.min(Order.placed_at),
            func.max(Order.placed_at),
        ).where(Order.customer_id == customer.id, Order.cancelled_at.is_(None))
    ).one()
    feedback, negative = db_session.execute(
        select(
            func.count(FeedbackItem.id),
            func.count(FeedbackItem.id).filter(FeedbackItem.sentiment == "negative"),
        ).where(FeedbackItem.customer_id == customer.id)
    ).one()
    spend = Decimal(str(spend))
    return Profile(
        customer=customer,
        orders=int(count),
        spend=spend,
        first_order_at=first,
        last_order_at=last,
        feedback=int(feedback),
        negative_feedback=int(negative),
        lifetime_value=lifetime_value(orders=int(count), spend=spend, first=first, last=last),
    )
