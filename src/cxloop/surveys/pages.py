"""Survey pages: the public answer page (no login, /s/<token>) and the staff pages (list, results, editor)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cxloop.auth.models import User
from cxloop.auth.policy import allow, public, roles_allowed
from cxloop.db import session_factory
from cxloop.deps import SessionDep
from cxloop.i18n import normalize_locale, translate
from cxloop.surveys import service
from cxloop.surveys.schemas import Question, SurveyDefinition
from cxloop.web.charts import PALETTE
from cxloop.web.templating import (
    LOCALE_COOKIE,
    get_locale,
    register_nav,
    register_template_dir,
    render,
    templates,
)

T = TypeVar("T")
router = APIRouter(include_in_schema=False)
register_template_dir(Path(__file__).parent / "templates")
register_nav(
    "surveys",
    "/surveys",
    roles=roles_allowed("surveys", "read"),
    label={"zh": "问卷", "en": "Surveys"},
    order=35,
    group="care",
)

#: Who may see survey results, and who may change surveys: the policy's "surveys" resource.
Reader = allow("surveys", "read")
Editor = allow("surveys", "write")

#: HTTP status of each reason a link cannot be answered.
LINK_STATUS = {"forged": 404, "expired": 410, "answered": 409, "inactive": 410, "rate_limited": 429}
#: Largest body the public endpoints read (a survey answer is a few kB at most).
MAX_BODY = 64 * 1024


# --- the public page ---------------------------------------------------------------------------------


def public_locale(request: Request, invitation_locale: str | None = None) -> str:
    """The customer's language: ?lang=, the cookie, the browser's Accept-Language, the invitation's, zh."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        locale = normalize_locale(candidate)
        if locale:
            return locale
    accepted = []
    for part in request.headers.get("accept-language", "").split(","):
        lang, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        locale = normalize_locale(lang)
        if locale:
            accepted.append((weight, locale))
    if accepted:
        return max(accepted, key=lambda pair: pair[0])[1]
    return normalize_locale(invitation_locale) or "zh"


def render_public(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A public survey template: only the customer's language, no staff session, no CSRF cookie."""
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers
    )
    return response


def _link_error(request: Request, reason: str, locale: str | None = None) -> HTMLResponse:
    locale = locale or public_locale(request)
    status_code = LINK_STATUS.get(reason, 400)
    headers = {"Retry-After": "60"} if reason == "rate_limited" else None
    return render_public(
        request,
        "surveys/link_error.html",
        {"reason": reason, "locale": locale, "t": _t(locale)},
        status_code=status_code,
        headers=headers,
    )


def _t(locale: str) -> Any:
    def t(key: str, **kw: Any) -> str:
        return translate(key, locale, **kw)

    return t


