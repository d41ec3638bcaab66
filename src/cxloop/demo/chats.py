"""The demo's live chats as the chat tool reports them: an agent's question, and the customer's reply.

A shop's chat tool posts ``chat.awaiting_reply`` when an agent asked the customer something and
``chat.replied`` when the customer answered (the journeys' event API). The demo's chats are feedback
items; for those in the journeys' replay window this step records those events, so the shipped
``chat_reask`` journey (ask again after 5 minutes without a reply) has real chats to work on: most
customers answer within the 5 minutes, some later, some never.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.demo.surveys import replay_start
from cxloop.feedback.models import FeedbackItem
from cxloop.journeys.service import record_event

#: Share of chats in which the agent needed something from the customer.
ASKED = 0.4
#: When the customer replies to the question: within 5 minutes, later (within the hour), or never.
REPLY = (("soon", 0.65), ("late", 0.2), ("never", 0.15))
QUESTIONS = (
    "请提供一下订单号，方便我们查询。",
    "麻烦拍一张外包装和商品的照片发给我们。",
    "请确认一下收货地址是否需要修改？",
    "您希望换货还是退款呢？",
)


def record_demo_chat_events(*, db_session: Session, seed: int = 11) -> dict[str, Any]:
    """Record the agents' questions and the customers' replies of the chats in the replay window."""
    rng = random.Random(seed)
    since = replay_start(db_session)
    if since is None:
        return {"questions": 0, "replies": 0}
    chats = db_session.execute(
        select(FeedbackItem.id, FeedbackItem.customer_id, FeedbackItem.occurred_at)
        .where(
            FeedbackItem.channel == "chat",
            FeedbackItem.customer_id.is_not(None),
            FeedbackItem.occurred_at >= since,
        )
        .order_by(FeedbackItem.occurred_at, FeedbackItem.id)
    ).all()
    questions = replies = 0
    for feedback_id, customer_id, started in chats:
        if rng.random() >= ASKED:
            continue
        ref = f"chat:{feedback_id}:q1"
        asked_at = started + timedelta(minutes=rng.uniform(1, 4))
        question = rng.choice(QUESTIONS)
        payload = {"question": question, "link": ""}
        questions += record_event(
            db_session, kind="chat.awaiting_reply", customer_id=customer_id, occurred_at=asked_at, ref=ref,
            payload=payload,
        )  # fmt: skip
        when = rng.choices([r for r, _ in REPLY], weights=[w for _, w in REPLY])[0]
        if when == "never":
            continue
        minutes = rng.uniform(0.5, 4.5) if when == "soon" else rng.uniform(8, 55)
        replies += record_event(
            db_session, kind="chat.replied", customer_id=customer_id,
            occurred_at=asked_at + timedelta(minutes=minutes), ref=ref,
        )  # fmt: skip
    db_session.commit()
    return {"questions": questions, "replies": replies}
