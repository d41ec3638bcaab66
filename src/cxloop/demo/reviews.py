"""Reviews of delivered orders: what the customer experienced, what they write and the stars they give."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from cxloop.demo import reference
from cxloop.demo.items import feedback_item, slot_values
from cxloop.demo.seasons import span_hours
from cxloop.demo.shop import DISPATCH_PATIENCE_H, Order
from cxloop.demo.text import Mention
from cxloop.demo.world import World


def experience_of(world: World, o: Order, rng: random.Random) -> tuple[list[Mention], float]:
    """What a customer who writes about this order talks about, and how bad it felt (mood <= 0 bad)."""
    ts = o.ts
    paid, shipped, delivered = ts["paid"], ts["shipped"], ts["delivered"]
    assert paid is not None and shipped is not None and delivered is not None
    product = o.defect or rng.choice(o.lines)[0]
    m: list[Mention] = []
    mood = 0.0
    dispatch_h = span_hours(shipped - paid)
    late = delivered > o.promised
    if dispatch_h > DISPATCH_PATIENCE_H:
        if rng.random() < min(0.85, 0.3 + (dispatch_h - DISPATCH_PATIENCE_H) / 12):
            m.append(("dispatch_speed", "negative"))
        mood -= 1.2
    elif late:
        if rng.random() < 0.7:
            m.append(("delivery_speed", "negative"))
        mood -= 0.9
    elif span_hours(delivered - o.placed) < 30 and rng.random() < 0.3:
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
    unprompted = reference.BEHAVIOUR["unprompted"]
    applies = {
        "taste": cat in reference.TASTE_CATEGORIES,
        "freshness": cat in reference.FRESH_CATEGORIES,
        "dispatch_speed": dispatch_h < 12,
    }
    base_neg = {a: p if applies.get(a, True) else 0.0 for a, p in unprompted["negative"].items()}
    if cat == "服饰":
        base_neg["description_match"] = 0.05  # sizes
    base_pos = {a: p if applies.get(a, True) else 0.0 for a, p in unprompted["positive"].items()}
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


def write_review(world: World, o: Order, rng: random.Random, items: list[dict[str, Any]]) -> None:
    """The review a customer may write after delivery, counted in the truth when written."""
    delivered = o.ts["delivered"]
    if delivered is None:
        return
    mentions, mood = experience_of(world, o, rng)
    world.experiences.append((o, mentions, mood))
    p_review = 0.3 if mood > -0.5 else 0.45
    if o.defect is not None:
        p_review = 0.6
    if rng.random() >= p_review:
        return
    at = delivered + timedelta(hours=min(240.0, rng.lognormvariate(math.log(30), 0.8)))
    if at >= world.cutoff:
        return
    product = o.defect or rng.choice(o.lines)[0]
    slots = slot_values(o, product, rng)
    text = world.composer.review(mentions, slots, defect=o.defect is not None)
    rating = stars(text.mentions, mood, rng, severe=bool(o.defect or o.damaged or o.spilled))
    title = None
    if rng.random() < 0.15:
        title = rng.choice(("好评", "满意", "推荐")) if rating >= 4 else rng.choice(("差评", "失望", "一般"))
        if text.language == "en":
            title = "Good" if rating >= 4 else "Disappointed"
    world.count(at, text.mentions)
    items.append(
        feedback_item(
            "review",
            text,
            at,
            customer=o.customer,
            order=o,
            product=product,
            title=title,
            rating=rating,
            touchpoint="use",
        )
    )


def stars(mentions: Sequence[Mention], mood: float, rng: random.Random, *, severe: bool) -> int:
    """The stars a review gives: low after a severe problem, by the mix of complaints and praise otherwise."""
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
