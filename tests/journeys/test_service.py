"""The engine on the seed scenarios: who gets what, when, and who is left alone."""

from __future__ import annotations

import sys
import types
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.journeys import service
from cxloop.journeys.models import JourneyRun, JourneyStep, JourneyTimer
from cxloop.loop.models import Task
from cxloop.messaging.models import CustomerMessage

from .conftest import T0, Shop


def _emit(
    db: Session, kind: str, customer_id: int, at: datetime, ref: str | None = None, **payload: Any
) -> None:
    service.emit_event(db, kind=kind, customer_id=customer_id, occurred_at=at, ref=ref, payload=payload)


def _fire(db: Session, at: datetime) -> int:
    db.flush()
    total = 0
    while fired := service.fire_due(db, now=at, limit=500):
        total += fired
    return total


def _messages(db: Session, template: str | None = None) -> list[CustomerMessage]:
    query = select(CustomerMessage).order_by(CustomerMessage.id)
    if template:
        query = query.where(CustomerMessage.template == template)
    return list(db.scalars(query))


def _no_control(db: Session) -> None:
    for key in ("unpaid_reminder", "cart_offer"):
        journey = service.get_journey(db_session=db, key=key)
        journey.control_share = 0.0
        journey.definition = {**journey.definition, "control_group": 0.0}
    db.flush()


def test_unpaid_reminder_wording_call_task_and_paid_in_time(shop: Shop) -> None:
    db = shop.db
    _no_control(db)
    new = shop.customer()
    returning = shop.customer()
    shop.order(returning, placed=T0 - timedelta(days=30), paid_at=T0 - timedelta(days=30))
    paid_fast = shop.customer()
    big = shop.customer()
    o_new = shop.order(new)
    o_ret = shop.order(returning)
    o_fast = shop.order(paid_fast, paid_at=T0 + timedelta(minutes=9))
    o_big = shop.order(big, amount="2600.00")
    for order in (o_new, o_ret, o_fast, o_big):
        _emit(db, "order.placed", order.customer_id, T0, f"order:{order.id}")  # type: ignore[arg-type]
    assert _fire(db, T0 + timedelta(minutes=14)) == 0
    assert not _messages(db, "unpaid_reminder.new")
    _fire(db, T0 + timedelta(minutes=16))
    assert [m.customer_id for m in _messages(db, "unpaid_reminder.new")] == [new.id]
    assert [m.customer_id for m in _messages(db, "unpaid_reminder.returning")] == [returning.id]
    assert "优先" in _messages(db, "unpaid_reminder.returning")[0].body
    sent_to = {m.customer_id for m in _messages(db) if m.template.startswith("unpaid")}
    assert paid_fast.id not in sent_to and big.id not in sent_to
    task = db.scalar(select(Task).where(Task.created_by == "journey:unpaid_reminder"))
    assert task is not None and o_big.external_id in task.title and task.department == "customer_service"
    run = db.scalar(
        select(JourneyRun).where(
            JourneyRun.ref == f"order:{o_fast.id}", JourneyRun.journey_key == "unpaid_reminder"
        )
    )
    assert run is not None and (run.status, run.exit_reason) == ("exited", "order.paid")
    # Firing again (a second worker, a restart) does nothing more.
    before = len(_messages(db))
    assert _fire(db, T0 + timedelta(hours=2)) == 0
    assert len(_messages(db)) == before


def test_cart_offer_needs_consent_and_stops_once_ordered(shop: Shop) -> None:
    db = shop.db
    _no_control(db)
    willing, unwilling, buyer = shop.customer(), shop.customer(consent_marketing=False), shop.customer()
    for i, c in enumerate((willing, unwilling, buyer)):
        _emit(db, "cart.added", c.id, T0, f"cart:{i}")
    shop.order(buyer, placed=T0 + timedelta(hours=1))
    _fire(db, T0 + timedelta(hours=5))
    offers = {m.customer_id: m for m in _messages(db, "cart_offer")}
    assert offers[willing.id].status == "queued" and "回T退订" in offers[willing.id].body
    assert (offers[unwilling.id].status, offers[unwilling.id].reason) == ("skipped", "no_consent")
    assert buyer.id not in offers
    # The same customer adding again within 3 days is not offered twice.
    _emit(db, "cart.added", willing.id, T0 + timedelta(hours=6), "cart:again")
    _fire(db, T0 + timedelta(hours=12))
    assert len([m for m in _messages(db, "cart_offer") if m.customer_id == willing.id]) == 1


def test_chat_reask_only_when_no_answer_within_5_minutes(shop: Shop) -> None:
    db = shop.db
    silent, answering = shop.customer(), shop.customer()
    _emit(db, "chat.awaiting_reply", silent.id, T0, "chat:1", question="请问收货地址是？")
    _emit(db, "chat.awaiting_reply", answering.id, T0, "chat:2", question="请问订单号？")
    _emit(db, "chat.replied", answering.id, T0 + timedelta(minutes=2), "chat:2")
    _fire(db, T0 + timedelta(minutes=6))
    reasks = _messages(db, "chat_reask")
    assert [m.customer_id for m in reasks] == [silent.id] and "请问收货地址是？" in reasks[0].body