def _error_texts(errors: dict[str, tuple[str, dict[str, Any]]], locale: str) -> dict[str, str]:
    return {qid: translate(f"surveys.error.{key}", locale, **values) for qid, (key, values) in errors.items()}


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _form_context(
    definition: SurveyDefinition,
    locale: str,
    answers: dict[str, Any],
    *,
    action: str | None,
    progress: str | None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    visible = {q.id for q in service.visible_questions(definition, answers)}
    return {
        "definition": definition,
        "questions": [
            _question_view(q, locale, answers.get(q.id), q.id in visible) for q in definition.questions
        ],
        "answers": answers,
        "action": action,
        "progress": progress,
        "errors": errors or {},
        "locale": locale,
        "t": _t(locale),
    }


def _question_view(question: Question, locale: str, value: Any, visible: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "q": question,
        "text": question.text.get(locale),
        "value": value,
        "visible": visible,
        "low_label": question.low_label.get(locale) if question.low_label else "",
        "high_label": question.high_label.get(locale) if question.high_label else "",
    }
    if question.scored:
        low, high = question.scale()
        view["scale"] = list(range(low, high + 1))
    if question.options:
        view["options"] = [(o.value, o.text.get(locale)) for o in question.options]
    if question.show_if:
        view["show_if"] = question.show_if
    return view


async def _read_form(request: Request) -> dict[str, list[str]] | None:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return None
    form = await request.form()
    raw: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            raw.setdefault(key, []).append(value)
    await form.close()
    return raw


#: Public requests doing database work at once in one process. SQLite has one writer; more threads
#: than this only queue on its lock while holding pooled connections (bench/surveys.py measured it).
PUBLIC_DB_LIMIT = 8
_db_limiter: anyio.CapacityLimiter | None = None


async def _in_db_thread(work: Callable[[Session], T]) -> T:
    """Run ``work`` with its own session in a worker thread, at most PUBLIC_DB_LIMIT at once."""
    global _db_limiter
    if _db_limiter is None:
        _db_limiter = anyio.CapacityLimiter(PUBLIC_DB_LIMIT)

    def run() -> T:
        session = session_factory()()
        try:
            return work(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    return await anyio.to_thread.run_sync(run, limiter=_db_limiter)


@router.get("/s/{token}", response_class=HTMLResponse, dependencies=[public()])
async def public_page(request: Request, token: str) -> HTMLResponse:
    """The survey a customer opens from their link (no login)."""
    try:
        service.check_rate(token=token, address=_address(request))
        form = await _in_db_thread(lambda session: service.open_link(db_session=session, token=token))
    except service.LinkError as exc:
        return _link_error(request, exc.reason)
    locale = public_locale(request, form.locale)
    context = _form_context(
        form.definition,
        locale,
        form.answers,
        action=f"/s/{form.token}",
        progress=f"/s/{form.token}/progress",
    )
    return render_public(request, "surveys/public.html", context)


@router.post("/s/{token}", response_class=HTMLResponse, dependencies=[public()])
async def public_submit(request: Request, token: str) -> HTMLResponse:
    """A submitted answer (a plain form post: works without JavaScript)."""
    try:
        service.check_rate(token=token, address=_address(request))
    except service.LinkError as exc:
        return _link_error(request, exc.reason)
    raw = await _read_form(request)
    if raw is None:
        raise HTTPException(413, detail="answer too large")
    locale = public_locale(request)
    try:
        result = await _in_db_thread(
            lambda session: service.submit(db_session=session, token=token, raw=raw, locale=locale)
        )
    except service.LinkError as exc:
        return _link_error(request, exc.reason, locale)
    except service.AnswerError as exc:
        survey = await _in_db_thread(
            lambda session: service.get_survey(db_session=session, key=service.read_token(token).survey_key)
        )
        assert survey is not None  # submit checked the link's survey
        definition = service.definition_of(survey)
        # Show the form again with what was valid kept and each wrong answer explained.
        kept = {k: v[0] if len(v) == 1 else v for k, v in raw.items() if definition.question(k)}
        context = _form_context(
            definition,
            locale,
            kept,
            action=f"/s/{token}",
            progress=f"/s/{token}/progress",
            errors=_error_texts(exc.errors, locale),
        )
        return render_public(request, "surveys/public.html", context, status_code=422)
    return render_public(
        request,
        "surveys/thanks.html",
        {"thanks": result.thanks, "locale": locale, "t": _t(locale)},
    )


@router.post("/s/{token}/progress", dependencies=[public()])
async def public_progress(request: Request, token: str) -> JSONResponse:
    """Answers saved while the customer is answering (survey.js sends them as JSON)."""
    try:
        service.check_rate(token=token, address=_address(request))
    except service.LinkError as exc:
        return JSONResponse({"error": exc.reason}, status_code=LINK_STATUS[exc.reason])
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "too_large"}, status_code=413)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return JSONResponse({"error": "bad_json"}, status_code=400)
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, dict):
        return JSONResponse({"error": "bad_json", "expected": '{"answers": {...}}'}, status_code=400)
    locale = public_locale(request)
    try:
        saved = await _in_db_thread(
            lambda session: service.save_progress(db_session=session, token=token, raw=answers, locale=locale)
        )
    except service.LinkError as exc:
        return JSONResponse({"error": exc.reason}, status_code=LINK_STATUS[exc.reason])
    except service.AnswerError as exc:
        return JSONResponse(
            {"error": "invalid", "questions": _error_texts(exc.errors, locale)}, status_code=422
        )
    return JSONResponse({"saved": sorted(saved)})


# --- staff pages ---------------------------------------------------------------------------------------


def _survey_or_404(db_session: SessionDep, key: str) -> Any:
    survey = service.get_survey(db_session=db_session, key=key)
    if survey is None:
        raise HTTPException(404, detail="no such survey")
    return survey


@router.get("/surveys", response_class=HTMLResponse)
def surveys_page(request: Request, db_session: SessionDep, user: User = Reader) -> HTMLResponse:
    """Every survey with its response rate and scores."""
    service.ensure_default_surveys(db_session=db_session)
    surveys = service.list_surveys(db_session=db_session)
    figures = service.survey_figures(db_session=db_session)
    rows = [(s, figures.get(s.id) or service.empty_figures()) for s in surveys]
    return render(request, "surveys/list.html", {"rows": rows})


def _distribution_chart(question: Question, counts: dict[int, int], locale: str) -> dict[str, Any]:
    low, high = question.scale()
    colours = []
    for score in range(low, high + 1):
        position = (score - low) / max(1, high - low)
        colours.append(PALETTE[1] if position < 0.4 else (PALETTE[3] if position < 0.7 else PALETTE[2]))
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "confine": True},
        "grid": {"left": 36, "right": 12, "top": 16, "bottom": 24},
        "xAxis": {"type": "category", "data": [str(s) for s in range(low, high + 1)]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": question.text.get(locale),
                "data": [
                    {"value": counts.get(s, 0), "itemStyle": {"color": colours[i]}}
                    for i, s in enumerate(range(low, high + 1))
                ],
            }
        ],
    }


