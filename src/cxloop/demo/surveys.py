"""The demo's customers and surveys: invitations over the demo's history and the answers customers give.

The history before the journeys' replay (``cxloop.journeys.service.DEMO_REPLAY_DAYS``) is invited here;
the replay's own survey journeys invite for its last days, so each survey is sent once.

Invitations go through :func:`cxloop.surveys.service.invite` (fatigue rules included) and answers
through :func:`cxloop.surveys.service.answer_invitation`, the same code as the public page, so the
results pages, indicators and recovery cases after ``make demo`` are what real answers produce.
Response rates are realistic: about one in four answers, more among VIPs and among customers whose
order went wrong (which the non-response check then points out).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.demo import phrases
from cxloop.demo.text import fill_generic
from cxloop.demo.truth import add_negative_mentions
from cxloop.feedback.models import FeedbackItem
from cxloop.orders.models import Order
from cxloop.surveys import service
from cxloop.surveys.models import Survey, SurveyInvitation

#: Most invitations of each kind sent over the demo's history (keeps the step to a few seconds).
MAX_AFTER_DELIVERY = 900
MAX_AFTER_CHAT = 200
RELATIONSHIP_SAMPLE = 100
#: Chance that an invited customer answers, by tier, plus a bonus when the order went wrong.
ANSWER_RATE = {"vip": 0.34, "returning": 0.25, "new": 0.18}
PROBLEM_BONUS = 0.12


def _text(rng: random.Random, bank: dict[str, tuple[str, ...]], aspect: str) -> str:
    return fill_generic(rng.choice(bank[aspect]))


def _answers(rng: random.Random, key: str, problem: bool) -> dict[str, Any]:
    """What one customer answers to survey ``key``: scores lower after a problem, text now and then."""
    if key == "relationship_nps":
        nps = rng.choice([0, 2, 4, 5, 6, 6, 7, 8]) if problem else rng.choice([6, 7, 8, 8, 9, 9, 10, 10])
        out: dict[str, Any] = {"nps": nps}
        if nps <= 6 and rng.random() < 0.6:
            out["unhappy_aspect"] = rng.choice(["delivery_speed", "price_value", "cs_response"])
            out["unhappy"] = _text(rng, phrases.NEG, out["unhappy_aspect"])
        elif nps >= 9 and rng.random() < 0.4:
            out["pleased"] = _text(rng, phrases.POS, rng.choice(["product_quality", "delivery_speed"]))
        if rng.random() < 0.5:
            out["improve"] = rng.sample(
                ["delivery", "quality", "price", "service", "app"], k=rng.randint(1, 2)
            )
        return out
    csat = rng.choice([1, 1, 2, 2, 3, 4]) if problem else rng.choice([3, 4, 4, 5, 5, 5])
    out = {"csat": csat}
    if key == "case_closed":
        out["ces"] = rng.choice([1, 2, 3, 4]) if csat <= 2 else rng.choice([4, 5, 6, 7, 7])
    if key == "after_chat":
        out["attitude"] = max(1, min(5, csat + rng.choice([-1, 0, 0, 1])))
    if csat <= 3 and rng.random() < 0.7:
        aspect = rng.choice(
            ["delivery_speed", "damage_loss", "packaging"]
            if key == "after_delivery"
            else ["cs_response", "cs_attitude", "returns_refunds"]
        )
        out["unhappy_aspect"] = aspect
        out["unhappy"] = _text(rng, phrases.NEG, aspect)
    elif csat >= 4 and key != "case_closed" and rng.random() < 0.35:
        aspect = rng.choice(
            ["delivery_speed", "packaging", "product_quality"]
            if key == "after_delivery"
            else ["cs_attitude", "cs_response"]
        )
        out["pleased"] = _text(rng, phrases.POS, aspect)
    return out


def _sample(rng: random.Random, rows: list[Any], most: int) -> list[Any]:
    if len(rows) <= most:
        return rows
    return sorted(rng.sample(rows, most), key=lambda row: row[-1])


def replay_start(session: Session) -> datetime | None:
    """Where the demo's journeys replay begins: their survey journeys invite from then on, this step before."""
    from cxloop.journeys.service import DEMO_REPLAY_DAYS

    latest = session.scalar(select(func.max(Order.placed_at)))
    return latest - timedelta(days=DEMO_REPLAY_DAYS) if latest is not None else None