def test_shipping_notice_and_thank_you_wording(shop: Shop) -> None:
    db = shop.db
    c = shop.customer()
    order = shop.order(c, paid_at=T0, shipped_at=T0 + timedelta(hours=5), delivered_at=T0 + timedelta(days=2))
    _emit(db, "order.shipped", c.id, T0 + timedelta(hours=5), f"order:{order.id}")
    _emit(db, "order.delivered", c.id, T0 + timedelta(days=2), f"order:{order.id}")
    _fire(db, T0 + timedelta(days=2, hours=3))
    notice = _messages(db, "shipping_notice")[0]
    assert f"您订购的{order.external_id}" not in notice.body and "已于2026-11-30寄出" in notice.body
    assert "您订购的绿茶" in notice.body
    thanks = _messages(db, "thank_you")[0]
    assert "谨防诈骗" in thanks.body and "85℃" in thanks.body


def test_follow_up_calls_for_high_value_messages_for_others(shop: Shop) -> None:
    db = shop.db
    vip, other = shop.customer(tier="vip"), shop.customer(consent_marketing=True)
    for c in (vip, other):
        order = shop.order(c)
        _emit(db, "order.placed", c.id, T0, f"order:{order.id}")
    _fire(db, T0 + timedelta(days=8))
    assert [m.customer_id for m in _messages(db, "follow_up")] == [other.id]
    tasks = list(db.scalars(select(Task).where(Task.created_by == "journey:follow_up")))
    assert len(tasks) == 1 and "第 1 周" in tasks[0].title
    _fire(db, T0 + timedelta(days=22))
    assert len(_messages(db, "follow_up")) == 2


def test_festival_greetings_come_from_the_holidays_calendar(shop: Shop) -> None:
    db = shop.db
    c = shop.customer()
    shop.order(c, placed=datetime(2026, 9, 1, 12, 0))
    dates = service.festival_dates(2026)
    mid_autumn = dates["mid_autumn"][0]
    assert mid_autumn == date(2026, 9, 25) and dates["spring_festival"][0] == date(2026, 2, 17)
    assert service.calendar_events(db, day=mid_autumn - timedelta(days=3)) == 0
    assert service.calendar_events(db, day=mid_autumn - timedelta(days=2)) == 1
    assert service.calendar_events(db, day=mid_autumn - timedelta(days=2)) == 0  # once per festival
    _fire(db, datetime.combine(mid_autumn - timedelta(days=2), datetime.min.time()) + timedelta(hours=11))
    greeting = _messages(db, "festival_greeting")[0]
    assert "中秋节" in greeting.body and "2026-09-25" in greeting.body


def test_control_group_is_held_out_and_compared(shop: Shop) -> None:
    db = shop.db
    journey = service.get_journey(db_session=db, key="unpaid_reminder")
    journey.definition = {**journey.definition, "control_group": 0.5}
    db.flush()
    for i in range(40):
        c = shop.customer()
        paid = T0 + timedelta(hours=3) if i % 3 else None
        order = shop.order(c, paid_at=paid)
        _emit(db, "order.placed", c.id, T0, f"order:{order.id}")
    _fire(db, T0 + timedelta(hours=1))
    runs = list(db.scalars(select(JourneyRun).where(JourneyRun.journey_key == "unpaid_reminder")))
    held = [r for r in runs if r.control]
    assert 5 < len(held) < 35 and all(r.status == "control" for r in held)
    assert not {m.customer_id for m in _messages(db)} & {r.customer_id for r in held}
    result = service.control_result(db_session=db, key="unpaid_reminder")
    assert result is not None and result.treated + result.control == 40
    assert result.lift_ci is not None and result.lift_ci[0] <= result.lift <= result.lift_ci[1]  # type: ignore[operator]


