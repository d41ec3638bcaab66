"""Improvement tasks: created from alerts for the owning department, assigned, escalated, verified."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.auth.redaction import redact_text
from cxloop.clock import now
from cxloop.config import get_settings
from cxloop.db import require_reference
from cxloop.feedback.models import FeedbackItem
from cxloop.i18n import both_locales, department_name
from cxloop.loop import audit
from cxloop.loop.alerts.service import AlertChange, evaluate_period, parse_scope
from cxloop.loop.calendar import get_calendar
from cxloop.loop.indicators import IndicatorInfo, IndicatorSource
from cxloop.loop.models import (
    SEVERITIES,
    TASK_STATUSES,
    Alert,
    AlertRule,
    Case,
    Task,
    TaskComment,
    get_or_missing,
    require_choice,
)
from cxloop.loop.notifications.service import notify
from cxloop.org.models import Department, Person
from cxloop.periods import Period

#: Which status a task may move to from each status (verified and reopened come from verification too).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "done"),
    "in_progress": ("done", "open"),
    "done": ("verified", "reopened", "in_progress"),
    "verified": ("reopened",),
    "reopened": ("in_progress", "done"),
}
ACTIVE = ("open", "in_progress", "reopened")


def rotation(
    *, db_session: Session, department: str, model: type[Task] | type[Case]
) -> tuple[list[Person], int]:
    """Who takes the department's tasks or cases (``model``) in turn, and where the turn stands.

    The active people who are not heads (heads get escalations, not the queue; they take the queue
    only when there is no one else), and the position among them of whoever got the department's
    latest ``model`` row (-1 when none of them did): round-robin without a counter table.
    """
    dept = db_session.scalar(select(Department).where(Department.code == department))
    people = list(
        db_session.scalars(
            select(Person)
            .where(Person.department_id == (dept.id if dept else -1), Person.active.is_(True))
            .order_by(Person.is_head, Person.id)
        )
    )
    members = [p for p in people if not p.is_head] or people
    last = db_session.scalar(
        select(model.assignee_id)
        .where(model.department == department, model.assignee_id.is_not(None))
        .order_by(model.id.desc())
        .limit(1)
    )
    ids = [p.id for p in members]
    return members, ids.index(last) if last in ids else -1


def pick_assignee(*, db_session: Session, department: str, rule: AlertRule | None = None) -> Person | None:
    """The rule's named person, else the next active person of the department in round-robin order."""
    if rule is not None and rule.assign == "person" and rule.assignee_external_id:
        person = db_session.scalar(select(Person).where(Person.external_id == rule.assignee_external_id))
        if person is not None and person.active:
            return person
    members, turn = rotation(db_session=db_session, department=department, model=Task)
    return members[(turn + 1) % len(members)] if members else None


def department_head(*, db_session: Session, department: str) -> Person | None:
    """The head of a department (Department.head_id, else a person flagged is_head)."""
    dept = db_session.scalar(select(Department).where(Department.code == department))
    if dept is None:
        return None
    if dept.head_id is not None:
        head = db_session.get(Person, dept.head_id)
        if head is not None:
            return head
    return db_session.scalar(
        select(Person)
        .where(Person.department_id == dept.id, Person.is_head.is_(True))
        .order_by(Person.id)
        .limit(1)
    )


def due_date(*, severity: str, start: datetime | None = None) -> datetime:
    """The due date of a task of ``severity``: business days from the settings, on the task calendar."""
    config = get_settings().loop
    days = config.task_due_business_days.get(severity, 7)
    return get_calendar(config.task_calendar).add_business_days(start or now(), days)


def create_task(
    *,
    db_session: Session,
    title: str,
    department: str,
    actor: str,
    description: str = "",
    severity: str = "medium",
    assignee_id: int | None = None,
    indicator: str | None = None,
    scope: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
    alert_id: int | None = None,
    rule: AlertRule | None = None,
    due_at: datetime | None = None,
    commit: bool = True,
) -> Task:
    """Create a task (assigned by rule when no assignee is given), audit it and notify the assignee.

    Commits unless ``commit=False``: rule evaluation creates its tasks that way and commits once at
    the end of its run (docs/development.md, transactions).
    """
    require_choice("severity", severity, SEVERITIES)
    require_reference(db_session, Person, assignee_id, "assignee_id")
    if assignee_id is None:
        person = pick_assignee(db_session=db_session, department=department, rule=rule)
        assignee_id = person.id if person else None
    task = Task(
        title=title[:500],
        status="open",
        reopen_count=0,
        due_at=due_at or due_date(severity=severity),
        description=description,
        department=department,
        assignee_id=assignee_id,
        severity=severity,
        indicator=indicator,
        alert_id=alert_id,
        rule_id=rule.id if rule else None,
        scope=scope or {},
        evidence=evidence or {},
        created_by=actor,
    )
    db_session.add(task)
    audit.record_created(db_session=db_session, entity="task", row=task, actor=actor)
    _notify_task(db_session=db_session, task=task, event="task_created", ref=f"task:{task.id}:created")
    if commit:
        db_session.commit()
    return task


