"""Complaint cases: opened from negative feedback once per item, four steps, promise, resolution, Pareto."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.clock import now
from cxloop.feedback.models import FeedbackItem
from cxloop.loop.audit import history
from cxloop.loop.cases import service as cases
from cxloop.loop.models import CaseStep, Notification
from cxloop.loop.notifications.service import inbox, mark_read
from cxloop.org.models import Department, Person


@pytest.fixture
def agent(db_session: Session) -> Person:
    dept = Department(code="customer_service", name_zh="客服部", name_en="CS")
    db_session.add(dept)
    db_session.flush()
    person = Person(external_id="A1", name="小王", email="wang@example.com", department_id=dept.id)
    db_session.add(person)
    db_session.flush()
    db_session.add(
        User(username="wang", password_hash="x", role="department_member", person_id=person.id, locale="zh")
    )
    db_session.commit()
    return person


def _feedback(db_session: Session, n: int, **kwargs: object) -> FeedbackItem:
    item = FeedbackItem(
        external_id=f"F{n}",
        channel="review",
        text="收到的耳机左耳没声音，太失望了",
        occurred_at=now() - timedelta(hours=2),
        **kwargs,
    )
    db_session.add(item)
    db_session.flush()
    return item


def test_cases_from_negative_feedback_are_idempotent(db_session: Session, agent: Person) -> None:
    _feedback(db_session, 1, rating=1)
    _feedback(db_session, 2, rating=5, sentiment="positive")
    _feedback(db_session, 3, sentiment="negative")  # negative but no order: not a case by default
    old = _feedback(db_session, 4, rating=2)
    old.occurred_at = now() - timedelta(days=30)  # history is not turned into cases
    db_session.commit()
    made = cases.cases_from_feedback(db_session=db_session)
    assert len(made) == 1 and made[0].priority == "high" and made[0].source == "rule"
    assert made[0].assignee_id == agent.id
    assert cases.cases_from_feedback(db_session=db_session) == []
    # staff creating a case for the same item gets the same case back
    again = cases.create_case(db_session=db_session, title="x", actor="u", feedback_id=made[0].feedback_id)
    assert again.id == made[0].id
    steps = db_session.scalars(select(CaseStep).where(CaseStep.case_id == made[0].id)).all()
    assert [s.step for s in sorted(steps, key=lambda s: s.position)] == [
        "apologise",
        "investigate",
        "solve",
        "record",
    ]
    # the agent sees it in the in-app inbox
    user = db_session.scalars(select(User)).one()
    messages = inbox(db_session=db_session, user_id=user.id)
    assert len(messages) == 1 and "工单" in messages[0].subject
    assert mark_read(db_session=db_session, user_id=user.id) == 1


def test_four_steps_promise_follow_up_and_root_cause(db_session: Session, agent: Person) -> None:
    case = cases.create_case(db_session=db_session, title="漏发充电线", actor="staff")
    db_session.commit()
    cases.complete_step(db_session=db_session, case_id=case.id, step="apologise", actor="wang", note="已致歉")
    assert case.first_responded_at is not None and case.status == "in_progress"
    cases.complete_step(db_session=db_session, case_id=case.id, step="investigate", actor="wang")
    cases.set_promise(db_session=db_session, case_id=case.id, promise="30min", actor="wang")
    assert case.promised_at is not None
    assert cases.promise_text("30min") == "30分钟内" and cases.promise_text("1day", "en") == "within one day"
    # at the promised time a follow-up reminder goes to the agent, once
    later = case.promised_at + timedelta(minutes=1)
    assert cases.check_slas(db_session=db_session, at=later)["follow_ups"] == 1
    assert cases.check_slas(db_session=db_session, at=later)["follow_ups"] == 0
    reminder = db_session.scalars(
        select(Notification).where(Notification.event == "case_follow_up", Notification.channel == "email")
    ).one()
    assert "30分钟内" in reminder.body
    cases.complete_step(db_session=db_session, case_id=case.id, step="solve", actor="wang", note="补发")
    cases.record_follow_up(db_session=db_session, case_id=case.id, actor="wang", note="顾客已收到")
    with pytest.raises(ValueError):
        cases.resolve_case(
            db_session=db_session, case_id=case.id, resolution="resend", root_cause="nope", actor="wang"
        )
    cases.resolve_case(
        db_session=db_session,
        case_id=case.id,
        resolution="resend",
        root_cause="wrong_missing_item",
        actor="wang",
    )
    record = db_session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.step == "record"))
    assert record is not None and record.done_by == "wang"
    month = f"{case.opened_at:%Y-%m}"
    assert cases.case_root_causes(db_session=db_session, month=month) == {"wrong_missing_item": 1}
    actions = [e.action for e in history(db_session=db_session, entity="case", entity_id=case.id)][::-1]
    assert actions[0] == "create" and "step:apologise" in actions and actions[-1] == "resolve"


def test_clock_states_after_resolution(db_session: Session, agent: Person) -> None:
    opened = datetime(2026, 3, 2, 9, 0)  # a Monday
    case = cases.create_case(db_session=db_session, title="t", actor="u", opened_at=opened, priority="high")
    case.first_responded_at = opened + timedelta(minutes=30)
    case.resolved_at = opened + timedelta(days=3)
    clocks = cases.sla_clocks(case, opened + timedelta(days=4))
    assert clocks["first_response"]["state"] == "met"
    assert clocks["resolution"]["state"] == "missed"
