"""Orders: lines, carriers and every stage's time, with the planted slow picking, damage and defects."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from datetime import datetime, time, timedelta
from itertools import accumulate

from cxloop.demo import reference
from cxloop.demo.seasons import day_weight, money, span_hours
from cxloop.demo.shop import Order
from cxloop.demo.world import World


def _open_time(ts: datetime) -> datetime:
    """The warehouse works 08:00-22:00; work arriving outside waits for the morning."""
    if ts.hour < 8:
        return datetime.combine(ts.date(), time(8))
    if ts.hour >= 22:
        return datetime.combine(ts.date() + timedelta(days=1), time(8))
    return ts


def _work(start: datetime, hours: float) -> datetime:
    """``start`` plus ``hours`` of warehouse work, continuing the next morning past 22:00."""
    start = _open_time(start)
    end = start + timedelta(hours=hours)
    close = datetime.combine(start.date(), time(22))
    if end > close:
        end = datetime.combine(start.date() + timedelta(days=1), time(8)) + (end - close)
    return end


def _delivery_window(ts: datetime, rng: random.Random) -> datetime:
    """Couriers deliver 09:00-21:00."""
    if ts.hour < 9:
        return datetime.combine(ts.date(), time(9)) + timedelta(minutes=rng.uniform(0, 180))
    if ts.hour >= 21:
        return datetime.combine(ts.date() + timedelta(days=1), time(9)) + timedelta(
            minutes=rng.uniform(0, 180)
        )
    return ts


def simulate_orders(world: World) -> None:
    """The period's orders: who, which warehouse and carrier, the lines, and every stage's time."""
    rng = world.rng("orders")
    # Same day noise must differ from other parts, so orders draw their own moments.
    times = world.random_times(rng, world.n(32000, 200))
    wh_ids = [w.id for w in reference.WAREHOUSES]
    carrier_cum = list(accumulate(c.share for c in reference.CARRIERS))
    channels = [code for code, _ in reference.SALES_CHANNELS]
    ch_w = [share for _, share in reference.SALES_CHANNELS]
    world.order_list = []
    for i, placed in enumerate(times):
        customer = world.pick_customer(rng, placed)
        tier = customer.province.tier
        warehouse = customer.province.warehouse
        if rng.random() < 0.1:
            # Out of stock nearby: shipped from a far warehouse, with a longer promise.
            warehouse = rng.choice([w for w in wh_ids if w != warehouse])
            tier = 3
        lines = []
        used: set[str] = set()
        for _ in range(rng.choices((1, 2, 3, 4), weights=(55, 27, 12, 6))[0]):
            product = world.products[bisect_right(world.product_cum, rng.random() * world.product_cum[-1])]
            if product.id in used:
                continue
            used.add(product.id)
            qty = rng.choices((1, 2, 3, 4), weights=(70, 20, 7, 3))[0]
            discount = 1.0
            w = day_weight(placed.date())
            if w > 1.25:
                discount = rng.choice((0.85, 0.88, 0.9, 0.95))
            elif rng.random() < 0.15:
                discount = 0.95
            unit = round(product.price_cents * discount)
            stockout = rng.randint(1, qty) if rng.random() < 0.015 else 0
            lines.append((product, qty, unit, stockout))
        weight = sum(p.spec.weight_kg * q for p, q, _, _ in lines)
        if weight > 5 and rng.random() < 0.4:
            carrier = reference.CARRIERS[-1]  # the freight carrier takes heavy parcels
        else:
            carrier = rng.choices(reference.CARRIERS, cum_weights=carrier_cum)[0]
        # The shop promises next-day/2-day/3-day delivery by distance for orders placed before 16:00.
        days = tier + (1 if placed.hour >= 16 else 0)
        promised = datetime.combine(placed.date() + timedelta(days=days), time(22))
        order = Order(
            id=f"DD{placed:%y%m}{i + 1:06d}",
            customer=customer,
            warehouse=warehouse,
            carrier=carrier,
            tier=tier,
            sales_channel=rng.choices(channels, weights=ch_w)[0],
            placed=placed,
            promised=promised,
            lines=lines,
        )
        _timeline(world, order, rng)
        world.order_list.append(order)
        if order.ts.get("paid"):
            customer.orders += 1
            customer.spend_cents += order.total_cents


def _timeline(world: World, o: Order, rng: random.Random) -> None:
    """Fills every stage time; planted problems change picking, damage and defects."""
    plan = world.plan
    ts: dict[str, datetime | None] = dict.fromkeys(
        (
            *("paid", "picked", "sorted", "shipped", "delivered"),
            *("delivery_failed", "cancelled", "refund_requested", "refunded", "returned"),
        )
    )
    o.ts = ts
    r = rng.random()
    if r < 0.04:
        ts["cancelled"] = o.placed + timedelta(hours=rng.uniform(0.25, 24))  # never paid
        _cut(world, o)
        return
    pay_min = rng.expovariate(1 / 2.0) + 0.3 if r < 0.94 else rng.uniform(10, 360)
    paid = o.placed + timedelta(minutes=pay_min)
    ts["paid"] = paid
    slow = o.warehouse == plan.slow_warehouse and f"{paid:%Y-%m}" == plan.slow_month
    if slow:
        picked = _open_time(paid + timedelta(hours=rng.uniform(20, 40)))
    else:
        hours = rng.lognormvariate(math.log(2.6), 0.35)
        if _open_time(paid).weekday() >= 5:
            hours *= 1.2
        if day_weight(paid.date()) > 1.5:
            hours *= 1.4
        picked = _work(paid + timedelta(minutes=rng.uniform(0, 30)), hours)
    # Customers give up on a stuck order; some always change their mind before picking.
    cancel_p = 0.12 if slow else 0.012
    if rng.random() < cancel_p:
        gap = span_hours(picked - paid)
        cancelled = paid + timedelta(hours=rng.uniform(0.2, max(0.3, gap * 0.9)))
        ts["cancelled"] = ts["refund_requested"] = cancelled
        ts["refunded"] = cancelled + timedelta(hours=rng.uniform(0.1, 3))
        _cut(world, o)
        return
    ts["picked"] = picked
    sorted_at = _work(picked, min(4.0, max(0.3, rng.lognormvariate(0.0, 0.4))))
    ts["sorted"] = sorted_at
    ready = sorted_at + timedelta(minutes=20)
    shipped = None
    for day_offset in range(3):
        for hour in (11, 16, 21):
            slot = datetime.combine(ready.date() + timedelta(days=day_offset), time(hour))
            if slot >= ready:
                shipped = slot + timedelta(minutes=rng.uniform(0, 40))
                break
        if shipped:
            break
    assert shipped is not None
    ts["shipped"] = shipped
    transit = {1: 16.0, 2: 36.0, 3: 58.0}[o.tier] * o.carrier.speed * rng.lognormvariate(0, 0.15)
    if shipped.weekday() >= 5:
        transit += 4
    if rng.random() < 0.04:
        transit += rng.uniform(18, 40)  # weather, a jammed hub: every carrier has such days
    if day_weight(shipped.date()) > 1.5:
        transit *= 1.15
    arrival = _delivery_window(shipped + timedelta(hours=transit), rng)
    if rng.random() < 0.0025:
        o.lost = True
        requested = arrival + timedelta(days=rng.uniform(2, 3))
        ts["refund_requested"] = requested
        ts["refunded"] = requested + timedelta(days=rng.uniform(0.5, 2))
        _cut(world, o)
        return
    if rng.random() < 0.025:
        ts["delivery_failed"] = arrival
        if rng.random() < 0.15:
            returned = arrival + timedelta(days=rng.uniform(3, 5))
            ts["returned"] = returned
            ts["refunded"] = returned + timedelta(days=rng.uniform(1, 2))
            _cut(world, o)
            return
        arrival = _delivery_window(arrival + timedelta(hours=rng.uniform(20, 28)), rng)
    ts["delivered"] = arrival
    damage_p = 0.07 if o.carrier.id == plan.damage_carrier else 0.007
    o.damaged = rng.random() < damage_p
    if not o.damaged and any(p.spec.liquid for p, _, _, _ in o.lines):
        o.spilled = rng.random() < 0.012
    if f"{o.placed:%Y-%m}" >= plan.defect_from:
        for product, _, _, _ in o.lines:
            if product.id in plan.defect_products and rng.random() < 0.5:
                o.defect = product
                break
    o.wrong_item = rng.random() < 0.008
    if o.damaged or o.spilled:
        if rng.random() < 0.6:
            requested = arrival + timedelta(hours=rng.uniform(1, 8))
            ts["refund_requested"] = requested
            ts["refunded"] = requested + timedelta(days=rng.uniform(0.5, 2))
    elif o.defect is not None and rng.random() < 0.55:
        o.return_reason = "defect"
    elif rng.random() < 0.03:
        o.return_reason = "size" if o.lines[0][0].category == "服饰" else "changed_mind"
    if o.return_reason:
        requested = arrival + timedelta(days=rng.uniform(1, 5))
        returned = requested + timedelta(days=rng.uniform(1, 3))
        ts["refund_requested"], ts["returned"] = requested, returned
        ts["refunded"] = returned + timedelta(days=rng.uniform(0.5, 3))
    _cut(world, o)


def _cut(world: World, o: Order) -> None:
    """Forget what happens after the end of the period: the shop has not seen it yet."""
    for key, value in o.ts.items():
        if value is not None:
            value = value.replace(microsecond=0)
            o.ts[key] = value if value < world.cutoff else None
    if o.ts["delivered"] is None:
        o.damaged = o.spilled = False
        o.defect = None
        o.wrong_item = False
    if o.lost and o.ts["refund_requested"] is None:
        o.lost = False  # nobody has declared it lost yet


def order_status(world: World, o: Order) -> str:
    """The latest thing that happened to the order (a cancelled order stays cancelled)."""
    if o.ts.get("cancelled") is not None:
        return "cancelled"
    order = (
        *("paid", "picked", "sorted", "shipped", "delivery_failed", "delivered"),
        *("refund_requested", "returned", "refunded", "cancelled"),
    )
    best, best_ts = "placed", o.placed
    for kind in order:
        ts = o.ts.get(kind)
        if ts is not None and ts >= best_ts:
            best, best_ts = kind, ts
    return best


def order_rows(world: World) -> None:
    """The orders' and order lines' rows."""
    orders, lines = [], []
    for o in world.order_list:
        ts = o.ts
        orders.append(
            {
                "id": o.id,
                "customer": o.customer.id,
                "brand": reference.OWN_BRAND[0],
                "warehouse": o.warehouse,
                "carrier": o.carrier.id,
                "sales_channel": o.sales_channel,
                "region": o.customer.province.name,
                "city": o.customer.city,
                "status": order_status(world, o),
                "total_amount": money(o.total_cents),
                "currency": "CNY",
                "weight_kg": f"{sum(p.spec.weight_kg * q for p, q, _, _ in o.lines):.2f}",
                "placed_at": o.placed,
                "promised_delivery_at": o.promised,
                **{f"{k}_at": ts[k] for k in ("paid", "picked", "sorted", "shipped", "delivered")},
                "delivery_failed_at": ts["delivery_failed"],
                "cancelled_at": ts["cancelled"],
                "refund_requested_at": ts["refund_requested"],
                "refunded_at": ts["refunded"],
                "returned_at": ts["returned"],
                "damaged": o.damaged,
                "lost": o.lost,
                "spilled": o.spilled,
            }
        )
        for n, (product, qty, unit, stockout) in enumerate(o.lines, start=1):
            lines.append(
                {
                    "order": o.id,
                    "line_no": n,
                    "product": product.id,
                    "quantity": qty,
                    "unit_price": money(unit),
                    "amount": money(unit * qty),
                    "stockout_qty": stockout,
                }
            )
    world.rows["orders"] = orders
    world.rows["order_lines"] = lines
