"""Browse and cart events: sessions of searches, product views, carts and checkouts."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import accumulate
from typing import Any

from cxloop.demo.seasons import day_weight
from cxloop.demo.shop import Product
from cxloop.demo.world import World


def browse_events(world: World) -> None:
    """Sessions of searches, views, carts and checkouts, with page load times (slower at peaks)."""
    rng = world.rng("events")
    target = world.n(50000, 100)
    rows: list[dict[str, Any]] = []
    by_cat: dict[str, list[Product]] = defaultdict(list)
    for p in world.products:
        by_cat[p.category].append(p)
    categories = list(by_cat)
    cat_cum = list(accumulate(sum(p.weight for p in by_cat[c]) for c in categories))
    for n_session, start in enumerate(world.random_times(rng, max(1, target // 4)), start=1):
        customer = world.pick_customer(rng, start)
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
    rows = [r for r in rows if r["occurred_at"] < world.cutoff]
    rows.sort(key=lambda r: (r["occurred_at"], r["session_id"]))
    for i, row in enumerate(rows):
        row["id"] = f"EV{i + 1:07d}"
    world.rows["customer_events"] = rows