def _invite_history(session: Session, rng: random.Random) -> dict[str, int]:
    """Invitations the default journeys would have sent before their replay: after delivery and chats,
    each quarter. The replay's own days are left to the journeys, so no survey is sent twice."""
    counts = {"sent": 0, "skipped": 0}
    cutoff = replay_start(session)

    def count(result: service.InviteResult) -> None:
        counts["sent" if result.sent else "skipped"] += 1

    orders: list[Any] = list(
        session.execute(
            select(Order.id, Order.customer_id, Order.delivered_at)
            .where(Order.delivered_at.is_not(None), Order.customer_id.is_not(None))
            .order_by(Order.delivered_at)
        )
    )
    chats: list[Any] = list(
        session.execute(
            select(FeedbackItem.id, FeedbackItem.customer_id, FeedbackItem.resolved_at)
            .where(
                FeedbackItem.channel == "chat",
                FeedbackItem.customer_id.is_not(None),
                FeedbackItem.resolved_at.is_not(None),
            )
            .order_by(FeedbackItem.resolved_at)
        )
    )
    events: list[tuple[datetime, str, int, int | None]] = []
    for order_id, customer_id, delivered in _sample(rng, orders, MAX_AFTER_DELIVERY):
        events.append((delivered + timedelta(hours=2), "after_delivery", customer_id, order_id))
    for _, customer_id, resolved in _sample(rng, chats, MAX_AFTER_CHAT):
        events.append((resolved + timedelta(minutes=10), "after_chat", customer_id, None))
    if orders:
        first: datetime = orders[0][-1]
        last: datetime = orders[-1][-1]
        customers = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        quarter = datetime(first.year, 3 * ((first.month - 1) // 3) + 1, 1) + timedelta(days=95)
        while quarter <= last:
            start = datetime(quarter.year, 3 * ((quarter.month - 1) // 3) + 1, 1, 10)
            for customer_id in rng.sample(customers, min(RELATIONSHIP_SAMPLE, len(customers))):
                events.append((start, "relationship_nps", customer_id, None))
            quarter += timedelta(days=92)
    events = sorted((e for e in events if cutoff is None or e[0] < cutoff), key=lambda e: e[0])
    for at, key, customer_id, order_id in events:
        count(
            service.invite(
                session,
                survey_key=key,
                customer_id=customer_id,
                trigger="relationship" if key == "relationship_nps" else key,
                now=at,
                order_id=order_id,
            )
        )
    session.commit()
    return counts


def simulate_survey_answers(*, db_session: Session, seed: int = 7) -> dict[str, Any]:
    """Send the demo's survey invitations over its history and let a realistic share of customers answer."""
    rng = random.Random(seed)
    service.ensure_default_surveys(db_session=db_session)
    invited = _invite_history(db_session, rng)
    return {**invited, **_answer_open_invitations(db_session, rng)}


def answer_journey_invitations(*, db_session: Session, seed: int = 8) -> dict[str, Any]:
    """After the journeys' replay: customers answer its survey invitations at the same rates, and their
    answers are analysed and counted like the earlier ones (from the replay's first day on)."""
    from cxloop.pipeline import after_data

    since = replay_start(db_session)
    answered = _answer_open_invitations(db_session, random.Random(seed), since=since)
    report = after_data(db_session=db_session, since=since, evaluate=False) if answered["answered"] else None
    return {**answered, "analysed": report.analysed if report else 0}


def _answer_time(row: Any, rng: random.Random, demo_end: datetime | None) -> tuple[datetime, bool] | None:
    """When this invited customer answers and whether their order went wrong (None: no answer, or not
    before the demo's end)."""
    late = bool(row.promised_delivery_at and row.delivered_at and row.delivered_at > row.promised_delivery_at)
    problem = late or bool(row.damaged) or bool(row.lost)
    if row.key != "after_delivery":
        problem = rng.random() < 0.2
    rate = ANSWER_RATE.get(row.tier or "new", 0.2) + (PROBLEM_BONUS if problem else 0.0)
    if rng.random() >= rate:
        return None
    # A customer who was reminded answers after the reminder (the journey reminds only the silent ones).
    start = row.reminded_at or row.sent_at
    at: datetime = min(
        start + timedelta(minutes=rng.randint(5, 48 * 60)), row.expires_at - timedelta(minutes=1)
    )
    return None if demo_end is not None and at > demo_end else (at, problem)


def answer_invitations(session: Session, rng: random.Random, invitation_ids: Sequence[int]) -> dict[str, Any]:
    """Let a realistic share of the customers of these invitations answer, and analyse and count their
    answers (a later demo step's invitations: the analysis and rollup steps have run already)."""
    from cxloop.pipeline import after_data

    if not invitation_ids:
        return {"answered": 0, "recovery_cases": 0, "analysed": 0}
    since = session.scalar(
        select(func.min(SurveyInvitation.sent_at)).where(SurveyInvitation.id.in_(invitation_ids))
    )
    answered = _answer_open_invitations(session, rng, ids=invitation_ids)
    report = after_data(db_session=session, since=since, evaluate=False) if answered["answered"] else None
    return {**answered, "analysed": report.analysed if report else 0}


def _answer_open_invitations(
    session: Session, rng: random.Random, since: datetime | None = None, ids: Sequence[int] | None = None
) -> dict[str, int]:
    """Let a realistic share of the customers invited (from ``since`` on, or of ``ids``) answer, once each."""
    query = (
        select(
            SurveyInvitation.id,
            SurveyInvitation.tier,
            SurveyInvitation.sent_at,
            SurveyInvitation.reminded_at,
            SurveyInvitation.expires_at,
            Survey.key,
            Order.delivered_at,
            Order.promised_delivery_at,
            Order.damaged,
            Order.lost,
        )
        .join(Survey, Survey.id == SurveyInvitation.survey_id)
        .outerjoin(Order, Order.id == SurveyInvitation.order_id)
        .where(SurveyInvitation.status.in_(("sent", "opened", "partial")))
        .order_by(SurveyInvitation.sent_at, SurveyInvitation.id)
    )
    if since is not None:
        query = query.where(SurveyInvitation.sent_at >= since)
    if ids is not None:
        query = query.where(SurveyInvitation.id.in_(list(ids)))
    rows = session.execute(query).all()
    # The demo's "today" is its last delivery: a customer who would answer after it has not answered
    # yet, and an answer dated later would open a month the demo has no other data for.
    demo_end = session.scalar(select(func.max(Order.delivered_at)))
    answered = cases = 0
    planted: dict[str, Counter[str]] = defaultdict(Counter)  # the complaints written, for the truth
    for row in rows:
        when = _answer_time(row, rng, demo_end)
        if when is None:
            continue
        at, problem = when
        raw = _answers(rng, row.key, problem)
        if "unhappy_aspect" in raw:
            planted[f"{at:%Y-%m}"][raw.pop("unhappy_aspect")] += 1
        result = service.answer_invitation(
            db_session=session,
            invitation_id=row.id,
            raw=raw,
            locale="zh",
            now=at,
            follow_up=False,  # the demo's next steps analyse and refresh everything once
        )
        answered += 1
        cases += result.case_id is not None
    add_negative_mentions(get_settings().data_dir, planted)
    return {"answered": answered, "recovery_cases": cases}
