"""REST API of surveys (mounted under /api/v1): definitions, invitations, results."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from cxloop.auth.models import User
from cxloop.auth.policy import allow
from cxloop.clock import now as clock_now
from cxloop.deps import SessionDep
from cxloop.surveys import service
from cxloop.surveys.schemas import InviteOut, InviteRequest, SurveyOut

router = APIRouter(prefix="/surveys", tags=["surveys"])
# What each caller may do is the policy's answer (cxloop.auth.policy, resource "surveys").
Reader = allow("surveys", "read")
Editor = allow("surveys", "write")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


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


@router.get("/{key}")
def get_survey(key: str, db_session: SessionDep, user: User = Reader) -> dict[str, Any]:
    """One survey's definition (as JSON) and version."""
    survey = _survey(db_session, key)
    return {"key": survey.key, "version": survey.version, "definition": survey.definition}


@router.put("/{key}")
async def put_survey(
    key: str,
    request: Request,
    db_session: SessionDep,
    user: User = Editor,
) -> JSONResponse:
    """Create or replace a survey from YAML or JSON (the body); 422 names each problem and its line."""
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        definitions = service.parse_definitions(text, source="request body")
    except service.DefinitionError as exc:
        return JSONResponse({"detail": exc.problems}, status_code=422)
    if len(definitions) != 1 or definitions[0].key != key:
        return JSONResponse(
            {"detail": [{"field": "key", "expected": f"one survey whose key is {key!r}"}]}, status_code=422
        )
    survey, outcome = service.save_definition(
        db_session=db_session, definition=definitions[0], actor=user.username
    )
    db_session.commit()
    return JSONResponse({"key": survey.key, "version": survey.version, "outcome": outcome})


@router.post("/{key}/invitations", response_model=InviteOut)
def invite(key: str, body: InviteRequest, db_session: SessionDep, user: User = Editor) -> InviteOut:
    """Invite one customer now (the fatigue rules apply; journeys call the same service)."""
    result = service.invite(
        db_session,
        survey_key=key,
        customer_id=body.customer_id,
        trigger=body.trigger,
        now=clock_now(),
        order_id=body.order_id,
        case_id=body.case_id,
        reminder=body.reminder,
    )
    db_session.commit()
    return InviteOut(**dataclasses.asdict(result))


@router.get("/{key}/results")
def results(key: str, db_session: SessionDep, user: User = Reader, locale: str = "zh") -> dict[str, Any]:
    """Distribution, weekly trend, answers by aspect, open answers with analysis, response rates, bias."""
    survey = _survey(db_session, key)
    res = service.survey_results(db_session=db_session, survey=survey, locale=locale)
    out: dict[str, Any] = _plain(dataclasses.asdict(res))
    return out


@router.get("/{key}/links")
def links(key: str, db_session: SessionDep, user: User = Editor) -> dict[str, str]:
    """The survey's anonymous link (for a QR code or a web page)."""
    survey = _survey(db_session, key)
    return {"anonymous": service.anonymous_link(survey=survey), "qr_svg": f"/surveys/{survey.key}/qr.svg"}


@router.post("/{key}/validate")
def validate(
    key: str, db_session: SessionDep, answers: dict[str, Any] = Body(...), user: User = Reader
) -> dict[str, Any]:
    """Check answers against the survey's questions without storing them (what the public page accepts)."""
    survey = _survey(db_session, key)
    try:
        clean = service.clean_answers(service.definition_of(survey), answers, complete=True)
    except service.AnswerError as exc:
        return {"valid": False, "errors": {qid: {"error": k, **v} for qid, (k, v) in exc.errors.items()}}
    return {"valid": True, "answers": clean}
