"""Background jobs of surveys (run through cxloop.jobs: in-process or on Celery)."""

from __future__ import annotations

from typing import Any

from cxloop.db import session_scope
from cxloop.jobs import job


@job("surveys.invite")
def invite_job(
    *,
    survey_key: str,
    customer_id: int,
    trigger: str,
    order_id: int | None = None,
    case_id: int | None = None,
    reminder: bool = False,
) -> dict[str, Any]:
    """Invite one customer now (queued by callers that must not wait, e.g. bulk relationship NPS)."""
    from cxloop.clock import now
    from cxloop.surveys.service import invite

    with session_scope() as session:
        result = invite(
            session,
            survey_key=survey_key,
            customer_id=customer_id,
            trigger=trigger,
            now=now(),
            order_id=order_id,
            case_id=case_id,
            reminder=reminder,
        )
        return {"sent": result.sent, "reason": result.reason, "invitation_id": result.invitation_id}


@job("surveys.follow_up")
def follow_up_job() -> dict[str, Any]:
    """Follow up new answers (recovery cases, indicators marked stale) from their outbox (every 10 seconds)."""
    from cxloop.surveys.service import follow_up_answers

    done = 0
    with session_scope() as session:
        while batch := follow_up_answers(db_session=session):
            done += len(batch)
    return {"answers": done}
