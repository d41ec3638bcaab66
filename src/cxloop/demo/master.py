"""Master data: departments and staff, brands, suppliers, products, warehouses, carriers, customers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from cxloop import vocab
from cxloop.demo import reference
from cxloop.demo.seasons import money
from cxloop.demo.shop import SLOW_SHIFT, Customer, Plan, Product
from cxloop.demo.world import World


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(reference.GIVEN_CHARS) for _ in range(1 if rng.random() < 0.3 else 2))
    return rng.choice(reference.SURNAMES) + given


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158"))
    return f"+86{prefix}{rng.randrange(10_000_000, 100_000_000)}"


def nickname(rng: random.Random) -> str:
    """A social-media nickname."""
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


def build_master(world: World) -> None:
    """Departments, staff, brands, suppliers, products, warehouses and carriers; and the planted problems."""
    rng = world.rng("master")
    people, world.agents, heads = _people(rng)
    world.rows["departments"] = [
        {"code": code, "name_zh": zh, "name_en": en, "head": heads[code]}
        for code, (zh, en) in vocab.DEPARTMENTS.items()
    ]
    world.rows["people"] = people
    world.rows["brands"] = [
        {"id": reference.OWN_BRAND[0], "name": reference.OWN_BRAND[1], "is_own": True}
    ] + [{"id": bid, "name": name, "is_own": False} for bid, name in reference.COMPETITORS]
    world.rows["suppliers"] = [{"id": sid, "name": name} for sid, name, _ in reference.SUPPLIERS]
    world.products, defect_ids = _products(rng)
    world.rows["products"] = [
        {
            "id": p.id,
            "name": f"{reference.OWN_BRAND[1]} {p.spec.name}",
            "category": p.category,
            "supplier": p.supplier,
            "brand": reference.OWN_BRAND[0],
            "price": money(p.price_cents),
        }
        for p in world.products
    ]
    world.rows["warehouses"] = [
        {"id": w.id, "name": w.name, "region": w.region} for w in reference.WAREHOUSES
    ]
    world.rows["carriers"] = [{"id": c.id, "name": c.name} for c in reference.CARRIERS]
    world.product_cum = list(accumulate(p.weight for p in world.products))
    n = len(world.months)
    # The slow warehouse is one of the three big ones, so its month clearly tops the Pareto.
    world.plan = Plan(
        slow_warehouse=rng.choice(("WH-SH", "WH-GZ", "WH-BJ")),
        slow_month=world.months[n // 2],
        defect_supplier=reference.DEFECT_SUPPLIER,
        defect_products=defect_ids,
        defect_from=world.months[n // 3],
        damage_carrier=rng.choice([c.id for c in reference.CARRIERS]),
        slow_shift=SLOW_SHIFT,
    )


def build_customers(world: World) -> None:
    """The customers: a third new in the period, the rest known from the three years before."""
    rng = world.rng("customers")
    prov_cum = list(accumulate(p.weight for p in reference.PROVINCES))
    period_days = (world.cutoff - world.start).days
    history_start = datetime(world.start.year - 3, 1, 1)
    history_days = (world.start - history_start).days
    out: list[Customer] = []
    for i in range(world.n(5000, 50)):
        province = rng.choices(reference.PROVINCES, cum_weights=prov_cum)[0]
        if rng.random() < 0.35:
            first = world.start + timedelta(days=rng.random() * period_days * 0.97)
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
    world.customers_list = out
    world.customer_first = [c.first_seen for c in out]
    world.customer_cum = list(accumulate(c.activity for c in out))


def customer_rows(world: World) -> None:
    """The customers' rows, with the tier their orders earned (the top twentieth by spend are VIPs)."""
    spends = sorted((c.spend_cents for c in world.customers_list), reverse=True)
    vip_floor = spends[max(0, len(spends) // 20 - 1)] if spends else 0
    customers = []
    for c in sorted(world.customers_list, key=lambda c: c.id):
        if c.spend_cents >= vip_floor and c.spend_cents > 0:
            tier = "vip"
        elif c.first_seen >= world.start and c.orders <= 1:
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
    world.rows["customers"] = customers
