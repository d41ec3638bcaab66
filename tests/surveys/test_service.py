"""Surveys service: fatigue rules, signed links, one answer per link, answers into responses, feedback and cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.customers.models import Customer
from cxloop.feedback.models import FeedbackItem, SurveyResponse
from cxloop.journeys.models import JourneyEvent
from cxloop.journeys.service import capture_events
from cxloop.loop.models import Case
from cxloop.messaging.models import CustomerMessage
from cxloop.orders.models import Order
from cxloop.pipeline import STALE_KEY
from cxloop.surveys import service
from cxloop.surveys.models import SurveyInvitation
from cxloop.system.models import AppState

NOW = datetime(2026, 6, 10, 10, 0)


def _customer(
    session: Session, ext: str = "c1", tier: str = "returning", phone: str | None = "13800138000"
) -> Customer:
    email = f"{ext}@example.com" if phone else None  # SMS needs a provider; tests reach customers by mail
    customer = Customer(
        external_id=ext, name="王小明", phone=phone, email=email, tier=tier, preferred_channel="sms"
    )
    session.add(customer)
    session.flush()
    return customer


def _order(session: Session, customer: Customer, ext: str = "o1", late: bool = False) -> Order:
    order = Order(
        external_id=ext,
        customer_id=customer.id,
        placed_at=NOW - timedelta(days=3),
        promised_delivery_at=NOW - timedelta(days=1),
        delivered_at=NOW - (timedelta(hours=-5) if late else timedelta(days=2)),
    )
    session.add(order)
    session.flush()
    return order


def _token(link: str | None) -> str:
    assert link is not None
    return link.rsplit("/s/", 1)[1]


def test_a_closed_case_is_surveyed_despite_a_recent_survey(db_session: Session) -> None:
    """结案回访: the case-closed survey closes the customer's own complaint's loop, so the N-day cap does
    not hold it back (the survey that revealed the problem was days before); an open case still does."""
    customer = _customer(db_session)
    order = _order(db_session, customer)
    first = service.invite(
        db_session, survey_key="after_delivery", customer_id=customer.id, trigger="after_delivery",
        now=NOW, order_id=order.id,
    )  # fmt: skip
    assert first.sent
    case = Case(
        customer_id=customer.id, title="破损", status="open", opened_at=NOW + timedelta(days=1),
        first_response_due_at=NOW + timedelta(days=1, hours=1), resolution_due_at=NOW + timedelta(days=3),
    )  # fmt: skip
    db_session.add(case)
    db_session.flush()
    held = service.invite(
        db_session, survey_key="case_closed", customer_id=customer.id, trigger="case_closed",
        now=NOW + timedelta(days=2), case_id=case.id,
    )  # fmt: skip
    assert (held.sent, held.reason) == (False, "open_case")
    case.status, case.resolved_at = "resolved", NOW + timedelta(days=3)
    db_session.flush()
    asked = service.invite(
        db_session, survey_key="case_closed", customer_id=customer.id, trigger="case_closed",
        now=NOW + timedelta(days=3, hours=1), case_id=case.id,
    )  # fmt: skip
    assert asked.sent and asked.reason is None, asked


def test_invite_sends_a_signed_link_and_applies_the_fatigue_rules(db_session: Session) -> None:
    customer = _customer(db_session)
    order = _order(db_session, customer)
    first = service.invite(
        db_session,
        survey_key="after_delivery",
        customer_id=customer.id,
        trigger="after_delivery",
        now=NOW,
        order_id=order.id,
    )
    assert first.sent and first.reason is None
    message = db_session.get(CustomerMessage, first.message_id)
    assert message is not None and message.status == "queued" and message.template == "survey.invite"
    assert message.source == "survey:after_delivery" and first.link in message.body
    payload = service.read_token(_token(first.link), now=NOW)
    assert payload.survey_key == "after_delivery" and payload.nonce and not payload.anonymous
    again = service.invite(
        db_session,
        survey_key="after_delivery",
        customer_id=customer.id,
        trigger="after_delivery",
        now=NOW,
        order_id=order.id,
    )
    assert (again.sent, again.reason, again.invitation_id) == (False, "already_invited", first.invitation_id)
    other = service.invite(
        db_session,
        survey_key="relationship_nps",
        customer_id=customer.id,
        trigger="relationship",
        now=NOW + timedelta(days=5),
    )
    assert (other.sent, other.reason) == (False, "fatigue")
    later = service.invite(
        db_session,
        survey_key="relationship_nps",
        customer_id=customer.id,
        trigger="relationship",
        now=NOW + timedelta(days=31),
    )
    assert later.sent
    # A reminder of the same invitation is not survey fatigue, and goes out once.
    reminder = service.invite(
        db_session,
        survey_key="after_delivery",
        customer_id=customer.id,
        trigger="after_delivery",
        now=NOW + timedelta(days=1),
        order_id=order.id,
        reminder=True,
    )
    assert reminder.sent and reminder.invitation_id == first.invitation_id
    reminded = db_session.get(CustomerMessage, reminder.message_id)
    assert reminded is not None and reminded.template == "survey.reminder" and reminder.link in reminded.body
    # The reminder's link opens the same invitation (same nonce), not a new one.
    assert service.read_token(_token(reminder.link)).nonce == payload.nonce
    second_reminder = service.invite(
        db_session,
        survey_key="after_delivery",
        customer_id=customer.id,
        trigger="after_delivery",
        now=NOW + timedelta(days=2),
        order_id=order.id,
        reminder=True,
    )
    assert second_reminder.reason == "already_reminded"


def test_no_survey_while_a_case_is_open_or_without_contact(db_session: Session) -> None:
    from cxloop.loop.cases.service import create_case

    customer = _customer(db_session)
    create_case(
        db_session=db_session,
        title="破损",
        actor="test",
        customer_id=customer.id,
        opened_at=NOW - timedelta(hours=1),
    )
    result = service.invite(
        db_session, survey_key="after_chat", customer_id=customer.id, trigger="after_chat", now=NOW
    )
    assert (result.sent, result.reason) == (False, "open_case")
    silent = _customer(db_session, "c2", phone=None)
    assert (
        service.invite(
            db_session, survey_key="after_chat", customer_id=silent.id, trigger="after_chat", now=NOW
        ).reason
        == "no_contact"
    )
    assert (
        service.invite(db_session, survey_key="nope", customer_id=silent.id, trigger="x", now=NOW).reason
        == "unknown_survey"
    )


def test_links_are_checked_for_forgery_and_age() -> None:
    token = service.make_token(survey_key="after_delivery", nonce="abc", days=14)
    assert service.read_token(token).nonce == "abc"
    with pytest.raises(service.LinkError) as forged:
        service.read_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert forged.value.reason == "forged"
    with pytest.raises(service.LinkError) as expired:
        service.read_token(token, now=datetime.now() + timedelta(days=15))
    assert expired.value.reason == "expired"


def test_answers_are_validated_against_their_questions(db_session: Session) -> None:
    service.ensure_default_surveys(db_session=db_session)
    survey = service.get_survey(db_session=db_session, key="relationship_nps")
    assert survey is not None
    definition = service.definition_of(survey)
    with pytest.raises(service.AnswerError) as info:
        service.clean_answers(definition, {"nps": "11"}, complete=True)
    assert info.value.errors["nps"][0] == "out_of_range"
    with pytest.raises(service.AnswerError):
        service.clean_answers(definition, {"nps": "8", "improve": ["delivery", "bribes"]}, complete=True)
    with pytest.raises(service.AnswerError) as missing:
        service.clean_answers(definition, {}, complete=True)
    assert missing.value.errors["nps"][0] == "required"
    # Skip logic: a 3 shows "what disappointed you", so "what pleased you" is dropped; unknown fields too.
    clean = service.clean_answers(
        definition,
        {"nps": "3", "unhappy": "太慢", "pleased": "快", "improve": ["price", "delivery"], "secret": "x"},
        complete=True,
    )
    assert clean == {"nps": 3, "unhappy": "太慢", "improve": ["delivery", "price"]}


def test_a_low_score_is_stored_once_with_feedback_and_a_recovery_case(db_session: Session) -> None:
    customer = _customer(db_session)
    order = _order(db_session, customer, late=True)
    invited = service.invite(
        db_session,
        survey_key="after_delivery",
        customer_id=customer.id,
        trigger="after_delivery",
        now=NOW,
        order_id=order.id,
    )
    db_session.commit()
    token = _token(invited.link)
    form = service.open_link(db_session=db_session, token=token, now=NOW)
    assert form.invitation_id == invited.invitation_id and form.answers == {}
    service.save_progress(db_session=db_session, token=token, raw={"csat": "1"}, now=NOW)
    assert service.open_link(db_session=db_session, token=token, now=NOW).answers == {"csat": 1}
    result = service.submit(
        db_session=db_session,
        token=token,
        raw={"csat": "1", "unhappy": "<script>alert(1)</script>快递太慢了", "pleased": "ignored"},
        now=NOW + timedelta(minutes=3),
    )
    assert result.responses == 2 and result.feedback_id is not None and result.case_id is None
    # The follow-up (recovery case, indicators) is the outbox's job, off the request's path; once only.
    pending = db_session.get(SurveyInvitation, invited.invitation_id)
    assert pending is not None and pending.follow_up_pending
    case_id = service.follow_up_answers(db_session=db_session)[invited.invitation_id]
    assert case_id is not None and service.follow_up_answers(db_session=db_session) == {}
    with pytest.raises(service.LinkError) as reused:
        service.submit(db_session=db_session, token=token, raw={"csat": "5"}, now=NOW)
    assert reused.value.reason == "answered"
    with pytest.raises(service.LinkError):
        service.open_link(db_session=db_session, token=token, now=NOW)
    responses = db_session.scalars(select(SurveyResponse).order_by(SurveyResponse.question)).all()
    assert [(r.kind, r.score, r.order_id) for r in responses] == [
        ("csat", 1, order.id),
        ("open", None, order.id),
    ]
    item = db_session.get(FeedbackItem, result.feedback_id)
    assert item is not None and item.channel == "survey" and item.rating == 1 and item.touchpoint == "arrival"
    case = db_session.get(Case, case_id)
    assert (
        case is not None
        and case.source == "survey"
        and case.customer_id == customer.id
        and case.order_id == order.id
    )
    invitation = db_session.get(SurveyInvitation, invited.invitation_id)
    assert invitation is not None and invitation.status == "answered" and invitation.partial is None
    assert invitation.recovery_case_id == case_id and not invitation.follow_up_pending
    assert case is not None and case.opened_at == NOW + timedelta(minutes=3)  # when the customer answered
    # Journeys hear of it when they capture recent events (a reminder waiting for the answer stops).
    capture_events(db_session, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))
    event = db_session.scalar(select(JourneyEvent).where(JourneyEvent.kind == "survey.answered"))
    assert event is not None and event.customer_id == customer.id and event.ref == str(invited.invitation_id)
    # The indicators are refreshed the same day from the answer's day on.
    stale = db_session.get(AppState, STALE_KEY)
    assert stale is not None and stale.value["since"].startswith("2026-06-10")


def test_a_high_score_opens_no_case_and_anonymous_links_answer_once_per_visit(db_session: Session) -> None:
    service.ensure_default_surveys(db_session=db_session)
    survey = service.get_survey(db_session=db_session, key="after_delivery")
    assert survey is not None
    shared = service.anonymous_link(survey=survey).rsplit("/s/", 1)[1]
    first = service.open_link(db_session=db_session, token=shared)
    second = service.open_link(db_session=db_session, token=shared)
    assert first.token != second.token and first.token != shared
    done = service.submit(db_session=db_session, token=first.token, raw={"csat": "5", "pleased": "很快"})
    assert done.case_id is None
    with pytest.raises(service.LinkError):
        service.submit(db_session=db_session, token=first.token, raw={"csat": "5"})
    service.submit(db_session=db_session, token=second.token, raw={"csat": "4"})
    assert db_session.scalar(select(func.count()).select_from(SurveyInvitation)) == 2
    svg = service.qr_svg(service.anonymous_link(survey=survey))
    assert svg.startswith("<svg") and "</svg>" in svg


def test_results_rates_and_nonresponse_bias(db_session: Session) -> None:
    for i in range(60):
        customer = _customer(db_session, f"c{i}", tier="vip" if i < 20 else "new")
        invited = service.invite(
            db_session,
            survey_key="after_delivery",
            customer_id=customer.id,
            trigger="after_delivery",
            now=NOW,
        )
        db_session.commit()
        if i < 25:  # every VIP answers, hardly any new customer: respondents are not like the asked
            service.submit(
                db_session=db_session,
                token=_token(invited.link),
                raw={"csat": str(5 if i % 2 else 4), "pleased": "包装很好" if i % 5 == 0 else ""},
                now=NOW + timedelta(hours=1),
            )
    survey = service.get_survey(db_session=db_session, key="after_delivery")
    assert survey is not None
    results = service.survey_results(db_session=db_session, survey=survey)
    assert (results.invited, results.answered) == (60, 25)
    assert sum(results.distribution["csat"].values()) == 25 and results.distribution["csat"][1] == 0
    assert results.trend and results.trend[0]["csat"] == 1.0
    assert len(results.open_answers) == 5
    tiers = {row["value"]: row for row in results.rates["tier"]}
    assert tiers["vip"]["rate"] == 1.0 and tiers["new"]["answered"] == 5
    assert any(b["dimension"] == "tier" and b["group"] == "vip" for b in results.bias)
    figures = service.survey_figures(db_session=db_session)[survey.id]
    assert figures["csat"] == 1.0 and figures["response_rate"] == pytest.approx(25 / 60)
