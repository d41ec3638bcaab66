"""Survey answers in the survey file: after delivery (CSAT, NPS, CES, a comment) and after a closed case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cxloop.demo import phrases, reference
from cxloop.demo.items import slot_values
from cxloop.demo.seasons import span_hours
from cxloop.demo.world import World


def survey_rows(world: World) -> None:
    """The survey file's rows: post-delivery CSAT, NPS, CES and comments, and CSAT after a closed case."""
    rng = world.rng("surveys")
    rows: list[dict[str, Any]] = []
    for o, mentions, mood in world.experiences:
        if rng.random() >= 0.22:
            continue
        delivered = o.ts["delivered"]
        assert delivered is not None
        at = (delivered + timedelta(hours=rng.uniform(2, 72))).replace(microsecond=0)
        if at >= world.cutoff:
            continue
        noise = rng.gauss(0, 0.6)
        base = {
            "customer": o.customer.id,
            "order": o.id,
            "brand": reference.OWN_BRAND[0],
            "touchpoint": "arrival",
        }
        rows.append(_answer("csat", clamp(4.5 + mood + noise, 1, 5), at, base))
        if rng.random() < 0.7:
            score = clamp(8.6 + 2.2 * mood + 1.5 * noise, 0, 10)
            rows.append(_answer("nps", score, at + timedelta(seconds=rng.randint(5, 40)), base))
        if rng.random() < 0.5:
            # CES here: 7 = "very easy" (agree that it was easy), 1 = very hard.
            score = clamp(5.9 + 1.2 * mood + noise, 1, 7)
            rows.append(_answer("ces", score, at + timedelta(seconds=rng.randint(41, 90)), base))
        if rng.random() < 0.3:
            neg = [x for x in mentions if x[1] == "negative"]
            product = o.defect or o.lines[0][0]
            if neg:
                text = world.composer.review(
                    neg[:2], slot_values(o, product, rng), defect=o.defect is not None
                )
                comment = text.text
                world.count(at, text.mentions)
            else:
                comment = rng.choice(phrases.SURVEY_POS)
            rows.append(
                _answer("open", "", at + timedelta(seconds=rng.randint(91, 200)), base, comment=comment)
            )
    # Cases closed by customer service get a one-question CSAT; slow first answers cost points.
    for item in world.feedback_items:
        if item["channel"] not in ("chat", "ticket") or item["resolved_at"] is None or item["order"] is None:
            continue
        if rng.random() >= 0.3:
            continue
        at = (item["resolved_at"] + timedelta(hours=rng.uniform(0.2, 24))).replace(microsecond=0)
        if at >= world.cutoff:
            continue
        wait = span_hours(item["first_response_at"] - item["occurred_at"]) * 60
        score = clamp(4.4 - (1.2 if wait > 10 else 0.0) + rng.gauss(0, 0.7), 1, 5)
        about = {
            "customer": item["customer"],
            "order": item["order"],
            "brand": reference.OWN_BRAND[0],
            "touchpoint": "after_sales",
        }
        rows.append(_answer("csat", score, at, about, survey="case_closed"))
    rows.sort(key=lambda r: (r["responded_at"], r["order"] or "", r["kind"], r["survey"]))
    for i, row in enumerate(rows):
        row["id"] = f"SR{i + 1:06d}"
    world.rows["survey_responses"] = rows


def _answer(
    kind: str,
    score: int | str,
    at: datetime,
    about: dict[str, Any],
    *,
    survey: str = "post_delivery",
    comment: str = "",
) -> dict[str, Any]:
    """One answer row: ``survey``'s question of ``kind`` answered at ``at``; ``about`` names the customer,
    order, brand and touchpoint."""
    return {"survey": survey, "kind": kind, "score": score, "comment": comment, "responded_at": at, **about}


def clamp(x: float, lo: int, hi: int) -> int:
    """``x`` rounded and kept within ``lo``..``hi`` (a score on the survey's scale)."""
    return max(lo, min(hi, round(x)))