def _notify_task(
    *,
    db_session: Session,
    task: Task,
    event: str,
    ref: str,
    people: list[Person] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    assignee = db_session.get(Person, task.assignee_id) if task.assignee_id else None
    if people is None:
        people = [assignee] if assignee else []
    alert = db_session.get(Alert, task.alert_id) if task.alert_id else None
    notify(
        db_session=db_session,
        event=event,
        ref=ref,
        context={
            "task": task,
            "alert": alert,
            "department_name": department_name(task.department),
            "assignee_name": assignee.name if assignee else "—",
            **(extra or {}),
        },
        people=people,
        department=task.department,
        link_path=f"/tasks/{task.id}",
    )


def task_for_alert(
    *, db_session: Session, change: AlertChange, info: IndicatorInfo | None, source: IndicatorSource | None
) -> Task | None:
    """The task for a newly opened alert: reuse the unfinished task of the same rule and scope, or create one."""
    rule, alert = change.rule, change.alert
    if not rule.create_task:
        return None
    for task in db_session.scalars(select(Task).where(Task.rule_id == rule.id, Task.status != "verified")):
        if (task.scope or {}).get("key") == alert.scope_key:
            # A flapping alert must not breed tasks: the unfinished one gets the new alert and its evidence.
            task.alert_id = alert.id
            alert.task_id = task.id
            refresh_evidence(db_session=db_session, change=change, info=info, source=source)
            return None
    kind, key = parse_scope(alert.scope_key)
    evidence = build_evidence(
        db_session=db_session, rule=rule, info=info, source=source, alert=alert, period=change.period
    )
    title = both_locales(rule.name, f"（{kind}={key}）", f" ({kind}={key})") if kind else rule.name
    description = alert.message
    task = create_task(
        db_session=db_session,
        title=title,
        department=alert.department or "customer_service",
        actor="system",
        description=description,
        severity=rule.severity,
        indicator=rule.indicator,
        scope={"kind": kind, "key": alert.scope_key, "value": key},
        evidence=evidence,
        alert_id=alert.id,
        rule=rule,
        commit=False,  # part of rule evaluation, which commits once at its end
    )
    alert.task_id = task.id
    return task


def build_evidence(
    *,
    db_session: Session,
    rule: AlertRule,
    info: IndicatorInfo | None,
    source: IndicatorSource | None,
    alert: Alert,
    period: Period,
) -> dict[str, Any]:
    """The indicator's trend in the alert's scope and sample complaints (feedback ids and text)."""
    evidence: dict[str, Any] = {
        "period": period.label,
        "value": alert.value,
        "baseline": alert.baseline,
        "p_value": alert.p_value,
        "message": alert.message,
        "unit": info.unit if info else "",
    }
    kind, key = parse_scope(alert.scope_key)
    if source is not None and info is not None and rule.indicator:
        count = get_settings().loop.evaluation.evidence_periods
        first = period.previous(count - 1)
        cells = source.cells(
            indicator=rule.indicator, start=first.start, end=period.end, scope_kind=kind, scope_key=key
        )
        cell = cells.get(key or "")
        series: list[list[Any]] = []
        p = first
        for _ in range(count):
            num = den = 0.0
            if cell is not None:
                for day, (n, d) in cell.daily.items():
                    if p.start <= day < p.end:
                        num, den = num + n, den + d
            series.append([p.label, info.factor * num / den if den else None])
            p = Period.containing(p.end, p.grain)
        evidence["series"] = series
    ids = (alert.details or {}).get("feedback_ids")
    if ids:
        rows = db_session.execute(
            select(FeedbackItem.id, FeedbackItem.text, FeedbackItem.occurred_at, FeedbackItem.channel)
            .where(FeedbackItem.id.in_(ids))
            .limit(get_settings().loop.evaluation.sample_complaints)
        )
        evidence["complaints"] = [
            {
                "id": r.id,
                "text": (r.text or "")[:500],
                "occurred_at": r.occurred_at.isoformat(),
                "channel": r.channel,
            }
            for r in rows
        ]
        return evidence
    evidence["complaints"] = alert_complaints(
        db_session=db_session, indicator=rule.indicator, period=period, scope_kind=kind, scope_key=key
    )
    return evidence


def texts_as_seen(task: Task, *, personal_data: bool) -> dict[str, Any]:
    """A task's title, description and evidence as a reader sees them (API and page alike): names,
    phones, emails, WeChat ids and addresses masked, the sample complaints' texts too, unless the reader may
    see customers' contact details."""
    evidence = dict(task.evidence or {})
    if personal_data:
        return {"title": task.title, "description": task.description, "evidence": evidence}
    if evidence.get("complaints"):
        evidence["complaints"] = [{**c, "text": redact_text(c.get("text"))} for c in evidence["complaints"]]
    return {
        "title": redact_text(task.title),
        "description": redact_text(task.description),
        "evidence": evidence,
    }


def alert_complaints(
    *,
    db_session: Session,
    indicator: str | None,
    period: Period,
    scope_kind: str | None,
    scope_key: str | None,
) -> list[dict[str, Any]]:
    """The complaints behind an alert: metrics' evidence for its indicator, period and scope.

    The same filter as the alert's number (the registry's evidence aspects, the scope cut as the
    rollup cuts it), so a carrier-damage task shows damage complaints about that carrier.
    """
    from cxloop.metrics.service import evidence_items
    from cxloop.periods import Scope

    if not indicator:
        return []
    scope = Scope(scope_kind, scope_key) if scope_kind and scope_key else None
    limit = get_settings().loop.evaluation.sample_complaints
    try:
        found = evidence_items(
            db_session=db_session, indicator=indicator, period=period, scope=scope, limit=limit
        )
    except KeyError:  # an indicator the registry no longer has: no evidence rather than a failed run
        return []
    return [
        {
            "id": c.feedback_id,
            "text": c.text[:500],
            "occurred_at": c.occurred_at.isoformat(),
            "channel": c.channel,
            "aspect": c.aspect,
            "evidence": c.evidence,
        }
        for c in found
    ]


def refresh_evidence(
    *, db_session: Session, change: AlertChange, info: IndicatorInfo | None, source: IndicatorSource | None
) -> Task | None:
    """Rebuild the evidence of the alert's task from the alert's latest period (trend point = alert value)."""
    alert = change.alert
    if alert.task_id is None:
        return None
    task = db_session.get(Task, alert.task_id)
    if task is None or task.status == "verified":
        return None
    fresh = build_evidence(
        db_session=db_session, rule=change.rule, info=info, source=source, alert=alert, period=change.period
    )
    # Keep what verification wrote (before/after values) next to the fresh trend and complaints.
    task.evidence = {**(task.evidence or {}), **fresh}
    return task


def get_task(*, db_session: Session, task_id: int) -> Task:
    """The task ``task_id`` (KeyError when missing)."""
    return get_or_missing(db_session, Task, task_id, "task")


def list_tasks(
    *, db_session: Session, department: str | None = None, status: str | None = None, limit: int = 500
) -> list[Task]:
    """Tasks, newest first, of ``department`` and in ``status`` when given."""
    query = select(Task).order_by(Task.id.desc()).limit(limit)
    if department:
        query = query.where(Task.department == department)
    if status:
        query = query.where(Task.status == status)
    return list(db_session.scalars(query))


class TaskChanges(TypedDict, total=False):
    """What ``update_task`` may change; a field left out, or None, stays as it is."""

    status: str | None
    assignee_id: int | None
    due_at: datetime | None
    outcome: str | None
    title: str | None
    description: str | None


def update_task(*, db_session: Session, task_id: int, actor: str, **changes: Unpack[TaskChanges]) -> Task:
    """Change a task (status by the lifecycle), audited; done starts the wait for verification."""
    task = get_task(db_session=db_session, task_id=task_id)
    status, assignee_id, due_at = changes.get("status"), changes.get("assignee_id"), changes.get("due_at")
    with _audited(db_session, task, "update", actor):
        at = now()
        if status is not None and status != task.status:
            require_choice("status", status, TASK_STATUSES)
            if status not in TRANSITIONS[task.status]:
                raise ValueError(f"a task cannot go from {task.status} to {status}")
            task.status = status
            if status == "done":
                task.done_at = at
                task.verify_after = _verification_start(db_session=db_session, task=task, at=at)
            elif status == "verified":
                task.verified_at = at
            elif status == "reopened":
                _reopen(task, at)
        if assignee_id is not None:
            require_reference(db_session, Person, assignee_id, "assignee_id")
            task.assignee_id = assignee_id
        if due_at is not None:
            task.due_at = due_at
            task.escalated_at = None
        for field in ("outcome", "title", "description"):
            if changes.get(field) is not None:
                setattr(task, field, changes.get(field))
    return task


def _audited(
    db_session: Session, task: Task, action: str, actor: str, commit: bool = True
) -> AbstractContextManager[audit.Change]:
    """Audit (and commit, unless ``commit=False``) the change a block makes to ``task``."""
    return audit.change(
        db_session=db_session, entity="task", row=task, action=action, actor=actor, commit=commit
    )


def _reopen(task: Task, at: datetime) -> None:
    """Back to work: counted, with a fresh due date and escalation."""
    task.reopen_count += 1
    task.done_at = None
    task.due_at = due_date(severity=task.severity, start=at)
    task.escalated_at = None


def _verification_start(*, db_session: Session, task: Task, at: datetime) -> datetime | None:
    # The indicator is judged over the first whole period after the work was done.
    rule = db_session.get(AlertRule, task.rule_id) if task.rule_id else None
    if rule is None or not rule.indicator:
        return None
    grain = (rule.params or {}).get("grain", "week")
    current = Period.containing(at.date(), grain)
    return current.end_at


def add_comment(*, db_session: Session, task_id: int, author: str, body: str) -> TaskComment:
    """Add a comment to a task (audited)."""
    task = get_task(db_session=db_session, task_id=task_id)
    if not body.strip():
        raise ValueError("a comment needs text")
    comment = TaskComment(task_id=task.id, author=author, body=body.strip(), created_at=now())
    db_session.add(comment)
    db_session.flush()
    audit.record(
        db_session=db_session,
        entity="task",
        entity_id=task.id,
        action="comment",
        actor=author,
        after={"comment_id": comment.id, "body": comment.body},
    )
    db_session.commit()
    return comment


def comments(*, db_session: Session, task_id: int) -> list[TaskComment]:
    """A task's comments, oldest first."""
    return list(
        db_session.scalars(select(TaskComment).where(TaskComment.task_id == task_id).order_by(TaskComment.id))
    )


def escalate_overdue(*, db_session: Session, at: datetime | None = None) -> list[Task]:
    """Escalate every overdue unfinished task to its department head, once, with a notification."""
    at = at or now()
    escalated = []
    query = select(Task).where(Task.status.in_(ACTIVE), Task.due_at < at, Task.escalated_at.is_(None))
    for task in db_session.scalars(query):
        head = department_head(db_session=db_session, department=task.department)
        with _audited(db_session, task, "escalate", "system", commit=False):
            task.escalated_at = at
            task.escalated_to_id = head.id if head else None
        _notify_task(
            db_session=db_session,
            task=task,
            event="task_escalated",
            ref=f"task:{task.id}:escalated:{task.reopen_count}:{task.due_at:%Y%m%d%H%M}",
            people=[head] if head else [],
        )
        escalated.append(task)
    db_session.commit()
    return escalated


def verify_done_tasks(
    *, db_session: Session, source: IndicatorSource, as_of: date | None = None
) -> tuple[list[Task], list[Task]]:
    """Judge done tasks once the period after them has data: recovered -> verified, else reopened."""
    bounds = source.data_bounds()
    if bounds is None:
        return [], []
    last_day = min(bounds[1], as_of or now().date())
    verified, reopened = [], []
    query = select(Task).where(
        Task.status == "done", Task.verify_after.is_not(None), Task.rule_id.is_not(None)
    )
    for task in db_session.scalars(query):
        rule = db_session.get(AlertRule, task.rule_id)
        if rule is None or not rule.indicator or task.verify_after is None:
            continue
        grain = (rule.params or {}).get("grain", "week")
        period = Period.containing(task.verify_after.date(), grain)
        if period.end > last_day + timedelta(days=1):
            continue  # the next period is not complete yet
        info = source.info(rule.indicator)
        findings = evaluate_period(rule=rule, info=info, source=source, period=period)
        key = (task.scope or {}).get("key") or ""
        finding = next((f for f in findings if f.scope_key == key), None)
        at = now()
        if finding is None or not finding.decided:
            task.verify_after = period.end_at  # too little data to judge: look at the next period
            continue
        if finding.breached:
            with _audited(db_session, task, "reopen", "system", commit=False):
                task.status = "reopened"
                _reopen(task, at)
                task.verify_after = None
                task.outcome = (task.outcome or "") + f"\n[{period.label}] not effective: {finding.message}"
            _notify_task(
                db_session=db_session,
                task=task,
                event="task_reopened",
                ref=f"task:{task.id}:reopened:{task.reopen_count}",
                extra={"reason": finding.message},
            )
            reopened.append(task)
        else:
            with _audited(db_session, task, "verify", "system", commit=False):
                task.status = "verified"
                task.verified_at = at
                task.evidence = {
                    **(task.evidence or {}),
                    "verification": {
                        "period": period.label,
                        "value": finding.value,
                        "baseline": finding.baseline,
                    },
                }
            verified.append(task)
    db_session.commit()
    return verified, reopened


def people_names(*, db_session: Session) -> dict[int, str]:
    """Every person's name by id (assignee pickers and lists)."""
    return {p.id: p.name for p in db_session.scalars(select(Person))}
