"""Generates the demo shop as import files (no database): master data, orders, events, feedback, surveys.

Determinism: every random draw comes from ``random.Random`` instances seeded from ``seed`` and a part
name, and the period is given by parameters, so the same arguments write byte-identical files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from cxloop import vocab
from cxloop.demo import phrases, reference
from cxloop.demo.text import Composer, Mention, Text

#: Import kinds in load order; each is written to ``<kind>.csv`` except feedback (JSON lines).
LOAD_ORDER: tuple[str, ...] = (
    "departments",
    "people",
    "brands",
    "suppliers",
    "products",
    "warehouses",
    "carriers",
    "customers",
    "orders",
    "order_lines",
    "customer_events",
    "feedback",
    "survey_responses",
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "departments": ("code", "name_zh", "name_en", "head"),
    "people": ("id", "name", "email", "phone", "department", "shift", "is_head", "active"),
    "brands": ("id", "name", "is_own"),
    "suppliers": ("id", "name"),
    "products": ("id", "name", "category", "supplier", "brand", "price"),
    "warehouses": ("id", "name", "region"),
    "carriers": ("id", "name"),
    "customers": (
        "id",
        "name",
        "phone",
        "email",
        "wechat",
        "tier",
        "preferred_channel",
        "consent_marketing",
        "region",
        "city",
        "first_seen_at",
    ),
    "orders": (
        "id",
        "customer",
        "brand",
        "warehouse",
        "carrier",
        "sales_channel",
        "region",
        "city",
        "status",
        "total_amount",
        "currency",
        "weight_kg",
        "placed_at",
        "promised_delivery_at",
        "paid_at",
        "picked_at",
        "sorted_at",
        "shipped_at",
        "delivered_at",
        "delivery_failed_at",
        "cancelled_at",
        "refund_requested_at",
        "refunded_at",
        "returned_at",
        "damaged",
        "lost",
        "spilled",
    ),
    "order_lines": ("order", "line_no", "product", "quantity", "unit_price", "amount", "stockout_qty"),
    "customer_events": (
        "id",
        "customer",
        "product",
        "kind",
        "occurred_at",
        "quantity",
        "page",
        "load_ms",
        "session_id",
    ),
    "feedback": (
        "id",
        "channel",
        "text",
        "title",
        "rating",
        "language",
        "occurred_at",
        "customer",
        "order",
        "product",
        "brand",
        "touchpoint",
        "agent",
        "shift",
        "first_response_at",
        "resolved_at",
        "author",
        "url",
    ),
    "survey_responses": (
        "id",
        "survey",
        "kind",
        "score",
        "comment",
        "responded_at",
        "customer",
        "order",
        "brand",
        "touchpoint",
    ),
}

#: The customer-service shift whose first responses are slow (planted problem 4).
SLOW_SHIFT = "晚班"
#: Hours from payment to hand-over after which customers start asking where their parcel is.
DISPATCH_PATIENCE_H = 24.0
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def file_name(kind: str) -> str:
    """The file name an import kind is written to."""
    return f"{kind}.jsonl" if kind == "feedback" else f"{kind}.csv"


@dataclass(frozen=True)
class DemoManifest:
    """What a generation wrote: the folder, one file per import kind (load order), truth and row counts."""

    data_dir: Path
    demo_dir: Path
    truth_path: Path
    files: dict[str, Path]
    counts: dict[str, int]
    seed: int
    period: tuple[str, str]
    truth: dict[str, Any] = field(repr=False, default_factory=dict)


# --- calendar -----------------------------------------------------------------------------------------


def month_range(end_month: str, months: int) -> list[str]:
    """The ``months`` months ending with ``end_month`` (``YYYY-MM``), oldest first."""
    try:
        year, month = (int(x) for x in end_month.split("-"))
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError as exc:
        raise ValueError(f"end_month must look like 2026-10, got {end_month!r}") from exc
    if months < 3:
        # The planted problems need a before, a during and an after month to be findable.
        raise ValueError("the demo needs at least 3 months")
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def _month_start(month: str) -> datetime:
    year, mon = (int(x) for x in month.split("-"))
    return datetime(year, mon, 1)


def _next_month_start(month: str) -> datetime:
    start = _month_start(month)
    return (start + timedelta(days=32)).replace(day=1)


# Mid-Autumn and Spring Festival move with the lunar calendar; a small table covers the demo's years.
_MID_AUTUMN = {
    2024: date(2024, 9, 17),
    2025: date(2025, 10, 6),
    2026: date(2026, 9, 25),
    2027: date(2027, 9, 15),
}
_SPRING = {2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26)}


def day_weight(day: date) -> float:
    """Relative order volume of a day: weekends, 618, Double 11/12, Mid-Autumn gifts, holidays."""
    w = 1.12 if day.weekday() >= 5 else 1.0
    m, d = day.month, day.day
    if m == 6 and d <= 18:
        w *= 2.6 if d >= 16 else 1.3
    if m == 11 and d <= 11:
        w *= 4.0 if d == 11 else 1.5
    if m == 10 and d >= 20:
        w *= 1.3  # Double 11 pre-sales start in late October
    if m == 12 and 10 <= d <= 12:
        w *= 1.8
    if m == 10 and d <= 7:
        w *= 0.85  # National Day: people travel
    if m in (7, 8):
        w *= 0.95
    mid = _MID_AUTUMN.get(day.year)
    if mid and 0 <= (mid - day).days <= 10:
        w *= 1.2
    spring = _SPRING.get(day.year)
    if spring and -4 <= (spring - day).days <= 10:
        w *= 0.6
    return w


#: Orders by hour of day: a late-morning bump and the evening peak Chinese shops know well.
HOUR_WEIGHTS = (
    2,
    1.1,
    0.6,
    0.4,
    0.3,
    0.4,
    0.8,
    1.5,
    2.5,
    3.5,
    4.5,
    4.5,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4.5,
    5.5,
    6.5,
    6.5,
    4.5,
)
_HOUR_CUM = list(accumulate(HOUR_WEIGHTS))


def _fmt(ts: datetime | None) -> str:
    return ts.strftime(TS_FORMAT) if ts else ""


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


# --- master data --------------------------------------------------------------------------------------


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


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(reference.GIVEN_CHARS) for _ in range(1 if rng.random() < 0.3 else 2))
    return rng.choice(reference.SURNAMES) + given


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158"))
    return f"+86{prefix}{rng.randrange(10_000_000, 100_000_000)}"


def _nickname(rng: random.Random) -> str:
    a, b = reference.NICKNAME_PARTS
    return rng.choice(a) + rng.choice(b) + (str(rng.randrange(1, 999)) if rng.random() < 0.4 else "")


def _people(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, str]]:
    """Department heads, back-office staff and customer-service agents in three shifts."""
    staff_per_dept = {
        "warehouse": 6,
        "logistics": 3,
        "quality": 3,
        "product": 2,
        "it": 2,
        "marketing": 2,
        "customer_service": 0,
    }
    rows: list[dict[str, Any]] = []
    heads: dict[str, str] = {}
    agents: dict[str, list[str]] = {name: [] for name, _, _ in reference.SHIFTS}
    n = 0

    def add(dept: str, *, head: bool, shift: str = "") -> str:
        nonlocal n
        n += 1
        pid = f"E{n:03d}"
        rows.append(
            {
                "id": pid,
                "name": _person_name(rng),
                "email": f"{pid.lower()}@staff.example.com",
                "phone": _phone(rng),
                "department": dept,
                "shift": shift,
                "is_head": head,
                # One former agent shows the roster keeps people who left (their old chats stay linked).
                "active": True,
            }
        )
        return pid

    for dept in vocab.DEPARTMENTS:
        heads[dept] = add(dept, head=True)
        for _ in range(staff_per_dept[dept]):
            add(dept, head=False)
    for shift, count in (("早班", 8), ("中班", 7), ("晚班", 5)):
        for _ in range(count):
            agents[shift].append(add("customer_service", head=False, shift=shift))
    return rows, agents, heads


def _products(rng: random.Random) -> tuple[list[Product], list[str]]:
    suppliers = {cat: sid for sid, _, cats in reference.SUPPLIERS for cat in cats}
    # Everyday categories sell more often than prams and dumbbells.
    cat_weight = {"食品": 1.5, "生鲜": 1.4, "个护": 1.3, "美妆": 1.1, "母婴": 1.0, "家居": 0.9, "数码": 0.9}
    products: list[Product] = []
    defect_ids: list[str] = []
    n = 0
    for category, specs in reference.CATALOGUE.items():
        for spec in specs:
            n += 1
            pid = f"P{n:03d}"
            weight = rng.lognormvariate(0.0, 0.8) * cat_weight.get(category, 0.7)
            supplier = suppliers[category]
            if supplier == reference.DEFECT_SUPPLIER and spec.short in reference.DEFECT_SHORTS:
                # Popular items, so the defect reaches enough customers to be seen even at small scale.
                weight = 3.5
                defect_ids.append(pid)
            products.append(Product(pid, spec, category, supplier, weight, round(spec.price * 100)))
    return products, defect_ids


# --- the simulation -----------------------------------------------------------------------------------


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


class _Generator:
    """One generation run; methods fill the row lists that ``generate`` writes."""

    def __init__(self, *, seed: int, months: list[str], scale: float) -> None:
        self.seed = seed
        self.months = months
        self.scale = scale
        self.start = _month_start(months[0])
        self.cutoff = _next_month_start(months[-1])
        self.rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in LOAD_ORDER}
        self.neg_mentions: dict[str, Counter[str]] = {m: Counter() for m in months}
        self.composer = Composer(self.rng("text"))

    def rng(self, part: str) -> random.Random:
        """An independent stream per part, so changing one part leaves the others' draws alone."""
        return random.Random(f"cxloop-demo:{self.seed}:{part}")

    def n(self, full: int, minimum: int = 1) -> int:
        return max(minimum, round(full * self.scale))

    # -- master data -----------------------------------------------------------------------------------

    def master(self) -> None:
        rng = self.rng("master")
        people, self.agents, heads = _people(rng)
        self.rows["departments"] = [
            {"code": code, "name_zh": zh, "name_en": en, "head": heads[code]}
            for code, (zh, en) in vocab.DEPARTMENTS.items()
        ]
        self.rows["people"] = people
        self.rows["brands"] = [
            {"id": reference.OWN_BRAND[0], "name": reference.OWN_BRAND[1], "is_own": True}
        ] + [{"id": bid, "name": name, "is_own": False} for bid, name in reference.COMPETITORS]
        self.rows["suppliers"] = [{"id": sid, "name": name} for sid, name, _ in reference.SUPPLIERS]
        self.products, defect_ids = _products(rng)
        self.rows["products"] = [
            {
                "id": p.id,
                "name": f"{reference.OWN_BRAND[1]} {p.spec.name}",
                "category": p.category,
                "supplier": p.supplier,
                "brand": reference.OWN_BRAND[0],
                "price": _money(p.price_cents),
            }
            for p in self.products
        ]
        self.rows["warehouses"] = [
            {"id": w.id, "name": w.name, "region": w.region} for w in reference.WAREHOUSES
        ]
        self.rows["carriers"] = [{"id": c.id, "name": c.name} for c in reference.CARRIERS]
        self.product_cum = list(accumulate(p.weight for p in self.products))
        n = len(self.months)
        # The slow warehouse is one of the three big ones, so its month clearly tops the Pareto.
        self.plan = Plan(
            slow_warehouse=rng.choice(("WH-SH", "WH-GZ", "WH-BJ")),
            slow_month=self.months[n // 2],
            defect_supplier=reference.DEFECT_SUPPLIER,
            defect_products=defect_ids,
            defect_from=self.months[n // 3],
            damage_carrier=rng.choice([c.id for c in reference.CARRIERS]),
            slow_shift=SLOW_SHIFT,
        )

    # -- customers -------------------------------------------------------------------------------------

    def customers(self) -> None:
        rng = self.rng("customers")
        prov_cum = list(accumulate(p.weight for p in reference.PROVINCES))
        period_days = (self.cutoff - self.start).days
        history_start = datetime(self.start.year - 3, 1, 1)
        history_days = (self.start - history_start).days
        out: list[Customer] = []
        for i in range(self.n(5000, 50)):
            province = rng.choices(reference.PROVINCES, cum_weights=prov_cum)[0]
            if rng.random() < 0.35:
                first = self.start + timedelta(days=rng.random() * period_days * 0.97)
            else:
                first = history_start + timedelta(days=rng.random() * history_days)
            first = first.replace(microsecond=0)
            has_email = rng.random() < 0.35
            out.append(
                Customer(
                    id=f"C{i + 1:05d}",
                    name=_person_name(rng),
                    province=province,
                    city=rng.choice(province.cities),
                    first_seen=first,
                    activity=rng.lognormvariate(0.0, 0.9),
                    phone=_phone(rng),
                    email=f"user{rng.randrange(10**5, 10**8)}@example.com" if has_email else "",
                    wechat=f"wxid_{rng.randrange(16**7, 16**8):x}" if rng.random() < 0.6 else "",
                    preferred_channel=rng.choices(
                        ("wechat", "phone", "app", "sms", "email"), weights=(45, 20, 20, 10, 5)
                    )[0],
                    consent=rng.random() < 0.55,
                )
            )
        # Sorted by first visit: the customers who may order at time t are a prefix of the list.
        out.sort(key=lambda c: (c.first_seen, c.id))
        self.customers_list = out
        self.customer_first = [c.first_seen for c in out]
        self.customer_cum = list(accumulate(c.activity for c in out))

    def pick_customer(self, rng: random.Random, at: datetime) -> Customer:
        """A customer known at ``at``, more active ones more often."""
        k = bisect_right(self.customer_first, at)
        k = max(k, 1)
        x = rng.random() * self.customer_cum[k - 1]
        return self.customers_list[min(bisect_right(self.customer_cum, x, 0, k), k - 1)]

    def random_times(self, rng: random.Random, count: int) -> list[datetime]:
        """``count`` sorted moments spread over the period by day weight and hour of day."""
        days = [self.start.date() + timedelta(days=i) for i in range((self.cutoff - self.start).days)]
        day_cum = list(accumulate(day_weight(d) * rng.lognormvariate(0, 0.08) for d in days))
        out = []
        for _ in range(count):
            d = rng.choices(days, cum_weights=day_cum)[0]
            h = rng.choices(range(24), cum_weights=_HOUR_CUM)[0]
            out.append(datetime.combine(d, time(h)) + timedelta(seconds=rng.randrange(3600)))
        out.sort()
        return out

    # -- orders ----------------------------------------------------------------------------------------

    def orders(self) -> None:
        rng = self.rng("orders")
        # Same day noise must differ from other parts, so orders draw their own moments.
        times = self.random_times(rng, self.n(32000, 200))
        wh_ids = [w.id for w in reference.WAREHOUSES]
        carrier_cum = list(accumulate(c.share for c in reference.CARRIERS))
        channels = [code for code, _ in reference.SALES_CHANNELS]
        ch_w = [share for _, share in reference.SALES_CHANNELS]
        self.order_list: list[Order] = []
        for i, placed in enumerate(times):
            customer = self.pick_customer(rng, placed)
            tier = customer.province.tier
            warehouse = customer.province.warehouse
            if rng.random() < 0.1:
                # Out of stock nearby: shipped from a far warehouse, with a longer promise.
                warehouse = rng.choice([w for w in wh_ids if w != warehouse])
                tier = 3
            lines = []
            used: set[str] = set()
            for _ in range(rng.choices((1, 2, 3, 4), weights=(55, 27, 12, 6))[0]):
                product = self.products[bisect_right(self.product_cum, rng.random() * self.product_cum[-1])]
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
            self._timeline(order, rng)
            self.order_list.append(order)
            if order.ts.get("paid"):
                customer.orders += 1
                customer.spend_cents += order.total_cents

    def _timeline(self, o: Order, rng: random.Random) -> None:
        """Fills every stage time; planted problems change picking, damage and defects."""
        plan = self.plan
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
            self._cut(o)
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
            gap = _hours(picked - paid)
            cancelled = paid + timedelta(hours=rng.uniform(0.2, max(0.3, gap * 0.9)))
            ts["cancelled"] = ts["refund_requested"] = cancelled
            ts["refunded"] = cancelled + timedelta(hours=rng.uniform(0.1, 3))
            self._cut(o)
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
            self._cut(o)
            return
        if rng.random() < 0.025:
            ts["delivery_failed"] = arrival
            if rng.random() < 0.15:
                returned = arrival + timedelta(days=rng.uniform(3, 5))
                ts["returned"] = returned
                ts["refunded"] = returned + timedelta(days=rng.uniform(1, 2))
                self._cut(o)
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
        self._cut(o)

    def _cut(self, o: Order) -> None:
        """Forget what happens after the end of the period: the shop has not seen it yet."""
        for key, value in o.ts.items():
            if value is not None:
                value = value.replace(microsecond=0)
                o.ts[key] = value if value < self.cutoff else None
        if o.ts["delivered"] is None:
            o.damaged = o.spilled = False
            o.defect = None
            o.wrong_item = False
        if o.lost and o.ts["refund_requested"] is None:
            o.lost = False  # nobody has declared it lost yet

    def status(self, o: Order) -> str:
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

    # -- feedback --------------------------------------------------------------------------------------

    def _count(self, at: datetime, mentions: Iterable[Mention]) -> None:
        """Count a text's complaints in its month: each aspect once per text, as the Pareto counts items."""
        month = f"{at:%Y-%m}"
        if month in self.neg_mentions:
            self.neg_mentions[month].update(
                {aspect for aspect, sentiment in mentions if sentiment == "negative"}
            )

    def _slots(self, o: Order | None, product: Product | None, rng: random.Random) -> dict[str, Any]:
        return {
            "p": product.spec.short if product else "东西",
            "d": rng.choice((2, 3, 3, 4, 5)),
            "h": rng.randint(20, 48),
            "m": rng.choice((15, 20, 25, 30, 40)),
            "carrier": o.carrier.short if o else "快递",
            "order": o.id if o else "",
        }

    def _shift_of(self, at: datetime) -> str:
        for name, start, end in reference.SHIFTS:
            if (start <= at.hour < end) if start < end else (at.hour >= start or at.hour < end):
                return name
        raise AssertionError("shifts cover the day")

    def _contact(
        self,
        rng: random.Random,
        items: list[dict[str, Any]],
        *,
        channel: str,
        scenario: str,
        at: datetime,
        o: Order | None,
        product: Product | None,
        touchpoint: str,
        customer: Customer | None,
    ) -> None:
        """A chat, ticket or call: agent by shift, first response (slow on the planted shift), resolution."""
        if at >= self.cutoff or at < self.start:
            return
        if channel == "call" and not 9 <= at.hour < 21:
            at = datetime.combine(at.date() + timedelta(days=1 if at.hour >= 21 else 0), time(9)) + timedelta(
                minutes=rng.uniform(0, 120)
            )
            if at >= self.cutoff:
                return
        shift = self._shift_of(at)
        agent = rng.choice(self.agents[shift])
        if channel == "call":
            wait_min = rng.uniform(0.3, 2.5)
        elif shift == self.plan.slow_shift:
            wait_min = rng.uniform(15, 40)
        else:
            wait_min = min(8.0, rng.lognormvariate(math.log(1.8), 0.4))
        first = at + timedelta(minutes=wait_min)
        if channel == "chat":
            resolved = first + timedelta(minutes=rng.uniform(3, 60))
        elif channel == "ticket":
            resolved = first + timedelta(hours=rng.uniform(2, 72))
        else:
            resolved = first + timedelta(minutes=rng.uniform(3, 20))
        slots = self._slots(o, product, rng)
        slots["m"] = max(1, round(wait_min))
        title = None
        if channel == "call":
            text = self.composer.call_note(scenario, slots)
        else:
            waited = wait_min > 10 and rng.random() < 0.6
            text = self.composer.chat(scenario, slots, waited=waited)
            if waited and o is not None:
                o.cs_slow_contact = True
            if channel == "ticket":
                title = self.composer.ticket_title(scenario) if text.language != "en" else "Order issue"
        self._count(at, text.mentions)
        items.append(
            self._item(
                channel=channel,
                text=text,
                title=title,
                rating=None,
                at=at,
                customer=customer or (o.customer if o else None),
                order=o,
                product=product,
                brand=reference.OWN_BRAND[0],
                touchpoint=touchpoint,
                agent=agent,
                shift=shift,
                first_response=first.replace(microsecond=0),
                resolved=resolved.replace(microsecond=0) if resolved < self.cutoff else None,
            )
        )

    @staticmethod
    def _item(
        *,
        channel: str,
        text: Text,
        title: str | None,
        rating: int | None,
        at: datetime,
        customer: Customer | None,
        order: Order | None,
        product: Product | None,
        brand: str,
        touchpoint: str | None,
        agent: str | None = None,
        shift: str | None = None,
        first_response: datetime | None = None,
        resolved: datetime | None = None,
        author: str | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        return {
            "channel": channel,
            "text": text.text,
            "title": title,
            "rating": rating,
            "language": text.language,
            "occurred_at": at.replace(microsecond=0),
            "customer": customer.id if customer else None,
            "order": order.id if order else None,
            "product": product.id if product else None,
            "brand": brand,
            "touchpoint": touchpoint,
            "agent": agent,
            "shift": shift,
            "first_response_at": first_response,
            "resolved_at": resolved,
            "author": author,
            "url": url,
            "_traditional": text.traditional,
        }

    def feedback(self) -> None:
        rng = self.rng("feedback")
        items: list[dict[str, Any]] = []
        self.experiences: list[tuple[Order, list[Mention], float]] = []
        for o in self.order_list:
            self._order_contacts(o, rng, items)
        for o in self.order_list:
            self._review(o, rng, items)
        self._app_feedback(rng, items)
        self._social(rng, items)
        self._competitor_reviews(rng, items)
        items.sort(key=lambda it: (it["occurred_at"], it["channel"], it["order"] or "", it["text"]))
        for i, item in enumerate(items):
            item["id"] = f"FB{i + 1:06d}"
        self.feedback_items = items

    def _order_contacts(self, o: Order, rng: random.Random, items: list[dict[str, Any]]) -> None:
        ts = o.ts
        paid, shipped, delivered = ts["paid"], ts["shipped"], ts["delivered"]
        product = o.defect or o.lines[0][0]
        if rng.random() < 0.05:
            at = o.placed - timedelta(hours=rng.uniform(0.1, 3))
            self._contact(
                rng,
                items,
                channel="chat",
                scenario="presale",
                at=at,
                o=None,
                product=product,
                touchpoint=rng.choice(("browse", "purchase")),
                customer=o.customer,
            )
        if paid is None:
            if rng.random() < 0.08:
                self._contact(
                    rng,
                    items,
                    channel="chat",
                    scenario="payment",
                    at=o.placed + timedelta(minutes=3),
                    o=o,
                    product=None,
                    touchpoint="purchase",
                    customer=None,
                )
            return
        dispatch_h = _hours((shipped or ts["cancelled"] or self.cutoff) - paid)
        if dispatch_h > DISPATCH_PATIENCE_H and rng.random() < 0.45:
            at = paid + timedelta(hours=rng.uniform(20, max(21.0, dispatch_h)))
            channel = "call" if rng.random() < 0.08 else ("ticket" if rng.random() < 0.15 else "chat")
            self._contact(
                rng,
                items,
                channel=channel,
                scenario="dispatch",
                at=at,
                o=o,
                product=product,
                touchpoint="wait",
                customer=None,
            )
        late = (
            (delivered or self.cutoff) > o.promised
            and dispatch_h <= DISPATCH_PATIENCE_H
            and ts["cancelled"] is None
        )
        if late and shipped is not None and rng.random() < 0.3:
            at = o.promised + timedelta(hours=rng.uniform(1, 16))
            if delivered is None or at < delivered:
                channel = "call" if rng.random() < 0.06 else "chat"
                self._contact(
                    rng,
                    items,
                    channel=channel,
                    scenario="where",
                    at=at,
                    o=o,
                    product=product,
                    touchpoint="wait",
                    customer=None,
                )
        if o.lost and ts["refund_requested"] is not None and rng.random() < 0.85:
            self._contact(
                rng,
                items,
                channel="ticket",
                scenario="lost",
                at=ts["refund_requested"] - timedelta(hours=rng.uniform(1, 20)),
                o=o,
                product=product,
                touchpoint="wait",
                customer=None,
            )
        if delivered is None:
            return
        if ts["delivery_failed"] is not None and rng.random() < 0.35:
            self._contact(
                rng,
                items,
                channel="chat",
                scenario="courier",
                at=ts["delivery_failed"] + timedelta(hours=rng.uniform(0.2, 4)),
                o=o,
                product=product,
                touchpoint="arrival",
                customer=None,
            )
        if (o.damaged or o.spilled) and rng.random() < 0.65:
            channel = rng.choices(("ticket", "chat", "call"), weights=(55, 38, 7))[0]
            self._contact(
                rng,
                items,
                channel=channel,
                scenario="damaged",
                at=delivered + timedelta(hours=rng.uniform(0.2, 6)),
                o=o,
                product=product,
                touchpoint="arrival",
                customer=None,
            )
        if o.defect is not None and rng.random() < 0.6:
            channel = rng.choices(("ticket", "chat", "call"), weights=(50, 40, 10))[0]
            self._contact(
                rng,
                items,
                channel=channel,
                scenario="defect",
                at=delivered + timedelta(days=rng.uniform(1, 4)),
                o=o,
                product=o.defect,
                touchpoint="use",
                customer=None,
            )
        if o.wrong_item and rng.random() < 0.7:
            self._contact(
                rng,
                items,
                channel="chat",
                scenario="wrong",
                at=delivered + timedelta(hours=rng.uniform(0.5, 24)),
                o=o,
                product=product,
                touchpoint="arrival",
                customer=None,
            )
        if o.return_reason and o.return_reason != "defect" and ts["refund_requested"] and rng.random() < 0.35:
            self._contact(
                rng,
                items,
                channel=rng.choice(("ticket", "chat")),
                scenario="refund",
                at=ts["refund_requested"] + timedelta(days=rng.uniform(1, 4)),
                o=o,
                product=product,
                touchpoint="after_sales",
                customer=None,
            )

    def _experience(self, o: Order, rng: random.Random) -> tuple[list[Mention], float]:
        """What a customer who writes about this order talks about, and how bad it felt (mood <= 0 bad)."""
        ts = o.ts
        paid, shipped, delivered = ts["paid"], ts["shipped"], ts["delivered"]
        assert paid is not None and shipped is not None and delivered is not None
        product = o.defect or rng.choice(o.lines)[0]
        m: list[Mention] = []
        mood = 0.0
        dispatch_h = _hours(shipped - paid)
        late = delivered > o.promised
        if dispatch_h > DISPATCH_PATIENCE_H:
            if rng.random() < min(0.85, 0.3 + (dispatch_h - DISPATCH_PATIENCE_H) / 12):
                m.append(("dispatch_speed", "negative"))
            mood -= 1.2
        elif late:
            if rng.random() < 0.7:
                m.append(("delivery_speed", "negative"))
            mood -= 0.9
        elif _hours(delivered - o.placed) < 30 and rng.random() < 0.3:
            m.append(("delivery_speed", "positive"))
            mood += 0.2
        elif rng.random() < 0.015 + 0.02 * (o.tier == 3):
            m.append(("delivery_speed", "negative"))
        if o.damaged or o.spilled:
            if rng.random() < 0.9:
                m.append(("damage_loss", "negative"))
            mood -= 2.0
        if o.defect is not None:
            m.append(("product_quality", "negative"))
            mood -= 2.5
        if o.wrong_item:
            if rng.random() < 0.9:
                m.append(("wrong_missing_item", "negative"))
            mood -= 1.4
        if ts["delivery_failed"] is not None and rng.random() < 0.4:
            m.append(("courier_service", "negative"))
            mood -= 0.6
        if o.cs_slow_contact and rng.random() < 0.4:
            m.append(("cs_response", "negative"))
            mood -= 0.5
        if o.return_reason == "size":
            m.append(("description_match", "negative"))
            mood -= 0.6
        cat = product.category
        base_neg = {
            "product_quality": 0.04,
            "description_match": 0.05 if cat == "服饰" else 0.015,
            "price_value": 0.02,
            "packaging": 0.012,
            "courier_service": 0.01,
            "cs_attitude": 0.004,
            "taste": 0.06 if cat in reference.TASTE_CATEGORIES else 0.0,
            "freshness": 0.07 if cat in reference.FRESH_CATEGORIES else 0.0,
        }
        base_pos = {
            "product_quality": 0.35,
            "price_value": 0.15,
            "packaging": 0.08,
            "description_match": 0.08,
            "taste": 0.4 if cat in reference.TASTE_CATEGORIES else 0.0,
            "freshness": 0.35 if cat in reference.FRESH_CATEGORIES else 0.0,
            "courier_service": 0.03,
            "dispatch_speed": 0.04 if dispatch_h < 12 else 0.0,
            "cs_attitude": 0.02,
        }
        seen = {a for a, _ in m}
        for aspect, p in base_neg.items():
            if aspect not in seen and rng.random() < p:
                m.append((aspect, "negative"))
                seen.add(aspect)
                mood -= 0.7
        for aspect, p in base_pos.items():
            # Unhappy customers praise less.
            if aspect not in seen and rng.random() < p * (0.5 if mood < -1 else 1.0):
                m.append((aspect, "positive"))
                seen.add(aspect)
                mood += 0.15
        rng.shuffle(m)
        neg = [x for x in m if x[1] == "negative"]
        pos = [x for x in m if x[1] == "positive"]
        return (neg[:3] + pos[:2])[:4], mood

    def _review(self, o: Order, rng: random.Random, items: list[dict[str, Any]]) -> None:
        delivered = o.ts["delivered"]
        if delivered is None:
            return
        mentions, mood = self._experience(o, rng)
        self.experiences.append((o, mentions, mood))
        p_review = 0.3 if mood > -0.5 else 0.45
        if o.defect is not None:
            p_review = 0.6
        if rng.random() >= p_review:
            return
        at = delivered + timedelta(hours=min(240.0, rng.lognormvariate(math.log(30), 0.8)))
        if at >= self.cutoff:
            return
        product = o.defect or rng.choice(o.lines)[0]
        slots = self._slots(o, product, rng)
        text = self.composer.review(mentions, slots, defect=o.defect is not None)
        rating = self._rating(text.mentions, mood, rng, severe=bool(o.defect or o.damaged or o.spilled))
        title = None
        if rng.random() < 0.15:
            title = (
                rng.choice(("好评", "满意", "推荐")) if rating >= 4 else rng.choice(("差评", "失望", "一般"))
            )
            if text.language == "en":
                title = "Good" if rating >= 4 else "Disappointed"
        self._count(at, text.mentions)
        items.append(
            self._item(
                channel="review",
                text=text,
                title=title,
                rating=rating,
                at=at,
                customer=o.customer,
                order=o,
                product=product,
                brand=reference.OWN_BRAND[0],
                touchpoint="use",
            )
        )

    @staticmethod
    def _rating(mentions: Sequence[Mention], mood: float, rng: random.Random, *, severe: bool) -> int:
        neg = sum(1 for _, s in mentions if s == "negative")
        pos = sum(1 for _, s in mentions if s == "positive")
        if severe:
            return rng.choices((1, 2, 3), weights=(65, 28, 7))[0]
        if neg and pos:
            return rng.choices((2, 3, 4), weights=(20, 50, 30))[0]
        if neg:
            return rng.choices((1, 2, 3), weights=(35, 40, 25))[0]
        if pos:
            return rng.choices((4, 5), weights=(18, 82))[0]
        return rng.choices((3, 4, 5), weights=(25, 40, 35))[0] if mood > -1 else 3

    def _app_feedback(self, rng: random.Random, items: list[dict[str, Any]]) -> None:
        for at in self.random_times(rng, self.n(350, 10)):
            aspect, sentiment, template = rng.choice(phrases.APP_FEEDBACK)
            product = rng.choice(self.products)
            text = self.composer.fixed(template, [(aspect, sentiment)], self._slots(None, product, rng))
            rating = rng.choice((4, 5)) if sentiment == "positive" else rng.choice((1, 2, 2, 3))
            self._count(at, text.mentions)
            items.append(
                self._item(
                    channel="app",
                    text=text,
                    title=None,
                    rating=rating,
                    at=at,
                    customer=self.pick_customer(rng, at),
                    order=None,
                    product=None,
                    brand=reference.OWN_BRAND[0],
                    touchpoint=rng.choice(("browse", "purchase")),
                )
            )

    def _social(self, rng: random.Random, items: list[dict[str, Any]]) -> None:
        for i, at in enumerate(self.random_times(rng, self.n(380, 10))):
            product = rng.choice(self.products)
            slots = self._slots(None, product, rng)
            if rng.random() < 0.6:
                aspect, sentiment, template = rng.choice(phrases.SOCIAL_OWN)
                brand = reference.OWN_BRAND[0]
            else:
                aspect, sentiment, template = rng.choice(phrases.SOCIAL_COMP)
                brand, slots["brand"] = rng.choice(reference.COMPETITORS)
            text = self.composer.fixed(template, [(aspect, sentiment)], slots)
            if brand == reference.OWN_BRAND[0]:
                self._count(at, text.mentions)
            items.append(
                self._item(
                    channel="social",
                    text=text,
                    title=None,
                    rating=None,
                    at=at,
                    customer=None,
                    order=None,
                    product=None,
                    brand=brand,
                    touchpoint=None,
                    author="@" + _nickname(rng),
                    url=f"https://social.example.com/p/{self.seed}{i:05d}",
                )
            )

    def _competitor_reviews(self, rng: random.Random, items: list[dict[str, Any]]) -> None:
        # Each competitor has its own profile, so the comparison page has something to show.
        profiles = {
            "COMP-A": {
                ("delivery_speed", "positive"): 0.45,
                ("price_value", "negative"): 0.2,
                ("product_quality", "positive"): 0.3,
                ("product_quality", "negative"): 0.06,
                ("packaging", "positive"): 0.1,
                ("cs_attitude", "positive"): 0.05,
            },
            "COMP-B": {
                ("price_value", "positive"): 0.4,
                ("product_quality", "negative"): 0.16,
                ("delivery_speed", "negative"): 0.12,
                ("product_quality", "positive"): 0.2,
                ("packaging", "negative"): 0.06,
                ("cs_response", "negative"): 0.05,
            },
        }
        for i, at in enumerate(self.random_times(rng, self.n(900, 10))):
            brand = rng.choice(("COMP-A", "COMP-B"))
            product = rng.choice(self.products)
            m = [mention for mention, p in profiles[brand].items() if rng.random() < p]
            aspects: set[str] = set()
            mentions = []
            for aspect, sentiment in m:
                if aspect not in aspects:
                    aspects.add(aspect)
                    mentions.append((aspect, sentiment))
            slots = self._slots(None, product, rng)
            text = self.composer.review(mentions, slots)
            rating = self._rating(text.mentions, 0.0, rng, severe=False)
            items.append(
                self._item(
                    channel="review",
                    text=text,
                    title=None,
                    rating=rating,
                    at=at,
                    customer=None,
                    order=None,
                    product=None,
                    brand=brand,
                    touchpoint="use",
                    author=_nickname(rng),
                    url=f"https://mall.example.com/review/{brand.lower()}/{self.seed}{i:05d}",
                )
            )

    # -- surveys ---------------------------------------------------------------------------------------

    def surveys(self) -> None:
        rng = self.rng("surveys")
        rows: list[dict[str, Any]] = []
        for o, mentions, mood in self.experiences:
            if rng.random() >= 0.22:
                continue
            delivered = o.ts["delivered"]
            assert delivered is not None
            at = (delivered + timedelta(hours=rng.uniform(2, 72))).replace(microsecond=0)
            if at >= self.cutoff:
                continue
            noise = rng.gauss(0, 0.6)
            base = {
                "customer": o.customer.id,
                "order": o.id,
                "brand": reference.OWN_BRAND[0],
                "touchpoint": "arrival",
            }
            survey = "post_delivery"
            rows.append(
                {
                    "survey": survey,
                    "kind": "csat",
                    "score": _clamp(4.5 + mood + noise, 1, 5),
                    "comment": "",
                    "responded_at": at,
                    **base,
                }
            )
            if rng.random() < 0.7:
                score = _clamp(8.6 + 2.2 * mood + 1.5 * noise, 0, 10)
                rows.append(
                    {
                        "survey": survey,
                        "kind": "nps",
                        "score": score,
                        "comment": "",
                        "responded_at": at + timedelta(seconds=rng.randint(5, 40)),
                        **base,
                    }
                )
            if rng.random() < 0.5:
                # CES here: 7 = "very easy" (agree that it was easy), 1 = very hard.
                score = _clamp(5.9 + 1.2 * mood + noise, 1, 7)
                rows.append(
                    {
                        "survey": survey,
                        "kind": "ces",
                        "score": score,
                        "comment": "",
                        "responded_at": at + timedelta(seconds=rng.randint(41, 90)),
                        **base,
                    }
                )
            if rng.random() < 0.3:
                neg = [x for x in mentions if x[1] == "negative"]
                product = o.defect or o.lines[0][0]
                if neg:
                    text = self.composer.review(
                        neg[:2], self._slots(o, product, rng), defect=o.defect is not None
                    )
                    comment = text.text
                    self._count(at, text.mentions)
                else:
                    comment = rng.choice(phrases.SURVEY_POS)
                rows.append(
                    {
                        "survey": survey,
                        "kind": "open",
                        "score": "",
                        "comment": comment,
                        "responded_at": at + timedelta(seconds=rng.randint(91, 200)),
                        **base,
                    }
                )
        # Cases closed by customer service get a one-question CSAT; slow first answers cost points.
        for item in self.feedback_items:
            if (
                item["channel"] not in ("chat", "ticket")
                or item["resolved_at"] is None
                or item["order"] is None
            ):
                continue
            if rng.random() >= 0.3:
                continue
            at = (item["resolved_at"] + timedelta(hours=rng.uniform(0.2, 24))).replace(microsecond=0)
            if at >= self.cutoff:
                continue
            wait = _hours(item["first_response_at"] - item["occurred_at"]) * 60
            score = _clamp(4.4 - (1.2 if wait > 10 else 0.0) + rng.gauss(0, 0.7), 1, 5)
            rows.append(
                {
                    "survey": "case_closed",
                    "kind": "csat",
                    "score": score,
                    "comment": "",
                    "responded_at": at,
                    "customer": item["customer"],
                    "order": item["order"],
                    "brand": reference.OWN_BRAND[0],
                    "touchpoint": "after_sales",
                }
            )
        rows.sort(key=lambda r: (r["responded_at"], r["order"] or "", r["kind"], r["survey"]))
        for i, row in enumerate(rows):
            row["id"] = f"SR{i + 1:06d}"
        self.rows["survey_responses"] = rows

    # -- browse and cart events ------------------------------------------------------------------------

    def events(self) -> None:
        rng = self.rng("events")
        target = self.n(50000, 100)
        rows: list[dict[str, Any]] = []
        by_cat: dict[str, list[Product]] = defaultdict(list)
        for p in self.products:
            by_cat[p.category].append(p)
        categories = list(by_cat)
        cat_cum = list(accumulate(sum(p.weight for p in by_cat[c]) for c in categories))
        for n_session, start in enumerate(self.random_times(rng, max(1, target // 4)), start=1):
            customer = self.pick_customer(rng, start)
            session = f"SES{n_session:06d}"
            web = rng.random() < 0.15
            base_ms = 900.0 if web else 620.0
            peak = 1.1 if day_weight(start.date()) > 1.5 else 1.0
            category = rng.choices(categories, cum_weights=cat_cum)[0]
            at = start
            steps: list[tuple[str, Product | None, int | None, str]] = []
            if rng.random() < 0.45:
                q = rng.choice(by_cat[category]).spec.short
                steps.append(("search", None, None, f"/search?q={q}"))
            viewed = rng.sample(by_cat[category], k=min(len(by_cat[category]), rng.randint(1, 5)))
            for p in viewed:
                steps.append(("view", p, None, f"/product/{p.id}"))
            carted: list[Product] = []
            if rng.random() < 0.35:
                p = rng.choice(viewed)
                carted.append(p)
                steps.append(
                    ("add_to_cart", p, rng.choices((1, 2, 3), weights=(75, 20, 5))[0], f"/product/{p.id}")
                )
                if rng.random() < 0.1:
                    steps.append(("remove_from_cart", p, 1, "/cart"))
                    carted.clear()
                elif rng.random() < 0.45:
                    steps.append(("checkout", None, None, "/checkout"))
            for kind, product, qty, page in steps:
                extra = {"search": 150.0, "view": 100.0, "checkout": 250.0}.get(kind, 0.0)
                load = (base_ms + extra) * peak * rng.lognormvariate(0, 0.35)
                rows.append(
                    {
                        "customer": customer.id,
                        "product": product.id if product else "",
                        "kind": kind,
                        "occurred_at": at.replace(microsecond=0),
                        "quantity": qty if qty is not None else "",
                        "page": page,
                        "load_ms": round(load),
                        "session_id": session,
                    }
                )
                at += timedelta(seconds=rng.uniform(5, 120))
        rows = [r for r in rows if r["occurred_at"] < self.cutoff]
        rows.sort(key=lambda r: (r["occurred_at"], r["session_id"]))
        for i, row in enumerate(rows):
            row["id"] = f"EV{i + 1:07d}"
        self.rows["customer_events"] = rows

    # -- rows for customers and orders -----------------------------------------------------------------

    def order_rows(self) -> None:
        orders, lines = [], []
        for o in self.order_list:
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
                    "status": self.status(o),
                    "total_amount": _money(o.total_cents),
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
                        "unit_price": _money(unit),
                        "amount": _money(unit * qty),
                        "stockout_qty": stockout,
                    }
                )
        self.rows["orders"] = orders
        self.rows["order_lines"] = lines
        spends = sorted((c.spend_cents for c in self.customers_list), reverse=True)
        vip_floor = spends[max(0, len(spends) // 20 - 1)] if spends else 0
        customers = []
        for c in sorted(self.customers_list, key=lambda c: c.id):
            if c.spend_cents >= vip_floor and c.spend_cents > 0:
                tier = "vip"
            elif c.first_seen >= self.start and c.orders <= 1:
                tier = "new"
            else:
                tier = "returning"
            customers.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "phone": c.phone,
                    "email": c.email,
                    "wechat": c.wechat,
                    "tier": tier,
                    "preferred_channel": c.preferred_channel,
                    "consent_marketing": c.consent,
                    "region": c.province.name,
                    "city": c.city,
                    "first_seen_at": c.first_seen,
                }
            )
        self.rows["customers"] = customers
        self.rows["feedback"] = self.feedback_items


def _clamp(x: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(x)))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime(TS_FORMAT)
    return str(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def _write_jsonl(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            obj = {}
            for c in columns:
                v = row.get(c)
                obj[c] = v.strftime(TS_FORMAT) if isinstance(v, datetime) else v
            fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def generate(
    *, data_dir: Path, seed: int = 42, end_month: str = "2026-10", months: int = 6, scale: float = 1.0
) -> DemoManifest:
    """Write the demo shop's import files to ``data_dir/demo`` and its truth to ``data_dir/demo-truth.json``."""
    if not scale > 0:
        raise ValueError("scale must be positive")
    month_list = month_range(end_month, months)
    g = _Generator(seed=seed, months=month_list, scale=scale)
    g.master()
    g.customers()
    g.orders()
    g.feedback()
    g.surveys()
    g.events()
    g.order_rows()

    data_dir = Path(data_dir)
    demo_dir = data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    counts: dict[str, int] = {}
    for kind in LOAD_ORDER:
        path = demo_dir / file_name(kind)
        if kind == "feedback":
            _write_jsonl(path, COLUMNS[kind], g.rows[kind])
        else:
            _write_csv(path, COLUMNS[kind], g.rows[kind])
        files[kind] = path
        counts[kind] = len(g.rows[kind])

    plan = g.plan
    pareto = {
        month: dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        for month, counter in g.neg_mentions.items()
    }
    truth: dict[str, Any] = {
        "seed": seed,
        "scale": scale,
        "period": {"start": month_list[0], "end": month_list[-1]},
        "problems": [
            {
                "id": "warehouse_picking_slow",
                "warehouse": plan.slow_warehouse,
                "month": plan.slow_month,
                "stage": "picking",
                "aspect": "dispatch_speed",
                "department": "warehouse",
                "indicator": "picking_hours",
            },
            {
                "id": "supplier_quality_defect",
                "supplier": plan.defect_supplier,
                "products": plan.defect_products,
                "from_month": plan.defect_from,
                "aspect": "product_quality",
                "department": "quality",
                "indicator": "negative_share",
            },
            {
                "id": "carrier_damage",
                "carrier": plan.damage_carrier,
                "aspect": "damage_loss",
                "department": "logistics",
                "indicator": "damage_rate",
            },
            {
                "id": "cs_shift_slow",
                "shift": plan.slow_shift,
                "department": "customer_service",
                "aspect": "cs_response",
                "indicator": "cs_first_response_minutes",
            },
        ],
        "pareto": {"month": plan.slow_month, "top_aspect": "dispatch_speed"},
        "counts": counts,
        # What the generator wrote into the texts (own brand, every channel incl. survey comments):
        # the ground truth an aspect analyser's monthly Pareto should approximate.
        "negative_mentions": pareto,
        "files": {kind: file_name(kind) for kind in LOAD_ORDER},
    }
    truth_path = data_dir / "demo-truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return DemoManifest(
        data_dir=data_dir,
        demo_dir=demo_dir,
        truth_path=truth_path,
        files=files,
        counts=counts,
        seed=seed,
        period=(month_list[0], month_list[-1]),
        truth=truth,
    )


def file_digest(paths: Iterable[Path]) -> str:
    """One SHA-256 over the files' names and bytes (the determinism check)."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
