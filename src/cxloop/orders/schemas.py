"""API shapes of orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class OrderLineRead(BaseModel):
    """One product line."""

    model_config = ConfigDict(from_attributes=True)

    line_no: int
    product_id: int | None
    quantity: int
    unit_price: Decimal | None
    amount: Decimal | None
    stockout_qty: int


class TimelineEntryRead(BaseModel):
    """One moment in the order's life."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    occurred_at: datetime
    location: str | None = None
    note: str | None = None


class OrderRead(BaseModel):
    """An order with its lines, timeline, stage durations and promise gap."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    status: str
    region: str | None
    total_amount: Decimal | None
    currency: str
    placed_at: datetime
    promised_delivery_at: datetime | None
    delivered_at: datetime | None
    damaged: bool
    lost: bool
    spilled: bool
    lines: list[OrderLineRead] = []
    timeline: list[TimelineEntryRead] = []
    stage_hours: dict[str, float | None] = {}
    promise_gap_hours: float | None = None
