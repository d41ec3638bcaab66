"""API shapes of customers: the profile a service agent sees."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class LifetimeValueRead(BaseModel):
    """CLV: average order value × orders per year × years of relationship."""

    average_order_value: Decimal
    orders_per_year: float
    years: float
    value: Decimal


class ProfileRead(BaseModel):
    """A customer profile: contacts, tier, history and lifetime value."""

    external_id: str
    name: str | None
    phone: str | None
    email: str | None
    wechat: str | None
    tier: str
    preferred_channel: str | None
    consent_marketing: bool
    region: str | None
    city: str | None
    orders: int
    spend: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None
    feedback: int
    negative_feedback: int
    lifetime_value: LifetimeValueRead | None
