"""Survey pages: the public answer page (no login, /s/<token>) and the staff pages (list, results, editor)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can_see_contact, roles_allowed
from cxloop.deps import SessionDep
from cxloop.i18n import normalize_locale, translate
from cxloop.surveys import service
from cxloop.surveys.schemas import Question, SurveyDefinition
from cxloop.web.charts import PALETTE
from cxloop.web.setup import SECURITY_HEADERS
from cxloop.web.templating import LOCALE_COOKIE, NavItem, get_locale, page_router, render, templates

T = TypeVar("T")
router = page_router(
    __file__, NavItem("surveys", "/surveys", roles_allowed("surveys", "read"), order=35, group="care")
)

#: Who may see survey results, and who may change surveys: the policy's "surveys" resource.
Reader = allow("surveys", "read")
Editor = allow("surveys", "write")

#: HTTP status of each reason a link cannot be answered.
LINK_STATUS = {"forged": 404, "expired": 410, "answered": 409, "inactive": 410, "rate_limited": 429}
#: Largest body the public endpoints read (a survey answer is a few kB at most).
MAX_BODY = 64 * 1024


# --- the public page ---------------------------------------------------------------------------------
#
# The public endpoints are the survey's hot path (bench/surveys.py): they are served by
# ``PublicSurveyLinks``, an ASGI front door that answers /s/... before the app's middleware and router,
# since a link is its own credential: no session, no CSRF token, no user, no dependency to solve. They
# keep their own protections (signed one-use links, rate limits, validation) and the security headers.


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


def _public_html(name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A public survey template (compiled once by Jinja's cache): only the customer's language, no session."""
    html = templates.env.get_template(name).render(context)
    return HTMLResponse(html, status_code=status_code)


@lru_cache(maxsize=512)
def _done_page(name: str, locale: str, reason: str | None, thanks: str | None) -> bytes:
    """The thank-you and link-error pages depend only on these: rendered once each."""
    context = {"reason": reason, "thanks": thanks, "locale": locale, "t": _t(locale)}
    return templates.env.get_template(name).render(context).encode("utf-8")


def _link_error(reason: str, locale: str) -> HTMLResponse:
    headers = {"Retry-After": "60"} if reason == "rate_limited" else None
    body = _done_page("surveys/link_error.html", locale, reason, None)
    return HTMLResponse(body, status_code=LINK_STATUS.get(reason, 400), headers=headers)


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


async def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY (read no further than that)."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_form(request: Request) -> dict[str, list[str]] | None:
    body = await _read_body(request)
    if body is None:
        return None
    raw: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        replay = Request(request.scope, _replay(body))
        form = await replay.form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                raw.setdefault(key, []).append(value)
        await form.close()
        return raw
    # A plain form post (what the page sends): parsed directly, without a multipart parser.
    for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        raw.setdefault(key, []).append(value)
    return raw


def _replay(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


#: Public requests doing database work at once in one process. SQLite has one writer; more threads
#: than this only queue on its lock while holding pooled connections (bench/surveys.py measured it).
PUBLIC_DB_LIMIT = 8
_db_limiter: anyio.CapacityLimiter | None = None


async def _in_db_thread(work: Callable[[], T]) -> T:
    """Run ``work`` (a service call that opens its own transaction) in a worker thread, a few at once."""
    global _db_limiter
    if _db_limiter is None:
        _db_limiter = anyio.CapacityLimiter(PUBLIC_DB_LIMIT)
    return await anyio.to_thread.run_sync(work, limiter=_db_limiter)


async def public_page(request: Request, token: str) -> HTMLResponse:
    """GET /s/<token>: the survey a customer opens from their link (no login)."""
    try:
        service.check_rate(token=token, address=_address(request))
        form = await _in_db_thread(lambda: service.open_public_link(token=token))
    except service.LinkError as exc:
        return _link_error(exc.reason, public_locale(request))
    locale = public_locale(request, form.locale)
    context = _form_context(
        form.definition,
        locale,
        form.answers,
        action=f"/s/{form.token}",
        progress=f"/s/{form.token}/progress",
    )
    return _public_html("surveys/public.html", context)


async def public_submit(request: Request, token: str) -> HTMLResponse:
    """POST /s/<token>: a submitted answer (a plain form post: works without JavaScript)."""
    locale = public_locale(request)
    try:
        service.check_rate(token=token, address=_address(request))
    except service.LinkError as exc:
        return _link_error(exc.reason, locale)
    raw = await _read_form(request)
    if raw is None:
        return HTMLResponse("answer too large", status_code=413)
    try:
        result = await _in_db_thread(lambda: service.submit_answer(token=token, raw=raw, locale=locale))
    except service.LinkError as exc:
        return _link_error(exc.reason, locale)
    except service.AnswerError as exc:
        definition = await _in_db_thread(lambda: service.public_definition(token=token))
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
        return _public_html("surveys/public.html", context, status_code=422)
    return HTMLResponse(_done_page("surveys/thanks.html", locale, None, result.thanks))


async def public_progress(request: Request, token: str) -> JSONResponse:
    """POST /s/<token>/progress: answers saved while the customer is answering (survey.js sends JSON)."""
    try:
        service.check_rate(token=token, address=_address(request))
    except service.LinkError as exc:
        return JSONResponse({"error": exc.reason}, status_code=LINK_STATUS[exc.reason])
    body = await _read_body(request)
    if body is None:
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
            lambda: service.save_public_progress(token=token, raw=answers, locale=locale)
        )
    except service.LinkError as exc:
        return JSONResponse({"error": exc.reason}, status_code=LINK_STATUS[exc.reason])
    except service.AnswerError as exc:
        return JSONResponse(
            {"error": "invalid", "questions": _error_texts(exc.errors, locale)}, status_code=422
        )
    return JSONResponse({"saved": sorted(saved)})


async def _public_response(request: Request) -> Response | None:
    """Dispatch a /s/... request to its handler; None when no public route matches (the app answers)."""
    parts = request.url.path.split("/")  # "", "s", token[, "progress"]
    if len(parts) == 3 and parts[2]:
        if request.method in ("GET", "HEAD"):
            return await public_page(request, parts[2])
        if request.method == "POST":
            return await public_submit(request, parts[2])
    elif len(parts) == 4 and parts[2] and parts[3] == "progress" and request.method == "POST":
        return await public_progress(request, parts[2])
    return None


class PublicSurveyLinks:
    """ASGI front door of the public survey endpoints (GET/POST /s/<token>, POST /s/<token>/progress).

    Installed outermost by ``create_app``; any other path, or a method these routes do not take, goes
    on to the app unchanged. Adds the app's security headers, ``Cache-Control: no-store`` and the
    ``?lang=`` cookie itself, and answers a locked SQLite database with 503 like the app does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve /s/... here; hand everything else to the app."""
        if scope["type"] != "http" or not scope["path"].startswith("/s/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await _public_response(request)
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            response = HTMLResponse(
                "busy, try again / 繁忙，请重试", status_code=503, headers={"Retry-After": "5"}
            )
        if response is None:
            await self.app(scope, receive, send)
            return
        headers = response.headers
        for name, value in SECURITY_HEADERS:
            headers.setdefault(name, value)
        headers.setdefault("cache-control", "no-store")
        chosen = normalize_locale(request.query_params.get("lang"))
        if chosen:
            headers.append("set-cookie", f"{LOCALE_COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax")
        await response(scope, receive, send)


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
    results = service.survey_results(
        db_session=db_session, survey=survey, locale=locale, personal_data=can_see_contact(user)
    )
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
