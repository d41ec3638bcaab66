"""Every feedback item of the demo: order contacts and reviews, app feedback, social posts, competitors' reviews."""

from __future__ import annotations

import random
from typing import Any

from cxloop.demo import phrases, reference
from cxloop.demo.contacts import add_order_contacts
from cxloop.demo.items import feedback_item, slot_values
from cxloop.demo.master import nickname
from cxloop.demo.reviews import stars, write_review
from cxloop.demo.world import World


def write_feedback(world: World) -> None:
    """Every feedback item: contacts and reviews of the orders, app feedback, posts, competitors' reviews."""
    rng = world.rng("feedback")
    items: list[dict[str, Any]] = []
    world.experiences = []
    for o in world.order_list:
        add_order_contacts(world, o, rng, items)
    for o in world.order_list:
        write_review(world, o, rng, items)
    _app_feedback(world, rng, items)
    _social(world, rng, items)
    _competitor_reviews(world, rng, items)
    items.sort(key=lambda it: (it["occurred_at"], it["channel"], it.get("order") or "", it["text"]))
    for i, item in enumerate(items):
        item["id"] = f"FB{i + 1:06d}"
    world.feedback_items = world.rows["feedback"] = items


def _app_feedback(world: World, rng: random.Random, items: list[dict[str, Any]]) -> None:
    for at in world.random_times(rng, world.n(350, 10)):
        aspect, sentiment, template = rng.choice(phrases.APP_FEEDBACK)
        product = rng.choice(world.products)
        text = world.composer.fixed(template, [(aspect, sentiment)], slot_values(None, product, rng))
        rating = rng.choice((4, 5)) if sentiment == "positive" else rng.choice((1, 2, 2, 3))
        world.count(at, text.mentions)
        items.append(
            feedback_item(
                "app",
                text,
                at,
                customer=world.pick_customer(rng, at),
                rating=rating,
                touchpoint=rng.choice(("browse", "purchase")),
            )
        )


def _social(world: World, rng: random.Random, items: list[dict[str, Any]]) -> None:
    for i, at in enumerate(world.random_times(rng, world.n(380, 10))):
        product = rng.choice(world.products)
        slots = slot_values(None, product, rng)
        if rng.random() < 0.6:
            aspect, sentiment, template = rng.choice(phrases.SOCIAL_OWN)
            brand = reference.OWN_BRAND[0]
        else:
            aspect, sentiment, template = rng.choice(phrases.SOCIAL_COMP)
            brand, slots["brand"] = rng.choice(reference.COMPETITORS)
        text = world.composer.fixed(template, [(aspect, sentiment)], slots)
        if brand == reference.OWN_BRAND[0]:
            world.count(at, text.mentions)
        items.append(
            feedback_item(
                "social",
                text,
                at,
                brand=brand,
                author="@" + nickname(rng),
                url=f"https://social.example.com/p/{world.seed}{i:05d}",
            )
        )


def _competitor_reviews(world: World, rng: random.Random, items: list[dict[str, Any]]) -> None:
    # Each competitor has its own profile, so the comparison page has something to show.
    profiles = {
        brand: {(aspect, sentiment): p for aspect, sentiment, p in rows}
        for brand, rows in reference.BEHAVIOUR["competitor_reviews"].items()
    }
    for i, at in enumerate(world.random_times(rng, world.n(900, 10))):
        brand = rng.choice(("COMP-A", "COMP-B"))
        product = rng.choice(world.products)
        m = [mention for mention, p in profiles[brand].items() if rng.random() < p]
        aspects: set[str] = set()
        mentions = []
        for aspect, sentiment in m:
            if aspect not in aspects:
                aspects.add(aspect)
                mentions.append((aspect, sentiment))
        slots = slot_values(None, product, rng)
        text = world.composer.review(mentions, slots)
        rating = stars(text.mentions, 0.0, rng, severe=False)
        items.append(
            feedback_item(
                "review",
                text,
                at,
                brand=brand,
                rating=rating,
                touchpoint="use",
                author=nickname(rng),
                url=f"https://mall.example.com/review/{brand.lower()}/{world.seed}{i:05d}",
            )
        )
