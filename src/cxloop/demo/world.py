"""One generation run's shared state: its period and random streams, the shop built so far, the rows."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from cxloop.demo.files import LOAD_ORDER
from cxloop.demo.seasons import HOUR_CUM, day_weight, month_start, next_month_start
from cxloop.demo.shop import Customer, Order, Plan, Product
from cxloop.demo.text import Composer, Mention


class World:
    """What the generation steps share: each step reads what earlier steps built and fills its rows."""

    # Filled by the steps, in order: master data, customers, orders, feedback.
    plan: Plan
    agents: dict[str, list[str]]
    products: list[Product]
    product_cum: list[float]
    customers_list: list[Customer]
    customer_first: list[datetime]
    customer_cum: list[float]
    order_list: list[Order]
    experiences: list[tuple[Order, list[Mention], float]]
    feedback_items: list[dict[str, Any]]

    def __init__(self, *, seed: int, months: list[str], scale: float) -> None:
        self.seed = seed
        self.months = months
        self.scale = scale
        self.start = month_start(months[0])
        self.cutoff = next_month_start(months[-1])
        self.rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in LOAD_ORDER}
        #: The complaints written into the texts, by month and aspect: the truth's negative mentions.
        self.neg_mentions: dict[str, Counter[str]] = {m: Counter() for m in months}
        self.composer = Composer(self.rng("text"))

    def rng(self, part: str) -> random.Random:
        """An independent stream per part, so changing one part leaves the others' draws alone."""
        return random.Random(f"cxloop-demo:{self.seed}:{part}")

    def n(self, full: int, minimum: int = 1) -> int:
        """``full`` scaled to this run's size, at least ``minimum``."""
        return max(minimum, round(full * self.scale))

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
            d: date = rng.choices(days, cum_weights=day_cum)[0]
            h = rng.choices(range(24), cum_weights=HOUR_CUM)[0]
            out.append(datetime.combine(d, time(h)) + timedelta(seconds=rng.randrange(3600)))
        out.sort()
        return out

    def count(self, at: datetime, mentions: Iterable[Mention]) -> None:
        """Count a text's complaints in its month: each aspect once per text, as the Pareto counts items."""
        month = f"{at:%Y-%m}"
        if month in self.neg_mentions:
            self.neg_mentions[month].update(
                {aspect for aspect, sentiment in mentions if sentiment == "negative"}
            )
