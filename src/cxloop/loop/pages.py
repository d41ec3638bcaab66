"""Web pages of the loop: tasks (with evidence), cases (checklist and SLA clocks), alert rules, inbox."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cxloop.auth.models import User
from cxloop.auth.policy import allow, can, can_see_contact, department_filter, redact_for, roles_allowed
from cxloop.deps import SessionDep
from cxloop.loop.alerts.service import list_alerts
from cxloop.loop.cases import service as case_service
from cxloop.loop.models import CASE_STEPS, RESOLUTIONS, TASK_STATUSES
from cxloop.loop.notifications import service as notify_service
from cxloop.loop.rules import service as rule_service
from cxloop.loop.tasks import service as task_service
from cxloop.loop.views import (
    CaseCreator,
    CaseLister,
    CaseReader,
    CaseWriter,
    InboxUser,
    RuleWriter,
    TaskLister,
    TaskReader,
    TaskWriter,
    case_department_for,
    check_task_status,
)
from cxloop.web.templating import NavItem, page_router, render

router = page_router(
    __file__,
    NavItem("tasks", "/tasks", order=30),
    NavItem("cases", "/cases", order=31),
    NavItem("alerts", "/alerts", roles_allowed("rules", "read"), order=32),
    NavItem("inbox", "/inbox", order=33),
)

RuleReader = Annotated[User, allow("rules", "read")]


def _people(db_session: Any) -> dict[int, str]:
    return task_service.people_names(db_session=db_session)


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- tasks --------------------------------------------------------------------------------------------


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request,
    user: TaskLister,
    db_session: SessionDep,
    status: str | None = None,
    department: str | None = None,
) -> HTMLResponse:
    """The task list; department members see their own department's."""
    tasks = task_service.list_tasks(
        db_session=db_session,
        department=department or department_filter(user, "tasks"),
        status=status or None,
    )
    return render(
        request,
        "loop/tasks.html",
        {
            "tasks": tasks,
            "people": _people(db_session),
            "statuses": TASK_STATUSES,
            "status": status,
            "department": department,
        },
    )


def _task_for(db_session: Any, task_id: int, user: User) -> Any:
    # The route's policy has checked the department already; this only loads the task or 404s.
    try:
        return task_service.get_task(db_session=db_session, task_id=task_id)
    except KeyError:
        raise HTTPException(404) from None


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: int, user: TaskReader, db_session: SessionDep) -> HTMLResponse:
    """One task: evidence chart, sample complaints, comments and the status form."""
    task = _task_for(db_session, task_id, user)
    series = (task.evidence or {}).get("series") or []
    chart = {
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": [p for p, _ in series]},
        "yAxis": {"type": "value", "name": (task.evidence or {}).get("unit", "")},
        "series": [
            {
                "type": "line",
                "name": task.indicator or "",
                "data": [v for _, v in series],
                "markLine": {"data": [{"yAxis": (task.evidence or {}).get("baseline")}]}
                if (task.evidence or {}).get("baseline") is not None
                else {},
            }
        ],
    }
    return render(
        request,
        "loop/task.html",
        {
            "task": task,
            **task_service.texts_as_seen(task, personal_data=can_see_contact(user)),
            "chart": chart if series else None,
            "people": _people(db_session),
            "comments": task_service.comments(db_session=db_session, task_id=task_id),
            "next_statuses": [
                s
                for s in task_service.TRANSITIONS.get(task.status, ())
                if s != "verified" or can(user, "tasks", "verify", task.department)
            ],
        },
    )


@router.post("/tasks/{task_id}/update")
def task_update(
    task_id: int, user: TaskWriter, db_session: SessionDep, status: str = Form(""), outcome: str = Form("")
) -> RedirectResponse:
    """Change a task's status / outcome from the detail page; only managers mark it verified."""
    check_task_status(user, _task_for(db_session, task_id, user), status or None)
    try:
        task_service.update_task(
            db_session=db_session,
            task_id=task_id,
            actor=user.username,
            status=status or None,
            outcome=outcome or None,
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _back(f"/tasks/{task_id}")


@router.post("/tasks/{task_id}/comment")
def task_comment(
    task_id: int, user: TaskWriter, db_session: SessionDep, body: str = Form(...)
) -> RedirectResponse:
    """Comment on a task."""
    _task_for(db_session, task_id, user)
    try:
        task_service.add_comment(db_session=db_session, task_id=task_id, author=user.username, body=body)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _back(f"/tasks/{task_id}")


# --- cases --------------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request, user: CaseLister, db_session: SessionDep, status: str | None = None
) -> HTMLResponse:
    """The case list with both SLA clocks; department members see their department's."""
    rows = [
        (c, case_service.sla_clocks(c), redact_for(user, c.title))
        for c in case_service.list_cases(
            db_session=db_session, status=status or None, department=department_filter(user, "cases")
        )
    ]
    return render(request, "loop/cases.html", {"rows": rows, "people": _people(db_session), "status": status})


