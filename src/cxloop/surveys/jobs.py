"""Background jobs of surveys (run through cxloop.jobs: in-process or on Celery)."""

from __future__ import annotations

from typing import Any

from cxloop.db import session_scope
from cxloop.jobs import job


@job("surveys.invite")
def invite_job(*, survey_key: str, **request: Any) -> dict[str, Any]:
    """Invite one customer now (queued by callers that must not wait, e.g. bulk relationship NPS).

    ``request`` holds the fields of the API's invitation body (customer_id, trigger, order_id, ...).
    """
    from cxloop.surveys.schemas import InviteRequest
    from cxloop.surveys.service import invite_customer

    with session_scope() as session:
        result = invite_customer(
            db_session=session, survey_key=survey_key, request=InviteRequest.model_validate(request)
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
