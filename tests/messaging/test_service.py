"""send_to_customer: consent, unsubscribe, open cases, caps, quiet hours, dedupe; every outcome recorded."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.loop.models import Case
from cxloop.messaging import service
from cxloop.messaging.models import CustomerMessage

NOON = datetime(2026, 12, 1, 12, 0)
CTX = {"product": "绿茶", "coupon": "C10", "cart_link": "https://s/cart"}


def _customer(db: Session, ext: str = "C1", **kw: object) -> Customer:
    values: dict[str, object] = {
        "external_id": ext,
        "name": "李雷",
        "phone": "13800138000",
        "consent_marketing": True,
    }
    values.update(kw)
    row = Customer(**values)
    db.add(row)
    db.flush()
    return row


@pytest.fixture(autouse=True)
def _sms_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLOOP_SMS_PROVIDER", "aliyun")
    get_settings.cache_clear()


def _send(
    db: Session, customer: Customer, key: str, purpose: str = "marketing", at: datetime = NOON, **kw: object
) -> CustomerMessage:
    return service.send_to_customer(
        db,
        customer_id=customer.id,
        template="cart_offer" if purpose == "marketing" else "messaging.test",
        context=CTX if purpose == "marketing" else {},
        purpose=purpose,  # type: ignore[arg-type]
        source="test",
        dedupe_key=key,
        now=at,
        **kw,  # type: ignore[arg-type]
    )


def test_marketing_needs_consent_and_no_unsubscribe_service_does_not(db_session: Session) -> None:
    no = _customer(db_session, "C1", consent_marketing=False)
    skipped = _send(db_session, no, "a")
    assert (skipped.status, skipped.reason) == ("skipped", "no_consent")
    service_msg = _send(db_session, no, "b", purpose="service")
    assert service_msg.status == "queued" and service_msg.channel == "sms"

    yes = _customer(db_session, "C2")
    queued = _send(db_session, yes, "c")
    assert queued.status == "queued" and queued.body.endswith("回T退订")
    service.unsubscribe(db_session=db_session, customer_id=yes.id)
    assert _send(db_session, yes, "d").reason == "unsubscribed"


def test_same_dedupe_key_never_sends_twice(db_session: Session) -> None:
    c = _customer(db_session)
    first = _send(db_session, c, "k")
    again = _send(db_session, c, "k")
    assert first.id == again.id
    assert db_session.query(CustomerMessage).count() == 1


def test_open_case_blocks_unless_the_message_is_about_it(db_session: Session) -> None:
    c = _customer(db_session)
    case = Case(
        title="破损",
        customer_id=c.id,
        status="open",
        opened_at=NOON,
        first_response_due_at=NOON,
        resolution_due_at=NOON,
    )
    db_session.add(case)
    db_session.flush()
    assert _send(db_session, c, "x", purpose="service").reason == "open_case"
    about = service.send_to_customer(
        db_session,
        customer_id=c.id,
        template="case.update",
        context={"case": "C1", "link": "l"},
        purpose="service",
        source="case",
        dedupe_key="y",
        case_id=case.id,
        now=NOON,
    )
    assert about.status == "queued"


def test_frequency_cap_and_quiet_hours(db_session: Session) -> None:
    c = _customer(db_session)
    assert [_send(db_session, c, f"m{i}").status for i in range(3)] == ["queued", "queued", "skipped"]
    assert db_session.query(CustomerMessage).filter_by(reason="frequency_cap").count() == 1
    night = _send(
        db_session, _customer(db_session, "C9"), "n", purpose="service", at=datetime(2026, 12, 1, 23, 30)
    )
    assert night.status == "queued" and night.reason == "quiet_hours"
    assert night.next_attempt_at == datetime(2026, 12, 2, 8, 30)


def test_no_contact_is_a_recorded_skip_and_history_shows_everything(db_session: Session) -> None:
    c = _customer(db_session, phone=None, email=None)
    assert _send(db_session, c, "z", purpose="service").reason == "no_contact"
    _send(db_session, c, "z2", purpose="marketing")
    assert [m.dedupe_key for m in service.history(db_session=db_session, customer_id=c.id)] == ["z2", "z"]


def test_inbound_t_reply_unsubscribes(db_session: Session) -> None:
    c = _customer(db_session, phone="+86 138 0013 8000")
    assert service.inbound_sms(db_session=db_session, phone="13800138000", text="你好") == []
    c.phone = "13800138000"
    assert service.inbound_sms(db_session=db_session, phone="+8613800138000", text=" t ") == [c.id]
    assert c.unsubscribed_at is not None and not c.consent_marketing
