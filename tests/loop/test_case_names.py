"""A case opened from a review carries a title without the names the review holds, and the message
about it greets the staff member by name."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.clock import now
from cxloop.feedback.models import FeedbackItem
from cxloop.loop.cases import service as cases
from cxloop.loop.models import Notification
from cxloop.org.models import Department, Person


def test_case_title_from_feedback_masks_names(db_session: Session) -> None:
    """The title (lists, mail subjects, chat) masks the writer's, a courier's and the author's names;
    the assignee's message keeps the assignee's own name."""
    dept = Department(code="customer_service", name_zh="客服部", name_en="CS")
    db_session.add(dept)
    db_session.flush()
    agent = Person(external_id="A1", name="王芳", email="wang@example.com", department_id=dept.id)
    db_session.add(agent)
    db_session.flush()
    db_session.add(User(username="wang", password_hash="x", role="department_member", person_id=agent.id))
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
    assert case.feedback_id == item.id and case.assignee_id == agent.id
    assert case.title == "我是张*，快递员王**把包裹放门口丢了，阿*也收不到"
    # the description keeps the words; pages show it through the policy (redact_for)
    assert case.description == item.text
    messages = db_session.scalars(select(Notification).where(Notification.event == "case_created")).all()
    assert messages
    for message in messages:
        assert "王芳，您好" in message.body
        for name in ("张伟", "王小明", "阿花"):
            assert name not in message.subject and name not in message.body