def test_send_survey_calls_the_surveys_contract(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def invite(session: Session, **kw: Any) -> Any:
        calls.append(kw)
        return types.SimpleNamespace(sent=True, reason=None, message_id=None)

    monkeypatch.setitem(sys.modules, "cxloop.surveys.service", types.SimpleNamespace(invite=invite))
    db = shop.db
    c = shop.customer()
    order = shop.order(c, delivered_at=T0)
    _emit(db, "order.delivered", c.id, T0, f"order:{order.id}")
    _fire(db, T0 + timedelta(days=1, minutes=1))
    assert calls[0]["survey_key"] == "after_delivery" and calls[0]["order_id"] == order.id
    assert calls[0]["reminder"] is False
    _fire(db, T0 + timedelta(days=4, minutes=2))
    assert [c["reminder"] for c in calls] == [False, True]
    step = db.scalar(select(JourneyStep).where(JourneyStep.action == "send_survey"))
    assert step is not None and step.outcome == "sent"


def test_answer_stops_the_survey_reminder(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    fake = types.SimpleNamespace(
        invite=lambda s, **kw: calls.append(kw) or types.SimpleNamespace(sent=True, reason=None)
    )
    monkeypatch.setitem(sys.modules, "cxloop.surveys.service", fake)
    db = shop.db
    c = shop.customer()
    order = shop.order(c, delivered_at=T0)
    _emit(db, "order.delivered", c.id, T0, f"order:{order.id}")
    _fire(db, T0 + timedelta(days=1, minutes=1))
    _emit(db, "survey.answered", c.id, T0 + timedelta(days=2), "invitation:1")
    _fire(db, T0 + timedelta(days=5))
    assert [c["reminder"] for c in calls] == [False]
    timer = db.scalar(select(JourneyTimer).where(JourneyTimer.wait_event == "survey.answered"))
    assert timer is not None and timer.fired_by == "event"


def test_simulate_reports_and_keeps_nothing(shop: Shop) -> None:
    db = shop.db
    _no_control(db)
    for _ in range(3):
        c = shop.customer()
        shop.order(c, placed=T0)
    quiet = shop.customer()
    shop.order(quiet, placed=T0 + timedelta(hours=12), paid_at=T0 + timedelta(hours=12, minutes=5))
    db.commit()
    result = service.simulate(
        db, key="unpaid_reminder", start=T0 - timedelta(days=1), end=T0 + timedelta(days=1)
    )
    assert result.entered == 4 and result.customers_messaged == 3
    assert result.messages == {"unpaid_reminder.new": 3} and result.exited == {"order.paid": 1}
    assert not _messages(db) and not list(db.scalars(select(JourneyRun)))


def test_delivery_care_warns_before_the_promise_and_tells_the_department(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxloop.delivery import service as delivery
    from cxloop.delivery.schemas import OrderRisk
    from cxloop.org.models import Department

    db = shop.db
    dept = Department(code="warehouse", name_zh="仓储部", name_en="Warehouse")
    db.add(dept)
    db.flush()
    c, c2 = shop.customer(), shop.customer()
    promise = T0 + timedelta(days=2)
    order = shop.order(c, paid_at=T0, promised_delivery_at=promise)
    passed = shop.order(c2, paid_at=T0, promised_delivery_at=T0 - timedelta(hours=1))
    risks = [
        OrderRisk(
            order_id=order.id,
            probability=0.9,
            promised_at=promise,
            expected_arrival=promise + timedelta(days=1),
            late_stage="picking",
            department_id=dept.id,
        ),
        OrderRisk(
            order_id=passed.id,
            probability=1.0,
            promised_at=T0 - timedelta(hours=1),
            expected_arrival=T0 + timedelta(days=1),
            late_stage="carrier",
            department_id=None,
        ),
    ]
    monkeypatch.setattr(delivery, "predict_late_risk", lambda session, **kw: risks)
    monkeypatch.setattr(delivery, "warning_threshold", lambda: 0.5)
    assert service.scan_late_risk(db, now=T0) == 1
    assert service.scan_late_risk(db, now=T0 + timedelta(hours=3)) == 0  # one warning per order
    notice = _messages(db, "delay_notice")
    assert [m.customer_id for m in notice] == [c.id]
    assert "2026-12-03" in notice[0].body and notice[0].created_at < promise
    task = db.scalar(select(Task).where(Task.created_by == "journey:delivery_care"))
    assert task is not None and task.department == "warehouse" and order.external_id in task.title


def test_replay_scans_for_late_orders_every_few_hours(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxloop.delivery import service as delivery
    from cxloop.delivery.schemas import OrderRisk

    db = shop.db
    c = shop.customer()
    promise = T0 + timedelta(days=1)
    order = shop.order(c, placed=T0 - timedelta(days=1), promised_delivery_at=promise)
    seen: list[datetime] = []

    def predict(
        session: Session, *, now: datetime, order_ids: Any = None, replay: bool = False
    ) -> list[OrderRisk]:
        seen.append(now)
        if now < T0 + timedelta(hours=5):
            return []
        return [
            OrderRisk(
                order_id=order.id,
                probability=0.8,
                promised_at=promise,
                expected_arrival=promise + timedelta(days=2),
                late_stage="carrier",
                department_id=None,
            )
        ]

    monkeypatch.setattr(delivery, "predict_late_risk", predict)
    monkeypatch.setattr(delivery, "warning_threshold", lambda: 0.5)
    monkeypatch.setattr(service, "_warning_model_ready", lambda: True)
    service.replay(db, since=T0, until=T0 + timedelta(hours=12), keys=["delivery_care"])
    assert len(seen) == 5  # every 3 hours over 12 hours
    notice = _messages(db, "delay_notice")
    assert len(notice) == 1 and notice[0].created_at == T0 + timedelta(hours=6)
    report = service.delivery_care_report(db, since=T0, until=T0 + timedelta(days=2))
    assert (
        report.late_orders == 1 and report.late_warned_before_promise == 1 and report.median_lead_hours == 18
    )
