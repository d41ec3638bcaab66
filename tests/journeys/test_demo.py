"""The shipped journeys on the demo (run by the demo's post-load step over its last 10 days): every
seed scenario fires for the customers it should, and only for them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from cxloop.customers.models import Customer
from cxloop.journeys import service
from cxloop.journeys.models import JourneyRun, JourneyStep
from cxloop.loop.models import Task
from cxloop.messaging.models import CustomerMessage
from cxloop.orders.models import Order
from tests.conftest import DemoStore


def _db(demo_store: DemoStore) -> Session:
    return Session(create_engine(demo_store.url))


def test_unpaid_reminder_on_the_demo(demo_store: DemoStore) -> None:
    with _db(demo_store) as db:
        runs = list(db.scalars(select(JourneyRun).where(JourneyRun.journey_key == "unpaid_reminder")))
        assert len(runs) > 50
        orders = {o.id: o for o in db.scalars(select(Order).where(Order.id.in_([r.order_id for r in runs])))}
        steps = {
            s.run_id: s
            for s in db.scalars(select(JourneyStep).where(JourneyStep.journey_key == "unpaid_reminder"))
        }
        reminded = called = 0
        for run in runs:
            order = orders[run.order_id]  # type: ignore[index]
            due = order.placed_at + timedelta(minutes=15)
            settled = (order.paid_at and order.paid_at <= due) or (
                order.cancelled_at and order.cancelled_at <= due
            )
            step = steps.get(run.id)
            if run.control or settled:
                assert step is None, (
                    f"order {order.external_id} was paid/cancelled or held out, yet {step.action}"
                )
                continue
            if run.status == "waiting":
                continue  # its 15 minutes end after the demo's last moment
            assert step is not None, f"unpaid order {order.external_id} got nothing"
            if Decimal(order.total_amount or 0) >= 2000:
                assert step.action == "create_task"
                called += 1
            else:
                assert step.action == "send"
                reminded += 1
        assert reminded > 0
        tasks = db.scalar(select(func.count(Task.id)).where(Task.created_by == "journey:unpaid_reminder"))
        assert tasks == called


def test_offers_only_with_consent_and_messages_visible(demo_store: DemoStore) -> None:
    with _db(demo_store) as db:
        rows = db.execute(
            select(
                CustomerMessage.status,
                CustomerMessage.reason,
                CustomerMessage.purpose,
                Customer.consent_marketing,
            ).join(Customer, Customer.id == CustomerMessage.customer_id)
        ).all()
        assert any(status == "sent" for status, *_ in rows)
        assert any(reason == "no_consent" for _, reason, *_ in rows)
        for status, _reason, purpose, consent in rows:
            if purpose == "marketing" and status in ("sent", "queued"):
                assert consent
        shipped = db.scalar(
            select(func.count(CustomerMessage.id)).where(CustomerMessage.template == "shipping_notice")
        )
        assert shipped and shipped > 20
        notice = db.scalar(
            select(CustomerMessage.body).where(CustomerMessage.template == "shipping_notice").limit(1)
        )
        assert notice and "您订购的" in notice and "寄出" in notice


def test_control_group_result_on_the_demo(demo_store: DemoStore) -> None:
    with _db(demo_store) as db:
        result = service.control_result(db_session=db, key="unpaid_reminder")
        assert result is not None and result.treated > 0 and result.control > 0
        assert result.treated_ci is not None and result.control_ci is not None


def test_chat_reask_on_the_demo(demo_store: DemoStore) -> None:
    """A chat the customer left unanswered for 5 minutes gets the question asked again; one answered in
    time gets nothing (the demo's chat tool events: questions, replies soon, later or never)."""
    from cxloop.journeys.models import JourneyEvent

    with _db(demo_store) as db:
        asked = {
            e.ref: e
            for e in db.scalars(select(JourneyEvent).where(JourneyEvent.kind == "chat.awaiting_reply"))
        }
        replied = {
            e.ref: e for e in db.scalars(select(JourneyEvent).where(JourneyEvent.kind == "chat.replied"))
        }
        runs = list(db.scalars(select(JourneyRun).where(JourneyRun.journey_key == "chat_reask")))
        assert len(asked) >= 5 and runs
        steps = {
            s.run_id: s
            for s in db.scalars(select(JourneyStep).where(JourneyStep.journey_key == "chat_reask"))
        }
        reasked = 0
        for run in runs:
            question, reply = asked[run.ref], replied.get(run.ref)
            in_time = reply is not None and reply.occurred_at <= question.occurred_at + timedelta(minutes=5)
            step = steps.get(run.id)
            if in_time or run.control:
                assert step is None, (run.ref, step.action if step else None)
            elif run.status != "waiting":
                assert step is not None and step.action == "send", run.ref
                reasked += 1
        assert reasked > 0
