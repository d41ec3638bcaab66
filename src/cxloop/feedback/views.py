"""JSON API of feedback: stored items out, searched and masked by the policy.

New items come in through the importer's door (``POST /api/v1/feedback`` in cxloop.imports.views),
like every row that arrives from outside: the importer writes every domain's tables and sits above them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can_see_contact
from cxloop.deps import SessionDep
from cxloop.feedback import service
from cxloop.feedback.schemas import FeedbackPage, FeedbackRead
from cxloop.vocab import CHANNELS, SENTIMENTS

router = APIRouter(tags=["feedback"])
FeedbackReader = Annotated[User, allow("feedback", "read")]


@router.get("/feedback", response_model=FeedbackPage)
def list_feedback(
    user: FeedbackReader,
    db_session: SessionDep,
    channel: Annotated[str | None, Query(description=f"One of {', '.join(CHANNELS)}")] = None,
    sentiment: Annotated[str | None, Query(description=f"One of {', '.join(SENTIMENTS)}")] = None,
    aspect: Annotated[str | None, Query(description="Aspect id from the taxonomy")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Annotated[str | None, Query(description="Text the item contains")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FeedbackPage:
    """Search stored feedback, newest first, with each item's aspects."""
    if channel and channel not in CHANNELS:
        raise HTTPException(422, f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if sentiment and sentiment not in SENTIMENTS:
        raise HTTPException(422, f"sentiment must be one of {', '.join(SENTIMENTS)}, got {sentiment!r}")
    personal = can_see_contact(user)
    try:
        total, items = service.search(
            db_session=db_session,
            channel=channel,
            sentiment=sentiment,
            aspect=aspect,
            since=since,
            until=until,
            query=q,
            limit=limit,
            offset=offset,
            personal_data=personal,
        )
    except service.PersonalDataQuery as exc:
        raise HTTPException(422, str(exc)) from exc
    aspects = service.aspects_by_item(db_session=db_session, feedback_ids=[i.id for i in items])
    return FeedbackPage(
        total=total, items=[service.item_read(i, aspects[i.id], personal_data=personal) for i in items]
    )


@router.get("/feedback/{feedback_id}", response_model=FeedbackRead)
def get_feedback(feedback_id: int, user: FeedbackReader, db_session: SessionDep) -> FeedbackRead:
    """One feedback item with its aspect mentions."""
    item = service.get_item(db_session=db_session, feedback_id=feedback_id)
    if item is None:
        raise HTTPException(404, f"no feedback item with id {feedback_id}")
    mentions = service.aspects_of(db_session=db_session, feedback_id=feedback_id)
    return service.item_read(item, mentions, personal_data=can_see_contact(user))
