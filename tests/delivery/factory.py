"""A shop shaped like a real marketplace export: placed, paid, handed to the carrier, delivered and a
promised *date* (stored as the end of that day), no picking or sorting times, cancellations only in the
status column, and a business time zone far from Shanghai."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from cxloop.logistics.models import Carrier, Warehouse
from cxloop.orders.models import Order
from cxloop.org.models import Department

FEB = datetime(2018, 2, 5, 10, 0)
MAR = datetime(2018, 3, 5, 10, 0)
TZ = "America/Sao_Paulo"


def end_of_day(day: datetime) -> datetime:
    """A date-only promise as the import stores it: the last moment of that day."""
    return datetime.combine(day.date(), time.max)


def order(
    n: int,
    placed: datetime,
    *,
    ship_h: float = 24.0,
    carrier_h: float | None = 48.0,
    promise_days: int = 4,
    status: str = "delivered",
    warehouse: Warehouse,
    carrier: Carrier,
    region: str = "SP",
) -> Order:
    """One export row: payment after 1 h, handed over ``ship_h`` later, delivered ``carrier_h`` later."""
    paid = placed + timedelta(hours=1)
    shipped = paid + timedelta(hours=ship_h)
    delivered = None if carrier_h is None else shipped + timedelta(hours=carrier_h)
    return Order(
        external_id=f"X{n}", warehouse_id=warehouse.id, carrier_id=carrier.id, region=region, status=status,
        placed_at=placed, paid_at=paid, shipped_at=shipped, delivered_at=delivered,
        promised_delivery_at=end_of_day(placed + timedelta(days=promise_days)),
    )  # fmt: skip


def build(session: Session) -> dict[str, int]:
    """February history (20 normal orders) and a March with known outcomes; returns the March ids."""
    wh = Warehouse(external_id="SP-1", name="São Paulo DC")
    fast, slow = Carrier(external_id="FAST", name="Fast"), Carrier(external_id="SLOW", name="Slow")
    session.add_all([wh, fast, slow])
    session.flush()
    rows = [
        order(i, FEB + timedelta(hours=3 * i), warehouse=wh, carrier=fast if i % 2 else slow)
        for i in range(20)
    ]
    ids: dict[str, Order] = {}
    # March: 6 late because the slow carrier took 8 days; 2 late because the warehouse took 6 days.
    for i in range(6):
        ids[f"carrier_late_{i}"] = order(
            100 + i, MAR + timedelta(hours=i), carrier_h=190.0, warehouse=wh, carrier=slow
        )
    for i in range(2):
        ids[f"warehouse_late_{i}"] = order(
            110 + i, MAR + timedelta(hours=i), ship_h=150.0, warehouse=wh, carrier=fast
        )
    # Delivered at 05:00 on the promised day itself: on time (read as 00:00 it would be late).
    ids["same_day"] = order(120, MAR, ship_h=2.0, carrier_h=40.0, promise_days=2, warehouse=wh, carrier=fast)
    # Three days ahead of its promise: early.
    ids["early"] = order(121, MAR, ship_h=2.0, carrier_h=10.0, promise_days=5, warehouse=wh, carrier=fast)
    # Cancelled only in the status column (no cancelled_at), never delivered, promise long gone.
    ids["status_cancelled"] = order(122, MAR, carrier_h=None, status="canceled", warehouse=wh, carrier=slow)
    ids["unavailable"] = order(123, MAR, carrier_h=None, status="unavailable", warehouse=wh, carrier=slow)
    # Still in transit: one with its promise ahead, one whose promise has passed.
    ids["open"] = order(
        124,
        MAR + timedelta(days=20),
        carrier_h=None,
        promise_days=10,
        warehouse=wh,
        carrier=fast,
        status="shipped",
    )
    ids["late_open"] = order(
        125,
        MAR + timedelta(days=1),
        carrier_h=None,
        promise_days=3,
        warehouse=wh,
        carrier=slow,
        status="shipped",
    )
    # The order that sets "now" (the latest placed) and is itself delivered on time.
    ids["latest"] = order(126, MAR + timedelta(days=21), carrier_h=30.0, warehouse=wh, carrier=fast)
    session.add_all([*rows, *ids.values()])
    session.commit()
    return {k: o.id for k, o in ids.items()}


# ---------------------------------------------------------------- early warning

START = datetime(2026, 1, 5, 9, 0)


def warning_shop(session: Session) -> dict[str, int]:
    """300 finished orders (the slow carrier is late two times in three), then three open orders: on the
    slow and the fast carrier, and one paid 20 hours ago and not yet handed over (the warehouse's)."""
    rng = random.Random(3)
    logistics = Department(code="logistics", name_zh="物流部", name_en="Logistics")
    wh = Warehouse(external_id="W1", name="一号仓")
    fast, slow = Carrier(external_id="FAST", name="快"), Carrier(external_id="SLOW", name="慢")
    session.add_all([logistics, wh, fast, slow])
    session.flush()
    rows = []
    for i in range(300):
        carrier = slow if i % 3 == 0 else fast
        placed = START + timedelta(hours=5 * i)
        shipped = placed + timedelta(hours=rng.uniform(2, 10))
        transit = rng.uniform(60, 110) if carrier is slow else rng.uniform(15, 40)
        rows.append(Order(
            external_id=f"H{i}", warehouse_id=wh.id, carrier_id=carrier.id, region="上海", placed_at=placed,
            paid_at=placed + timedelta(minutes=10), shipped_at=shipped, delivered_at=shipped + timedelta(hours=transit),
            promised_delivery_at=placed + timedelta(hours=72), status="delivered",
        ))  # fmt: skip
    now = START + timedelta(hours=5 * 300)
    open_orders = {}
    for name, carrier in (("open_slow", slow), ("open_fast", fast)):
        placed = now - timedelta(hours=20)
        open_orders[name] = Order(
            external_id=name, warehouse_id=wh.id, carrier_id=carrier.id, region="上海", placed_at=placed,
            paid_at=placed + timedelta(minutes=10), shipped_at=placed + timedelta(hours=5),
            promised_delivery_at=placed + timedelta(hours=72), status="shipped",
        )  # fmt: skip
    placed = now - timedelta(hours=20)
    open_orders["open_stuck"] = Order(
        external_id="open_stuck", warehouse_id=wh.id, carrier_id=fast.id, region="上海", placed_at=placed,
        paid_at=placed + timedelta(minutes=10), promised_delivery_at=placed + timedelta(hours=72), status="paid",
    )  # fmt: skip
    session.add_all([*rows, *open_orders.values()])
    session.commit()
    return {k: o.id for k, o in open_orders.items()} | {"logistics": logistics.id}
