"""A feedback item's row and the slot values its text is filled with."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from cxloop.demo import reference
from cxloop.demo.shop import Order, Product
from cxloop.demo.text import Text


def slot_values(o: Order | None, product: Product | None, rng: random.Random) -> dict[str, Any]:
    """The values a snippet's slots are filled with for this order and product."""
    return {
        "p": product.spec.short if product else "东西",
        "d": rng.choice((2, 3, 3, 4, 5)),
        "h": rng.randint(20, 48),
        "m": rng.choice((15, 20, 25, 30, 40)),
        "carrier": o.carrier.short if o else "快递",
        "order": o.id if o else "",
    }


def feedback_item(channel: str, text: Text, at: datetime, **columns: Any) -> dict[str, Any]:
    """A feedback file row, the shop's own unless a ``brand`` column says otherwise.

    ``columns`` are the row's other columns by name (title, rating, customer, order, touchpoint, ...);
    a column not given stays empty, and the simulation's customer, order or product stands as its id.
    ``_traditional`` (not a column) marks a text in Traditional script.
    """
    row: dict[str, Any] = {
        "channel": channel,
        "text": text.text,
        "language": text.language,
        "occurred_at": at.replace(microsecond=0),
        "brand": reference.OWN_BRAND[0],
    }
    row.update({name: getattr(value, "id", value) for name, value in columns.items()})
    row["_traditional"] = text.traditional
    return row
