"""REST API of surveys (mounted under /api/v1): definitions, invitations, results."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can_see_contact
from cxloop.deps import SessionDep
from cxloop.surveys import service
from cxloop.surveys.schemas import (
    AnswerProblem,
    InviteOut,
    InviteRequest,
    SurveyDefinitionOut,
    SurveyLinks,
    SurveyOut,
    SurveyResultsOut,
    SurveySaved,
    ValidationOut,
)

router = APIRouter(prefix="/surveys", tags=["surveys"])
# What each caller may do is the policy's answer (cxloop.auth.policy, resource "surveys").
Reader = allow("surveys", "read")
Editor = allow("surveys", "write")


def _survey(db_session: SessionDep, key: str) -> Any:
    survey = service.get_survey(db_session=db_session, key=key)
    if survey is None:
        raise HTTPException(404, detail=f"no survey {key!r}")
    return survey


@router.get("", response_model=list[SurveyOut])
def list_surveys(db_session: SessionDep, user: User = Reader) -> list[SurveyOut]:
    """Every survey with invited, answered, response rate, CSAT, NPS and CES."""
    service.ensure_default_surveys(db_session=db_session)
    figures = service.survey_figures(db_session=db_session)
    out = []
    for survey in service.list_surveys(db_session=db_session):
        f = figures.get(survey.id, {})
        out.append(
            SurveyOut(
                key=survey.key,
                name_zh=survey.name_zh,
                name_en=survey.name_en,
                active=survey.active,
                version=survey.version,
                invited=f.get("invited", 0),
                answered=f.get("answered", 0),
                response_rate=f.get("response_rate"),
                csat=f.get("csat"),
                nps=f.get("nps"),
                ces=f.get("ces"),
                updated_at=survey.updated_at,
            )
        )
    return out


@router.get("/{key}", response_model=SurveyDefinitionOut, response_model_exclude_none=True)
def get_survey(key: str, db_session: SessionDep, user: User = Reader) -> SurveyDefinitionOut:
    """One survey's definition (as JSON) and version."""
    survey = _survey(db_session, key)
    return SurveyDefinitionOut(
        key=survey.key, version=survey.version, definition=service.definition_of(survey)
    )


@router.put("/{key}", response_model=SurveySaved)
async def put_survey(key: str, request: Request, db_session: SessionDep, user: User = Editor) -> Any:
    """Create or replace a survey from YAML or JSON (the body); 422 names each problem and its line."""
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        survey, outcome = service.save_text(db_session=db_session, key=key, text=text, actor=user.username)
    except service.DefinitionError as exc:
        return JSONResponse({"detail": exc.problems}, status_code=422)
    return SurveySaved(key=survey.key, version=survey.version, outcome=outcome)


@router.post("/{key}/invitations", response_model=InviteOut)
def invite(key: str, body: InviteRequest, db_session: SessionDep, user: User = Editor) -> InviteOut:
    """Invite one customer now (the fatigue rules apply; journeys call the same service)."""
    result = service.invite_customer(db_session=db_session, survey_key=key, request=body)
    return InviteOut(**dataclasses.asdict(result))


@router.get("/{key}/results", response_model=SurveyResultsOut)
def results(key: str, db_session: SessionDep, user: User = Reader, locale: str = "zh") -> SurveyResultsOut:
    """Distribution, weekly trend, answers by aspect, open answers with analysis, response rates, bias."""
    survey = _survey(db_session, key)
    res = service.survey_results(
        db_session=db_session, survey=survey, locale=locale, personal_data=can_see_contact(user)
    )
    return SurveyResultsOut.model_validate(dataclasses.asdict(res))


@router.get("/{key}/links", response_model=SurveyLinks)
def links(key: str, db_session: SessionDep, user: User = Editor) -> SurveyLinks:
    """The survey's anonymous link (for a QR code or a web page)."""
    survey = _survey(db_session, key)
    return SurveyLinks(
        anonymous=service.anonymous_link(survey=survey), qr_svg=f"/surveys/{survey.key}/qr.svg"
    )


@router.post("/{key}/validate", response_model=ValidationOut, response_model_exclude_none=True)
def validate(
    key: str, db_session: SessionDep, answers: dict[str, Any] = Body(...), user: User = Reader
) -> ValidationOut:
    """Check answers against the survey's questions without storing them (what the public page accepts)."""
    survey = _survey(db_session, key)
    try:
        clean = service.clean_answers(service.definition_of(survey), answers, complete=True)
    except service.AnswerError as exc:
        errors = {qid: AnswerProblem(error=k, **v) for qid, (k, v) in exc.errors.items()}
        return ValidationOut(valid=False, errors=errors)
    return ValidationOut(valid=True, answers=clean)
