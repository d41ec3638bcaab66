"""The simulated shop's things: products, customers, orders and the problems planted in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cxloop.demo import reference

SLOW_SHIFT = "晚班"
#: Hours from payment to hand-over after which customers start asking where their parcel is.
DISPATCH_PATIENCE_H = 24.0


@dataclass
class Product:
    """A generated product and what the simulation needs to know about it."""

    id: str
    spec: reference.ProductSpec
    category: str
    supplier: str
    weight: float
    price_cents: int


@dataclass
class Customer:
    """A generated customer."""

    id: str
    name: str
    province: reference.Province
    city: str
    first_seen: datetime
    activity: float
    phone: str
    email: str
    wechat: str
    preferred_channel: str
    consent: bool
    orders: int = 0
    spend_cents: int = 0


@dataclass
class Order:
    """A simulated order: its timeline, lines and the experience the customer had."""

    id: str
    customer: Customer
    warehouse: str
    carrier: reference.Carrier
    tier: int
    sales_channel: str
    placed: datetime
    promised: datetime
    lines: list[tuple[Product, int, int, int]]  # product, quantity, unit price cents, stock-out qty
    ts: dict[str, datetime | None] = field(default_factory=dict)
    damaged: bool = False
    lost: bool = False
    spilled: bool = False
    defect: Product | None = None
    wrong_item: bool = False
    return_reason: str | None = None
    cs_slow_contact: bool = False

    @property
    def total_cents(self) -> int:
        return sum(q * price for _, q, price, _ in self.lines)


@dataclass
class Plan:
    """The planted problems for one generation."""

    slow_warehouse: str
    slow_month: str
    defect_supplier: str
    defect_products: list[str]
    defect_from: str
    damage_carrier: str
    slow_shift: str
