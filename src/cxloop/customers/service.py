"""Customer profiles (客户档案) and lifetime value."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.auth.redaction import mask_email, mask_name, mask_phone, mask_wechat
from cxloop.customers.models import Customer
from cxloop.customers.schemas import LifetimeValueRead, ProfileRead
from cxloop.feedback.models import FeedbackItem
from cxloop.orders.models import Order


def get_by_external_id(*, db_session: Session, external_id: str) -> Customer | None:
    """The customer with the source system's id ``external_id``."""
    return db_session.scalar(select(Customer).where(Customer.external_id == external_id))


def lifetime_value(
    *, orders: int, spend: Decimal, first: datetime | None, last: datetime | None, horizon_years: float = 1.0
) -> LifetimeValueRead | None:
    """CLV by the MISSION's formula: average order value × orders per year × years of relationship.

    The relationship counts at least ``horizon_years``.

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
    return LifetimeValueRead(
        average_order_value=average, orders_per_year=round(per_year, 2), years=round(years, 2), value=value
    )


def profile(*, db_session: Session, customer: Customer, personal_data: bool) -> ProfileRead:
    """What a service agent needs on one screen: contacts (masked without ``personal_data``, the
    policy's ``can_see_contact``), order history, feedback counts and lifetime value."""
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
    c, full = customer, personal_data
    return ProfileRead(
        external_id=c.external_id,
        name=c.name if full else mask_name(c.name),
        phone=c.phone if full else mask_phone(c.phone),
        email=c.email if full else mask_email(c.email),
        wechat=c.wechat if full else mask_wechat(c.wechat),
        tier=c.tier,
        preferred_channel=c.preferred_channel,
        consent_marketing=c.consent_marketing,
        region=c.region,
        city=c.city,
        orders=int(count),
        spend=spend,
        first_order_at=first,
        last_order_at=last,
        feedback=int(feedback),
        negative_feedback=int(negative),
        lifetime_value=lifetime_value(orders=int(count), spend=spend, first=first, last=last),
    )
