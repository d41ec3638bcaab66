"""A case opened from a review carries a title without the names the review holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from cxloop.clock import now
from cxloop.feedback.models import FeedbackItem
from cxloop.loop.cases import service as cases


def test_case_title_from_feedback_masks_names(db_session: Session) -> None:
    """The title (lists, mail subjects, chat) masks the writer's, a courier's and the author's names."""
    item = FeedbackItem(
        external_id="N1",
        channel="review",
        text="我是张伟，快递员王小明把包裹放门口丢了，阿花也收不到",
        author="阿花",
        rating=1,
        occurred_at=now() - timedelta(hours=2),
    )
    db_session.add(item)
    db_session.commit()
    [case] = cases.cases_from_feedback(db_session=db_session)
    assert case.feedback_id == item.id
    assert case.title == "我是张*，快递员王**把包裹放门口丢了，阿*也收不到"
    for name in ("张伟", "王小明", "阿花"):
        assert name not in case.title
    # the description keeps the words; pages show it through the policy (redact_for)
    assert case.description == item.text
