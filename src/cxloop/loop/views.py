"""REST API of the loop (mounted under /api/v1): rules, alerts, tasks, cases, inbox, webhooks, audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status

from cxloop.auth.models import User
from cxloop.auth.policy import (
    allow,
    authorize,
    can_see_contact,
    department_filter,
    department_query,
    redact_for,
)
from cxloop.deps import SessionDep
from cxloop.loop import audit as audit_service
from cxloop.loop import webhooks as webhook_service
from cxloop.loop.alerts import service as alert_service
from cxloop.loop.cases import service as case_service
from cxloop.loop.models import Case, Task
from cxloop.loop.notifications import service as notify_service
from cxloop.loop.rules import service as rule_service
from cxloop.loop.schemas import (
    AlertOut,
    AuditEntryOut,
    CaseDetail,
    CaseIn,
    CaseOut,
    CasePatch,
    CommentIn,
    CommentOut,
    InboxMessageOut,
    LoopRunOut,
    MarkedOut,
    OutboxMessageOut,
    PromiseIn,
    ResolveIn,
    RuleIn,
    RuleOut,
    RuleSaved,
    StepIn,
    TaskDetail,
    TaskIn,
    TaskOut,
    TaskPatch,
    WebhookIn,
    WebhookOut,
)
from cxloop.loop.tasks import service as task_service

router = APIRouter(prefix="/loop", tags=["loop"])


# --- policy: every route of the loop, API and pages, declares one of these -------------------------


def task_department(task_id: int, db_session: SessionDep) -> str | None:
    """Scope of a task route: the task's department (None for an unknown task: 404 later)."""
    try:
        return task_service.get_task(db_session=db_session, task_id=task_id).department
    except KeyError:
        return None


def case_department(case_id: int, db_session: SessionDep) -> str | None:
    """Scope of a case route: the case's department (None for an unknown case: 404 later)."""
    try:
        return case_service.get_case(db_session=db_session, case_id=case_id).department
    except KeyError:
        return None


async def body_department(request: Request) -> str | None:
    """Scope of a create route: the ``department`` field of the JSON body or the form."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            data = await request.json()
        else:
            data = dict(await request.form())
    except ValueError:
        return None  # a malformed body is refused by validation with its own message
    value = data.get("department") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


TaskLister = Annotated[User, allow("tasks", "read", scope=department_query)]
TaskReader = Annotated[User, allow("tasks", "read", scope=task_department)]
TaskWriter = Annotated[User, allow("tasks", "write", scope=task_department)]
TaskCreator = Annotated[User, allow("tasks", "write", scope=body_department)]
CaseLister = Annotated[User, allow("cases", "read")]
CaseReader = Annotated[User, allow("cases", "read", scope=case_department)]
CaseWriter = Annotated[User, allow("cases", "write", scope=case_department)]
CaseCreator = Annotated[User, allow("cases", "write", scope=body_department)]
AlertReader = Annotated[User, allow("alerts", "read")]
RuleReader = Annotated[User, allow("rules", "read")]
RuleWriter = Annotated[User, allow("rules", "write")]
WebhookReader = Annotated[User, allow("webhooks", "read")]
WebhookWriter = Annotated[User, allow("webhooks", "write")]
AuditReader = Annotated[User, allow("audit", "read")]
InboxUser = Annotated[User, allow("account", "use")]


def check_task_status(user: User, task: Task, new_status: str | None) -> None:
    """Verified is the indicator's verdict: only roles the policy allows may set it by hand."""
    if new_status == "verified" and new_status != task.status:
        authorize(user, "tasks", "verify", task.department)


def case_department_for(user: User, asked: str | None) -> str:
    """The department of a new case: the one asked for, else the member's own, else customer service."""
    return asked or department_filter(user, "cases", "write") or "customer_service"


def case_view(user: User, case: Case) -> dict[str, Any]:
    """A case's fields as ``user`` may see them (titles and texts masked without contact rights)."""
    row = _row(case, CASE_FIELDS)
    row["title"] = redact_for(user, row["title"])
    row["description"] = redact_for(user, row["description"])
    return row


def task_view(user: User, task: Task) -> dict[str, Any]:
    """A task's fields as ``user`` may see them (its sample complaints masked without contact rights)."""
    return {
        **_row(task, TASK_FIELDS),
        **task_service.texts_as_seen(task, personal_data=can_see_contact(user)),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj: Any, fields: list[str]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def _not_found(exc: KeyError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc).strip("'\""))


