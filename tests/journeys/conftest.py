"""A small shop for journey tests: customers, products, orders; quiet hours off, SMS on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxloop.catalog.models import Product
from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.journeys import service
from cxloop.orders.models import Order, OrderLine

T0 = datetime(2026, 11, 30, 10, 0)


@pytest.fixture(autouse=True)
def _messaging_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine's clock stands at T0, so events "now" and timers are in the test's own time.
    monkeypatch.setattr(service, "clock", lambda: T0)
    monkeypatch.setenv("CXLOOP_SMS_PROVIDER", "aliyun")
    monkeypatch.setenv("CXLOOP_MESSAGE_QUIET_START", "00:00")
    monkeypatch.setenv("CXLOOP_MESSAGE_QUIET_END", "00:00")
    monkeypatch.setenv("CXLOOP_JOURNEYS_MAX_EVENT_AGE_HOURS", "100000")
    get_settings.cache_clear()


@dataclass
class Shop:
    """Helpers that write the shop's data in one session."""

    db: Session
    n: int = 0

    def customer(self, **kw: Any) -> Customer:
        self.n += 1
        values: dict[str, Any] = {
            "external_id": f"C{self.n}",
            "name": f"客户{self.n}",
            "phone": f"1380000{self.n:04d}",
            "consent_marketing": True,
            "tier": "new",
        }
        values.update(kw)
        row = Customer(**values)
        self.db.add(row)
        self.db.flush()
        return row

    def order(self, customer: Customer, *, placed: datetime = T0, amount: str = "99.00", **kw: Any) -> Order:
        self.n += 1
        product = Product(external_id=f"P{self.n}", name=f"绿茶{self.n}", category="茶叶")
        self.db.add(product)
        self.db.flush()
        row = Order(
            external_id=f"DD{self.n}",
            customer_id=customer.id,
            placed_at=placed,
            total_amount=Decimal(amount),
            **kw,
        )
        self.db.add(row)
        self.db.flush()
        self.db.add(
            OrderLine(order_id=row.id, line_no=1, product_id=product.id, quantity=1, amount=Decimal(amount))
        )
        self.db.flush()
        return row


@pytest.fixture
def shop(db_session: Session) -> Shop:
    """The shop on the test database, with the default journeys loaded."""
    service.ensure_defaults(db_session=db_session)
    return Shop(db_session)