def _trend_chart(trend: list[dict[str, Any]], locale: str) -> dict[str, Any] | None:
    kinds = [k for k in ("csat", "nps", "ces") if any(k in p for p in trend)]
    if not trend or not kinds:
        return None
    series = []
    for index, kind in enumerate(kinds):
        scale = 100.0 if kind == "csat" else 1.0
        series.append(
            {
                "type": "line",
                "name": translate(f"surveys.{kind}", locale),
                "yAxisIndex": 1 if kind == "ces" else 0,
                "data": [None if p.get(kind) is None else round(p[kind] * scale, 1) for p in trend],
                "connectNulls": True,
                "itemStyle": {"color": PALETTE[index]},
            }
        )
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {"top": 0},
        "grid": {"left": 40, "right": 40, "top": 32, "bottom": 24},
        "xAxis": {"type": "category", "data": [p["week"] for p in trend]},
        "yAxis": [{"type": "value"}, {"type": "value", "min": 1, "max": 7}],
        "series": series,
    }


@router.get("/surveys/{key}", response_class=HTMLResponse)
def survey_page(request: Request, key: str, db_session: SessionDep, user: User = Reader) -> HTMLResponse:
    """A survey's results: distribution, trend, aspects, open answers, response rates and bias."""
    if key in ("new",):
        raise HTTPException(404)
    survey = _survey_or_404(db_session, key)
    locale = get_locale(request)
    definition = service.definition_of(survey)
    results = service.survey_results(db_session=db_session, survey=survey, locale=locale)
    charts = [
        (q, json.dumps(_distribution_chart(q, results.distribution.get(q.id, {}), locale)))
        for q in definition.questions
        if q.scored
    ]
    trend = _trend_chart(results.trend, locale)
    choices = [
        (q, [(o.text.get(locale), results.choices.get(q.id, {}).get(o.value, 0)) for o in q.options or []])
        for q in definition.questions
        if q.options
    ]
    figures = service.survey_figures(db_session=db_session, survey_ids=[survey.id]).get(survey.id) or (
        service.empty_figures()
    )
    return render(
        request,
        "surveys/results.html",
        {
            "survey": survey,
            "definition": definition,
            "results": results,
            "figures": figures,
            "charts": charts,
            "trend_chart": json.dumps(trend) if trend else None,
            "choices": choices,
            "anonymous_link": service.anonymous_link(survey=survey),
            "invitations": service.list_invitations(db_session=db_session, survey=survey, limit=20),
        },
    )


@router.get("/surveys/{key}/qr.svg")
def survey_qr(key: str, db_session: SessionDep, user: User = Reader) -> Response:
    """The anonymous link as a QR code (SVG) for a parcel insert."""
    survey = _survey_or_404(db_session, key)
    svg = service.qr_svg(service.anonymous_link(survey=survey), title=survey.name_zh)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="survey-{survey.key}.svg"'},
    )


def _editor(
    request: Request,
    text: str,
    key: str | None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "surveys/editor.html",
        {"text": text, "key": key, "problems": problems or []},
        status_code=status,
    )


@router.get("/surveys/new/edit", response_class=HTMLResponse)
def new_survey_page(request: Request, user: User = Editor) -> HTMLResponse:
    """The editor with a starting survey."""
    starter = service.default_definitions()[0].model_copy(update={"key": "my_survey"})
    return _editor(request, service.definition_yaml(starter), None)


@router.get("/surveys/{key}/edit", response_class=HTMLResponse)
def edit_survey_page(request: Request, key: str, db_session: SessionDep, user: User = Editor) -> HTMLResponse:
    """The editor for one survey, with the live preview of its public page."""
    survey = _survey_or_404(db_session, key)
    return _editor(request, service.definition_yaml(service.definition_of(survey)), key)


@router.post("/surveys/save", response_class=HTMLResponse)
def save_survey(
    request: Request, db_session: SessionDep, definition: str = Form(...), user: User = Editor
) -> Response:
    """Save the editor's YAML (validated whole; the problems are shown with their line)."""
    try:
        saved = service.load_text(
            db_session=db_session, text=definition, source="editor", actor=user.username
        )
    except service.DefinitionError as exc:
        return _editor(request, definition, None, exc.problems, status=422)
    return RedirectResponse(f"/surveys/{next(iter(saved))}", status_code=303)


@router.post("/surveys/preview", response_class=HTMLResponse)
def preview_survey(request: Request, user: User = Editor, definition: str = Form("")) -> HTMLResponse:
    """The public page of the YAML being edited (htmx swaps it into the editor as the user types)."""
    locale = get_locale(request)
    try:
        parsed = service.parse_definitions(definition, source="editor")
    except service.DefinitionError as exc:
        return render(request, "surveys/_problems.html", {"problems": exc.problems})
    context = _form_context(parsed[0], locale, {}, action=None, progress=None)
    return render(request, "surveys/_form.html", context)