def _bad(exc: ValueError) -> HTTPException:
    return HTTPException(422, detail=str(exc))


# --- rules --------------------------------------------------------------------------------------------


@router.get("/rules", response_model=list[RuleOut])
def list_rules(_user: RuleReader, db_session: SessionDep) -> list[dict[str, Any]]:
    """Every alert rule."""
    return [
        {k: _plain(v) for k, v in rule_service.rule_dict(r).items()}
        for r in rule_service.list_rules(db_session=db_session)
    ]


@router.get("/rules/{code}", response_model=RuleOut)
def get_rule(code: str, _user: RuleReader, db_session: SessionDep) -> dict[str, Any]:
    """One alert rule."""
    try:
        return rule_service.rule_dict(rule_service.get_rule(db_session=db_session, code=code))
    except KeyError as exc:
        raise _not_found(exc) from None


@router.put("/rules/{code}", response_model=RuleSaved)
def put_rule(code: str, rule: RuleIn, db_session: SessionDep, user: RuleWriter) -> dict[str, Any]:
    """Create or replace the rule ``code`` (audited)."""
    try:
        saved, outcome = rule_service.upsert_rule(
            db_session=db_session, code=code, data=rule.model_dump(), actor=user.username
        )
    except ValueError as exc:
        raise _bad(exc) from None
    return {**rule_service.rule_dict(saved), "outcome": outcome}


@router.delete("/rules/{code}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(code: str, db_session: SessionDep, user: RuleWriter) -> None:
    """Delete a rule."""
    try:
        rule_service.delete_rule(db_session=db_session, code=code, actor=user.username)
    except KeyError as exc:
        raise _not_found(exc) from None


@router.post("/run", response_model=LoopRunOut)
def run_now(db_session: SessionDep, _user: RuleWriter) -> dict[str, Any]:
    """Evaluate the rules now."""
    from cxloop.loop.service import evaluate_rules

    return evaluate_rules(db_session=db_session).as_dict()


# --- alerts -------------------------------------------------------------------------------------------

ALERT_FIELDS = [
    "id",
    "rule_id",
    "scope_key",
    "status",
    "severity",
    "indicator",
    "department",
    "value",
    "baseline",
    "p_value",
    "message",
    "details",
    "occurrences",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "task_id",
]


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    db_session: SessionDep, user: AlertReader, status_: str | None = None
) -> list[dict[str, Any]]:
    """Alerts, newest first (``status_``: open or resolved); members see their department's."""
    own = department_filter(user, "alerts")
    return [
        _row(a, ALERT_FIELDS)
        for a in alert_service.list_alerts(db_session=db_session, status=status_)
        if own is None or a.department == own
    ]


# --- tasks --------------------------------------------------------------------------------------------

TASK_FIELDS = [
    "id",
    "title",
    "description",
    "department",
    "assignee_id",
    "status",
    "severity",
    "indicator",
    "scope",
    "evidence",
    "due_at",
    "escalated_at",
    "escalated_to_id",
    "done_at",
    "verify_after",
    "verified_at",
    "reopen_count",
    "outcome",
    "alert_id",
    "rule_id",
    "created_by",
]


def _task_for(db_session: Any, task_id: int, user: User) -> Task:
    # The route's policy has checked the department already; this only loads the task or 404s.
    try:
        return task_service.get_task(db_session=db_session, task_id=task_id)
    except KeyError as exc:
        raise _not_found(exc) from None


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(
    db_session: SessionDep, user: TaskLister, department: str | None = None, status_: str | None = None
) -> list[dict[str, Any]]:
    """Tasks, newest first; department members see their own department's."""
    department = department or department_filter(user, "tasks")
    rows = task_service.list_tasks(db_session=db_session, department=department, status=status_)
    return [task_view(user, t) for t in rows]


