"""Customers' chats, tickets and calls about their orders, answered by the shifts (one of them slow)."""

from __future__ import annotations

import math
import random
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from cxloop.demo import reference
from cxloop.demo.items import feedback_item, slot_values
from cxloop.demo.seasons import span_hours
from cxloop.demo.shop import DISPATCH_PATIENCE_H, Customer, Order, Product
from cxloop.demo.world import World


def _shift_of(at: datetime) -> str:
    for name, start, end in reference.SHIFTS:
        if (start <= at.hour < end) if start < end else (at.hour >= start or at.hour < end):
            return name
    raise AssertionError("shifts cover the day")


def add_contact(
    world: World,
    rng: random.Random,
    items: list[dict[str, Any]],
    channel: str,
    scenario: str,
    at: datetime,
    *,
    o: Order | None,
    product: Product | None,
    touchpoint: str,
    customer: Customer | None = None,
) -> None:
    """A chat, ticket or call: agent by shift, first response (slow on the planted shift), resolution."""
    if at >= world.cutoff or at < world.start:
        return
    if channel == "call" and not 9 <= at.hour < 21:
        at = datetime.combine(at.date() + timedelta(days=1 if at.hour >= 21 else 0), time(9)) + timedelta(
            minutes=rng.uniform(0, 120)
        )
        if at >= world.cutoff:
            return
    shift = _shift_of(at)
    agent = rng.choice(world.agents[shift])
    if channel == "call":
        wait_min = rng.uniform(0.3, 2.5)
    elif shift == world.plan.slow_shift:
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
    slots = slot_values(o, product, rng)
    slots["m"] = max(1, round(wait_min))
    title = None
    if channel == "call":
        text = world.composer.call_note(scenario, slots)
    else:
        waited = wait_min > 10 and rng.random() < 0.6
        text = world.composer.chat(scenario, slots, waited=waited)
        if waited and o is not None:
            o.cs_slow_contact = True
        if channel == "ticket":
            title = world.composer.ticket_title(scenario) if text.language != "en" else "Order issue"
    world.count(at, text.mentions)
    items.append(
        feedback_item(
            channel,
            text,
            at,
            customer=customer or (o.customer if o else None),
            order=o,
            product=product,
            title=title,
            touchpoint=touchpoint,
            agent=agent,
            shift=shift,
            first_response_at=first.replace(microsecond=0),
            resolved_at=resolved.replace(microsecond=0) if resolved < world.cutoff else None,
        )
    )


def add_order_contacts(world: World, o: Order, rng: random.Random, items: list[dict[str, Any]]) -> None:
    """The chats, tickets and calls an order's customer starts, by what went wrong with it."""
    ts = o.ts
    paid, shipped, delivered = ts["paid"], ts["shipped"], ts["delivered"]
    product = o.defect or o.lines[0][0]
    # Each contact is about this order and its product unless it says otherwise.
    contact = partial(add_contact, world, rng, items, o=o, product=product)
    if rng.random() < 0.05:
        at = o.placed - timedelta(hours=rng.uniform(0.1, 3))
        contact(
            "chat", "presale", at, o=None, touchpoint=rng.choice(("browse", "purchase")), customer=o.customer
        )
    if paid is None:
        if rng.random() < 0.08:
            contact("chat", "payment", o.placed + timedelta(minutes=3), product=None, touchpoint="purchase")
        return
    dispatch_h = span_hours((shipped or ts["cancelled"] or world.cutoff) - paid)
    if dispatch_h > DISPATCH_PATIENCE_H and rng.random() < 0.45:
        at = paid + timedelta(hours=rng.uniform(20, max(21.0, dispatch_h)))
        channel = "call" if rng.random() < 0.08 else ("ticket" if rng.random() < 0.15 else "chat")
        contact(channel, "dispatch", at, touchpoint="wait")
    late = (
        (delivered or world.cutoff) > o.promised
        and dispatch_h <= DISPATCH_PATIENCE_H
        and ts["cancelled"] is None
    )
    if late and shipped is not None and rng.random() < 0.3:
        at = o.promised + timedelta(hours=rng.uniform(1, 16))
        if delivered is None or at < delivered:
            channel = "call" if rng.random() < 0.06 else "chat"
            contact(channel, "where", at, touchpoint="wait")
    if o.lost and ts["refund_requested"] is not None and rng.random() < 0.85:
        contact(
            "ticket", "lost", ts["refund_requested"] - timedelta(hours=rng.uniform(1, 20)), touchpoint="wait"
        )
    if delivered is None:
        return
    if ts["delivery_failed"] is not None and rng.random() < 0.35:
        contact(
            "chat",
            "courier",
            ts["delivery_failed"] + timedelta(hours=rng.uniform(0.2, 4)),
            touchpoint="arrival",
        )
    if (o.damaged or o.spilled) and rng.random() < 0.65:
        channel = rng.choices(("ticket", "chat", "call"), weights=(55, 38, 7))[0]
        contact(channel, "damaged", delivered + timedelta(hours=rng.uniform(0.2, 6)), touchpoint="arrival")
    if o.defect is not None and rng.random() < 0.6:
        channel = rng.choices(("ticket", "chat", "call"), weights=(50, 40, 10))[0]
        contact(
            channel,
            "defect",
            delivered + timedelta(days=rng.uniform(1, 4)),
            product=o.defect,
            touchpoint="use",
        )
    if o.wrong_item and rng.random() < 0.7:
        contact("chat", "wrong", delivered + timedelta(hours=rng.uniform(0.5, 24)), touchpoint="arrival")
    if o.return_reason and o.return_reason != "defect" and ts["refund_requested"] and rng.random() < 0.35:
        contact(
            rng.choice(("ticket", "chat")),
            "refund",
            ts["refund_requested"] + timedelta(days=rng.uniform(1, 4)),
            touchpoint="after_sales",
        )