@router.post("/cases")
def case_create(
    user: CaseCreator,
    db_session: SessionDep,
    title: str = Form(...),
    description: str = Form(""),
    priority: str = Form("medium"),
    department: str = Form(""),
) -> RedirectResponse:
    """Open a case by hand (in your department unless another one is named)."""
    try:
        case = case_service.create_case(
            db_session=db_session,
            department=case_department_for(user, department or None),
            actor=user.username,
            title=title,
            description=description,
            priority=priority,
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _back(f"/cases/{case.id}")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, user: CaseReader, db_session: SessionDep) -> HTMLResponse:
    """One case: the four steps, SLA clocks, promise and resolution forms."""
    try:
        case = case_service.get_case(db_session=db_session, case_id=case_id)
    except KeyError:
        raise HTTPException(404) from None
    from cxloop.taxonomy import aspects

    locale = getattr(request.state, "locale", None) or "zh"
    return render(
        request,
        "loop/case.html",
        {
            "case": case,
            "title": redact_for(user, case.title),
            "description": redact_for(user, case.description),
            "clocks": case_service.sla_clocks(case),
            "people": _people(db_session),
            "steps": case_service.steps(db_session=db_session, case_id=case_id),
            "step_names": case_service.STEP_NAMES,
            "promises": case_service.promise_options(),
            "resolutions": RESOLUTIONS,
            "aspects": aspects(),
            "locale_hint": locale,
        },
    )


def _case_action(fn: Any, case_id: int, **kwargs: Any) -> RedirectResponse:
    try:
        fn(case_id=case_id, **kwargs)
    except KeyError:
        raise HTTPException(404) from None
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/step/{step}")
def case_step(
    case_id: int, step: str, user: CaseWriter, db_session: SessionDep, note: str = Form("")
) -> RedirectResponse:
    """Tick a step."""
    if step not in CASE_STEPS:
        raise HTTPException(404)
    return _case_action(
        case_service.complete_step,
        case_id,
        db_session=db_session,
        step=step,
        actor=user.username,
        note=note or None,
    )


@router.post("/cases/{case_id}/promise")
def case_promise(
    case_id: int, user: CaseWriter, db_session: SessionDep, promise: str = Form(...)
) -> RedirectResponse:
    """Record a promise."""
    return _case_action(
        case_service.set_promise, case_id, db_session=db_session, promise=promise, actor=user.username
    )


@router.post("/cases/{case_id}/follow-up")
def case_follow_up(
    case_id: int, user: CaseWriter, db_session: SessionDep, note: str = Form("")
) -> RedirectResponse:
    """Record the follow-up."""
    return _case_action(
        case_service.record_follow_up, case_id, db_session=db_session, actor=user.username, note=note or None
    )


@router.post("/cases/{case_id}/resolve")
def case_resolve(
    case_id: int,
    user: CaseWriter,
    db_session: SessionDep,
    resolution: str = Form(...),
    root_cause: str = Form(...),
    note: str = Form(""),
) -> RedirectResponse:
    """Resolve the case."""
    return _case_action(
        case_service.resolve_case,
        case_id,
        db_session=db_session,
        resolution=resolution,
        root_cause=root_cause,
        actor=user.username,
        note=note or None,
    )


# --- alerts and rules ---------------------------------------------------------------------------------


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, db_session: SessionDep, user: RuleReader) -> HTMLResponse:
    """Open alerts and the rule editor (YAML per rule)."""
    rules = rule_service.list_rules(db_session=db_session)
    alerts = list_alerts(db_session=db_session, status="open", limit=None)
    codes = {r.id: r.code for r in rules}
    texts = {
        r.code: yaml.safe_dump(
            {
                k: v
                for k, v in rule_service.rule_dict(r).items()
                if k not in ("id", "code", "evaluated_until")
            },
            allow_unicode=True,
            sort_keys=False,
        )
        for r in rules
    }
    return render(
        request,
        "loop/alerts.html",
        {
            "rules": rules,
            "alerts": alerts,
            "codes": codes,
            "texts": texts,
            "can_edit": can(user, "rules", "write"),
        },
    )


@router.post("/alerts/rules")
def rule_save(
    db_session: SessionDep, user: RuleWriter, code: str = Form(...), definition: str = Form(...)
) -> RedirectResponse:
    """Create or update a rule from its YAML definition."""
    try:
        data = yaml.safe_load(definition) or {}
        if not isinstance(data, dict):
            raise ValueError("the definition must be a mapping")
        rule_service.upsert_rule(db_session=db_session, code=code.strip(), data=data, actor=user.username)
    except (ValueError, yaml.YAMLError) as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _back("/alerts")


@router.post("/alerts/run")
def rules_run(db_session: SessionDep, user: RuleWriter) -> RedirectResponse:
    """Evaluate the rules now."""
    from cxloop.loop.service import evaluate_rules

    evaluate_rules(db_session=db_session)
    return _back("/alerts")


# --- inbox --------------------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, user: InboxUser, db_session: SessionDep) -> HTMLResponse:
    """The user's in-app messages."""
    return render(
        request, "loop/inbox.html", {"messages": notify_service.inbox(db_session=db_session, user_id=user.id)}
    )


@router.post("/inbox/read")
def inbox_read(user: InboxUser, db_session: SessionDep) -> RedirectResponse:
    """Mark every message read."""
    notify_service.mark_read(db_session=db_session, user_id=user.id)
    return _back("/inbox")