@router.post("/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskOut)
def create_task(body: TaskIn, db_session: SessionDep, user: TaskCreator) -> dict[str, Any]:
    """Create a task by hand."""
    try:
        task = task_service.create_task(db_session=db_session, actor=user.username, **body.model_dump())
    except ValueError as exc:
        raise _bad(exc) from None
    return task_view(user, task)


@router.get("/tasks/{task_id}", response_model=TaskDetail)
def get_task(task_id: int, db_session: SessionDep, user: TaskReader) -> dict[str, Any]:
    """One task with its comments."""
    task = _task_for(db_session, task_id, user)
    comments = task_service.comments(db_session=db_session, task_id=task_id)
    return {
        **task_view(user, task),
        "comments": [_row(c, ["id", "author", "body", "created_at"]) for c in comments],
    }


@router.patch("/tasks/{task_id}", response_model=TaskOut)
def patch_task(task_id: int, body: TaskPatch, db_session: SessionDep, user: TaskWriter) -> dict[str, Any]:
    """Change a task (audited); only managers may mark it verified by hand."""
    check_task_status(user, _task_for(db_session, task_id, user), body.status)
    try:
        task = task_service.update_task(
            db_session=db_session, task_id=task_id, actor=user.username, **body.model_dump(exclude_unset=True)
        )
    except ValueError as exc:
        raise _bad(exc) from None
    return task_view(user, task)


@router.post("/tasks/{task_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut)
def comment_task(task_id: int, body: CommentIn, db_session: SessionDep, user: TaskWriter) -> dict[str, Any]:
    """Comment on a task."""
    _task_for(db_session, task_id, user)
    try:
        comment = task_service.add_comment(
            db_session=db_session, task_id=task_id, author=user.username, body=body.body
        )
    except ValueError as exc:
        raise _bad(exc) from None
    return _row(comment, ["id", "author", "body", "created_at"])


# --- cases --------------------------------------------------------------------------------------------

CASE_FIELDS = [
    "id",
    "title",
    "description",
    "source",
    "status",
    "priority",
    "department",
    "assignee_id",
    "feedback_id",
    "order_id",
    "customer_id",
    "opened_at",
    "first_response_due_at",
    "first_responded_at",
    "resolution_due_at",
    "resolved_at",
    "promise",
    "promised_at",
    "followed_up_at",
    "resolution",
    "resolution_note",
    "root_cause",
]


def _case_out(db_session: Any, case: Case, user: User) -> dict[str, Any]:
    steps = case_service.steps(db_session=db_session, case_id=case.id)
    return {
        **case_view(user, case),
        "clocks": case_service.sla_clocks(case),
        "steps": [_row(s, ["step", "position", "done_at", "done_by", "note"]) for s in steps],
    }


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except KeyError as exc:
        raise _not_found(exc) from None
    except ValueError as exc:
        raise _bad(exc) from None


@router.get("/cases", response_model=list[CaseOut])
def list_cases(db_session: SessionDep, user: CaseLister, status_: str | None = None) -> list[dict[str, Any]]:
    """Cases with their SLA clocks, newest first; department members see their department's."""
    department = department_filter(user, "cases")
    return [
        {**case_view(user, c), "clocks": case_service.sla_clocks(c)}
        for c in case_service.list_cases(db_session=db_session, status=status_, department=department)
    ]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseDetail)
def create_case(body: CaseIn, db_session: SessionDep, user: CaseCreator) -> dict[str, Any]:
    """Open a case (idempotent per feedback item) in your department unless another one is named."""
    fields = body.model_dump()
    fields["department"] = case_department_for(user, body.department)
    case = _call(
        case_service.create_case, db_session=db_session, actor=user.username, source="staff", **fields
    )
    return _case_out(db_session, case, user)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: int, db_session: SessionDep, user: CaseReader) -> dict[str, Any]:
    """One case with its checklist and clocks."""
    return _case_out(db_session, _call(case_service.get_case, db_session=db_session, case_id=case_id), user)


def _case_action(fn: Any, db_session: Any, case_id: int, user: User, **fields: Any) -> dict[str, Any]:
    """Do ``fn`` to the case as ``user`` (404/422 from the service's errors) and return the case."""
    case = _call(fn, db_session=db_session, case_id=case_id, actor=user.username, **fields)
    return _case_out(db_session, case, user)


@router.patch("/cases/{case_id}", response_model=CaseDetail)
def patch_case(case_id: int, body: CasePatch, db_session: SessionDep, user: CaseWriter) -> dict[str, Any]:
    """Change a case's status, assignee, priority or title."""
    changes = body.model_dump(exclude_unset=True)
    return _case_action(case_service.update_case, db_session, case_id, user, **changes)


