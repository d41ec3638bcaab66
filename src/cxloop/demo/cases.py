"""The demo's agents work their complaint cases, and customers are asked how it went.

Without this every demo case stays open for ever: the case pages show no resolution, the SLA figures no
resolution time, and the case-closed survey (a seed scenario: 结案回访) is never sent. Cases opened
long enough before the demo's end are resolved after a plausible time, with the complaint's own aspect as
the root cause; a closed case before the journeys' replay gets its survey here (the replay's
``survey_case_closed`` journey invites for the cases it sees closed in its own days), and a realistic
share of those customers answer, through the same code as the public page.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import clock
from cxloop.demo.surveys import answer_invitations, replay_start
from cxloop.feedback.models import FeedbackAspect
from cxloop.loop.cases.service import resolve_case
from cxloop.loop.models import OPEN_CASE_STATUSES, Case
from cxloop.orders.models import Order
from cxloop.surveys import service as surveys

#: Share of the old enough cases an agent resolves (the rest are still being worked on at the demo's end).
RESOLVED_SHARE = 0.85
#: How long a case takes, in hours (uniform): most within the two-day resolution SLA, a few after it.
HOURS = (2.0, 60.0)
RESOLUTIONS = ("resend", "refund", "coupon", "explanation", "resend", "refund")


def work_demo_cases(*, db_session: Session, seed: int = 9) -> dict[str, Any]:
    """Resolve the demo's older cases and send (and answer) their case-closed surveys."""
    rng = random.Random(seed)
    session = db_session
    demo_end = session.scalar(select(func.max(Order.delivered_at)))
    cutoff = replay_start(session)
    if demo_end is None:
        return {"resolved": 0, "invited": 0, "answered": 0}
    surveys.ensure_default_surveys(db_session=session)
    open_cases = session.execute(
        select(Case.id, Case.customer_id, Case.opened_at, Case.feedback_id)
        .where(Case.status.in_(OPEN_CASE_STATUSES))
        .order_by(Case.opened_at, Case.id)
    ).all()
    resolved = 0
    invitations: list[int] = []
    for case_id, customer_id, opened_at, feedback_id in open_cases:
        at = opened_at + timedelta(hours=rng.uniform(*HOURS))
        if at > demo_end or rng.random() > RESOLVED_SHARE:
            continue
        root = session.scalar(
            select(FeedbackAspect.aspect)
            .where(FeedbackAspect.feedback_id == feedback_id, FeedbackAspect.sentiment == "negative")
            .order_by(FeedbackAspect.start)
            .limit(1)
        )
        if root is None:  # no complaint to name as the root cause: the agent is still looking into it
            continue
        with clock.frozen(at):
            resolve_case(
                db_session=session, case_id=case_id, resolution=rng.choice(RESOLUTIONS), root_cause=root,
                actor="demo",
            )  # fmt: skip
        resolved += 1
        asked = at + timedelta(hours=1)
        if customer_id is not None and (cutoff is None or asked < cutoff):
            result = surveys.invite(
                session, survey_key="case_closed", customer_id=customer_id, trigger="case_closed",
                now=asked, case_id=case_id,
            )  # fmt: skip
            if result.sent and result.invitation_id is not None:
                invitations.append(result.invitation_id)
    session.commit()
    answered = answer_invitations(session, rng, invitations)
    return {"resolved": resolved, "invited": len(invitations), **answered}
