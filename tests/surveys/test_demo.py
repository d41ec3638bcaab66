"""After the demo is built, surveys have been sent and answered at realistic rates, with their results."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop.db import get_engine
from cxloop.feedback.models import SurveyResponse
from cxloop.surveys import service
from cxloop.surveys.models import SurveyInvitation
from tests.conftest import DemoStore


def test_demo_has_survey_results(demo_store: DemoStore) -> None:
    with Session(get_engine(demo_store.url)) as session:
        figures = {
            s.key: service.survey_figures(db_session=session).get(s.id)
            for s in service.list_surveys(db_session=session)
        }
        after_delivery = figures["after_delivery"]
        assert after_delivery is not None and after_delivery["invited"] > 100
        assert 0.15 <= after_delivery["response_rate"] <= 0.45
        # Cases are worked and closed in the demo; their customers are asked how it went (结案回访).
        case_closed = figures["case_closed"]
        assert case_closed is not None and case_closed["invited"] >= 5 and case_closed["answered"] >= 1, (
            case_closed
        )
        assert (
            figures["after_chat"]
            and figures["relationship_nps"]
            and figures["relationship_nps"]["nps"] is not None
        )
        skipped = session.scalar(select(func.count()).where(SurveyInvitation.skip_reason == "fatigue"))
        assert skipped and skipped > 0
        survey = service.get_survey(db_session=session, key="after_delivery")
        assert survey is not None
        results = service.survey_results(db_session=session, survey=survey)
        assert results.recovery_cases > 0 and results.open_answers
        assert any(answer["sentiment"] for answer in results.open_answers)  # analysed by the demo's next step
        assert any(row["mentions"] for row in results.aspects)
        answered = session.scalar(select(func.count()).where(SurveyResponse.invitation_id.is_not(None)))
        assert answered and answered > 50
        # Each survey is sent once: the journeys' replay invites for the last days, the survey step before.
        orders_twice = select(SurveyInvitation.order_id).where(SurveyInvitation.order_id.is_not(None))
        orders_twice = orders_twice.group_by(SurveyInvitation.order_id).having(func.count() > 1)
        assert session.scalar(select(func.count()).select_from(orders_twice.subquery())) == 0
        by_journeys = select(func.count()).where(SurveyInvitation.trigger.like("journey:%"))
        assert session.scalar(by_journeys.where(SurveyInvitation.status == "answered"))