@router.post("/cases/{case_id}/steps/{step}", response_model=CaseDetail)
def complete_step(
    case_id: int, step: str, body: StepIn, db_session: SessionDep, user: CaseWriter
) -> dict[str, Any]:
    """Tick one of the four steps (apologise, investigate, solve, record)."""
    return _case_action(case_service.complete_step, db_session, case_id, user, step=step, note=body.note)


@router.post("/cases/{case_id}/promise", response_model=CaseDetail)
def promise(case_id: int, body: PromiseIn, db_session: SessionDep, user: CaseWriter) -> dict[str, Any]:
    """Record the feedback time promised to the customer."""
    return _case_action(case_service.set_promise, db_session, case_id, user, promise=body.promise)


@router.post("/cases/{case_id}/follow-up", response_model=CaseDetail)
def follow_up(case_id: int, body: StepIn, db_session: SessionDep, user: CaseWriter) -> dict[str, Any]:
    """Record the follow-up with the customer."""
    return _case_action(case_service.record_follow_up, db_session, case_id, user, note=body.note)


@router.post("/cases/{case_id}/resolve", response_model=CaseDetail)
def resolve(case_id: int, body: ResolveIn, db_session: SessionDep, user: CaseWriter) -> dict[str, Any]:
    """Resolve a case with its resolution and root cause."""
    return _case_action(case_service.resolve_case, db_session, case_id, user, **body.model_dump())


@router.get("/root-causes")
def root_causes(month: str, db_session: SessionDep, _user: CaseLister) -> dict[str, int]:
    """Root cause -> cases opened in ``month`` (YYYY-MM)."""
    return _call(case_service.case_root_causes, db_session=db_session, month=month)


# --- inbox, webhooks, audit ---------------------------------------------------------------------------


@router.get("/inbox", response_model=list[InboxMessageOut])
def get_inbox(db_session: SessionDep, user: InboxUser, unread: bool = False) -> list[dict[str, Any]]:
    """The caller's in-app messages."""
    rows = notify_service.inbox(db_session=db_session, user_id=user.id, unread_only=unread)
    return [_row(n, ["id", "event", "subject", "body", "link", "created_at", "read_at"]) for n in rows]


@router.post("/inbox/read", response_model=MarkedOut)
def read_inbox(db_session: SessionDep, user: InboxUser, notification_id: int | None = None) -> dict[str, int]:
    """Mark one (or every) message read."""
    return {
        "marked": notify_service.mark_read(
            db_session=db_session, user_id=user.id, notification_id=notification_id
        )
    }


@router.post("/outbox/{notification_id}/retry", response_model=OutboxMessageOut)
def retry_outbox_message(
    notification_id: int, db_session: SessionDep, _user: WebhookWriter
) -> dict[str, Any]:
    """Queue a failed outbox message again (a sent one is refused: it would go out twice)."""
    message = _call(notify_service.retry_message, db_session=db_session, notification_id=notification_id)
    return _row(message, ["id", "channel", "event", "status", "attempts", "next_attempt_at", "last_error"])


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(db_session: SessionDep, _user: WebhookReader) -> list[dict[str, Any]]:
    """Configured webhooks (secrets masked)."""
    return [webhook_service.webhook_dict(h) for h in webhook_service.list_webhooks(db_session=db_session)]


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookOut)
def save_webhook(body: WebhookIn, db_session: SessionDep, user: WebhookWriter) -> dict[str, Any]:
    """Create or update a webhook by name."""
    hook = _call(
        webhook_service.save_webhook, db_session=db_session, actor=user.username, **body.model_dump()
    )
    return webhook_service.webhook_dict(hook)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: int, db_session: SessionDep, user: WebhookWriter) -> None:
    """Remove a webhook."""
    _call(webhook_service.delete_webhook, db_session=db_session, webhook_id=webhook_id, actor=user.username)


@router.get("/audit", response_model=list[AuditEntryOut])
def audit_log(
    db_session: SessionDep, _user: AuditReader, entity: str | None = None, entity_id: int | None = None
) -> list[dict[str, Any]]:
    """The audit trail, newest first."""
    return [
        _row(e, ["id", "entity", "entity_id", "action", "actor", "at", "before", "after"])
        for e in audit_service.history(db_session=db_session, entity=entity, entity_id=entity_id)
    ]
