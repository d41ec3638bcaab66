"""Complaint cases (工单): the four service-recovery steps, promises, SLA clocks in business hours."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxloop.auth.redaction import redact_text
from cxloop.clock import now
from cxloop.config import CaseSlaSettings, get_settings
from cxloop.customers.models import Customer
from cxloop.db import require_reference
from cxloop.feedback.models import FeedbackItem
from cxloop.loop import audit
from cxloop.loop.calendar import get_calendar
from cxloop.loop.models import (
    CASE_STATUSES,
    CASE_STEPS,
    OPEN_CASE_STATUSES,
    RESOLUTIONS,
    SEVERITIES,
    Case,
    CaseStep,
    get_or_missing,
    insert_unless_taken,
    require_choice,
)
from cxloop.loop.notifications.service import notify
from cxloop.orders.models import Order
from cxloop.org.models import Person

#: The four steps of service recovery (MISSION), in order, with their names.
STEP_NAMES: dict[str, tuple[str, str]] = {
    "apologise": ("致歉并站在顾客一边", "Apologise and side with the customer"),
    "investigate": ("与顾客一起核实问题", "Check the problem together"),
    "solve": ("解决问题、承诺反馈时间并回访", "Solve it, promise a feedback time, follow up"),
    "record": ("记录问题与根因，防止再犯", "Record the problem and root cause"),
}


def _sla() -> CaseSlaSettings:
    return get_settings().loop.case_sla


def create_case(
    *,
    db_session: Session,
    title: str,
    actor: str,
    description: str = "",
    feedback_id: int | None = None,
    order_id: int | None = None,
    customer_id: int | None = None,
    priority: str = "medium",
    department: str = "customer_service",
    assignee_id: int | None = None,
    source: str = "staff",
    opened_at: datetime | None = None,
    commit: bool = True,
) -> Case:
    """Open a case with its four steps and SLA clocks; idempotent per feedback item.

    Commits, like every service action; a service that opens cases as part of its own work passes
    ``commit=False`` and commits once at its end (see docs/development.md, transactions).
    """
    require_choice("priority", priority, SEVERITIES)
    require_reference(db_session, FeedbackItem, feedback_id, "feedback_id")
    require_reference(db_session, Order, order_id, "order_id")
    require_reference(db_session, Customer, customer_id, "customer_id")
    require_reference(db_session, Person, assignee_id, "assignee_id")
    if feedback_id is not None and source != "rule":
        # Rule-made cases were selected as having none; staff may ask twice for the same item.
        existing = db_session.scalar(select(Case).where(Case.feedback_id == feedback_id))
        if existing is not None:
            return existing
    sla = _sla()
    calendar_name = sla.calendar
    cal = get_calendar(calendar_name)
    opened = opened_at or now()
    if assignee_id is None:
        assignee_id = _next_case_assignee(db_session=db_session, department=department)
    case = Case(
        status="open",
        title=title[:500],
        description=description,
        feedback_id=feedback_id,
        order_id=order_id,
        customer_id=customer_id,
        priority=priority,
        department=department,
        assignee_id=assignee_id,
        source=source,
        calendar=calendar_name,
        opened_at=opened,
        first_response_due_at=cal.add_minutes(opened, sla.first_response_minutes[priority]),
        resolution_due_at=cal.add_minutes(opened, sla.resolution_minutes[priority]),
        created_by=actor,
    )
    taken = insert_unless_taken(db_session, case)
    if taken is not None:
        # Two evaluators raced on the same feedback item: the unique feedback_id keeps one case.
        found = db_session.scalar(select(Case).where(Case.feedback_id == feedback_id))
        if found is None:
            raise taken
        return found
    for position, step in enumerate(CASE_STEPS, start=1):
        db_session.add(CaseStep(case_id=case.id, step=step, position=position))
    audit.record_created(db_session=db_session, entity="case", row=case, actor=actor)
    _notify_case(db_session=db_session, case=case, event="case_created", ref=f"case:{case.id}:created")
    if commit:
        db_session.commit()
    return case


def _next_case_assignee(*, db_session: Session, department: str) -> int | None:
    """The id of whoever takes the department's next case: round-robin among its active non-head
    people, independent of improvement tasks (None when the department has nobody)."""
    # The rotation is kept on the session while it lives, so a batch of cases costs no query per case.
    cache: dict[str, tuple[list[Person], int]] = db_session.info.setdefault("cxloop_case_rotation", {})
    if department not in cache:
        from cxloop.loop.tasks.service import rotation

        cache[department] = rotation(db_session=db_session, department=department, model=Case)
    members, index = cache[department]
    if not members:
        return None
    index = (index + 1) % len(members)
    cache[department] = (members, index)
    return members[index].id


def _audited(
    db_session: Session, case: Case, action: str, actor: str
) -> AbstractContextManager[audit.Change]:
    """Audit and commit the change a block makes to ``case`` (``audit.change``)."""
    return audit.change(db_session=db_session, entity="case", row=case, action=action, actor=actor)


def _notify_case(
    *,
    db_session: Session,
    case: Case,
    event: str,
    ref: str,
    template: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    assignee = db_session.get(Person, case.assignee_id) if case.assignee_id else None
    notify(
        db_session=db_session,
        event=event,
        ref=ref,
        context={"case": case, **(extra or {})},
        people=[assignee] if assignee else [],
        department=case.department,
        link_path=f"/cases/{case.id}",
        template=template,
    )


def cases_from_feedback(*, db_session: Session, at: datetime | None = None) -> list[Case]:
    """Open a case for each recent negative feedback item the case rules select (once per item)."""
    rules = get_settings().loop.case_rules
    if not rules.enabled:
        return []
    at = at or now()
    since = at - timedelta(days=rules.lookback_days)
    conditions: list[ColumnElement[bool]] = []
    if rules.negative_with_order:
        conditions.append((FeedbackItem.sentiment == "negative") & FeedbackItem.order_id.is_not(None))
    max_rating = rules.max_rating
    if max_rating is not None:
        conditions.append(FeedbackItem.rating <= int(max_rating))
    if not conditions:
        return []
    match = conditions[0]
    for extra in conditions[1:]:
        match = match | extra
    query = (
        select(FeedbackItem)
        .where(FeedbackItem.occurred_at >= since, FeedbackItem.occurred_at <= at, match)
        .where(~select(Case.id).where(Case.feedback_id == FeedbackItem.id).exists())
        .order_by(FeedbackItem.occurred_at)
        .limit(rules.max_per_run)
    )
    created = []
    items = list(db_session.scalars(query))
    db_session.info.pop("cxloop_case_rotation", None)  # start from what the database says
    for item in items:
        priority = "high" if (item.rating is not None and item.rating <= 1) else "medium"
        # The title travels (lists, mail subjects, chat): never with the customer's name or contact details.
        title = (
            redact_text((item.title or item.text or "").strip().replace("\n", " "), (item.author,)) or ""
        )[:80] or f"feedback {item.external_id}"
        created.append(
            create_case(
                db_session=db_session,
                title=title,
                description=item.text or "",
                feedback_id=item.id,
                order_id=item.order_id,
                customer_id=item.customer_id,
                priority=priority,
                department=rules.department,
                source="rule",
                actor="system",
                commit=False,
            )
        )
    db_session.commit()
    return created


def get_case(*, db_session: Session, case_id: int) -> Case:
    """The case ``case_id`` (KeyError when missing)."""
    return get_or_missing(db_session, Case, case_id, "case")


def steps(*, db_session: Session, case_id: int) -> list[CaseStep]:
    """The case's checklist, in order."""
    return list(
        db_session.scalars(select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.position))
    )


def list_cases(
    *, db_session: Session, status: str | None = None, department: str | None = None, limit: int = 500
) -> list[Case]:
    """Cases, newest first (only ``department``'s, and those in ``status``, when given)."""
    query = select(Case)
    if department is not None:
        query = query.where(Case.department == department)
    if status:
        query = query.where(Case.status == status)
    return list(db_session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def complete_step(
    *, db_session: Session, case_id: int, step: str, actor: str, note: str | None = None
) -> Case:
    """Tick a checklist step with who and when; the first step done is the first response."""
    require_choice("step", step, CASE_STEPS)
    case = get_case(db_session=db_session, case_id=case_id)
    with _audited(db_session, case, f"step:{step}", actor) as change:
        row = db_session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.step == step))
        if row is None:
            row = CaseStep(case_id=case.id, step=step, position=CASE_STEPS.index(step) + 1)
            db_session.add(row)
        at = now()
        row.done_at, row.done_by, row.note = at, actor, note
        if case.first_responded_at is None:
            case.first_responded_at = at
        if case.status == "open":
            case.status = "in_progress"
        change.extra = {"step": step, "note": note}
    return case


def promise_text(promise: str, locale: str = "zh") -> str:
    """The customer-facing words of a promise template ("30分钟内" / "within 30 minutes")."""
    spec = get_settings().loop.promises.get(promise)
    return spec.text(locale) if spec is not None else promise


def promise_options() -> dict[str, dict[str, str]]:
    """Each promise template's words by locale, for the case page's picker."""
    return {
        code: {k: v for k, v in spec.model_dump().items() if isinstance(v, str)}
        for code, spec in get_settings().loop.promises.items()
    }


def set_promise(*, db_session: Session, case_id: int, promise: str, actor: str) -> Case:
    """Record the feedback time promised to the customer; a reminder falls due at that time."""
    templates = get_settings().loop.promises
    if promise not in templates:
        raise ValueError(f"promise must be one of {sorted(templates)}")
    spec = templates[promise]
    case = get_case(db_session=db_session, case_id=case_id)
    with _audited(db_session, case, "promise", actor):
        at = now()
        cal = get_calendar(case.calendar)
        if spec.end_of_day:
            due = cal.end_of_working_day(at)
        elif spec.business:
            due = cal.add_minutes(at, spec.minutes)
        else:
            due = at + timedelta(minutes=spec.minutes)
        case.promise, case.promised_at = promise, due
        case.follow_up_reminded_at = None
    return case


def record_follow_up(*, db_session: Session, case_id: int, actor: str, note: str | None = None) -> Case:
    """Record that the customer was followed up (回访)."""
    case = get_case(db_session=db_session, case_id=case_id)
    with _audited(db_session, case, "follow_up", actor):
        case.followed_up_at = now()
        if note:
            case.resolution_note = ((case.resolution_note or "") + f"\n{note}").strip()
    return case


def resolve_case(
    *,
    db_session: Session,
    case_id: int,
    resolution: str,
    root_cause: str,
    actor: str,
    note: str | None = None,
) -> Case:
    """Resolve a case with what was done and its root cause (a taxonomy aspect id)."""
    require_choice("resolution", resolution, RESOLUTIONS)
    from cxloop.taxonomy import aspects

    if root_cause not in aspects():
        raise ValueError(f"root cause must be an aspect id of the taxonomy: {', '.join(sorted(aspects()))}")
    case = get_case(db_session=db_session, case_id=case_id)
    with _audited(db_session, case, "resolve", actor):
        at = now()
        case.resolution, case.root_cause = resolution, root_cause
        if note:
            case.resolution_note = note
        case.status = "resolved"
        case.resolved_at = at
        if case.first_responded_at is None:
            case.first_responded_at = at
        record = db_session.scalar(
            select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.step == "record")
        )
        if record is not None and record.done_at is None:
            record.done_at, record.done_by, record.note = at, actor, f"root cause: {root_cause}"
    return case


class CaseChanges(TypedDict, total=False):
    """What ``update_case`` may change; a field left out, or None, stays as it is."""

    status: str | None
    assignee_id: int | None
    priority: str | None
    title: str | None


def update_case(*, db_session: Session, case_id: int, actor: str, **changes: Unpack[CaseChanges]) -> Case:
    """Change a case's status, assignee, priority or title (audited)."""
    status, assignee_id = changes.get("status"), changes.get("assignee_id")
    priority, title = changes.get("priority"), changes.get("title")
    case = get_case(db_session=db_session, case_id=case_id)
    with _audited(db_session, case, "update", actor):
        if status is not None:
            require_choice("status", status, CASE_STATUSES)
            if status == "resolved" and case.status != "resolved":
                raise ValueError("resolve a case with its resolution and root cause (resolve_case)")
            case.status = status
        if assignee_id is not None:
            require_reference(db_session, Person, assignee_id, "assignee_id")
            case.assignee_id = assignee_id
        if priority is not None:
            require_choice("priority", priority, SEVERITIES)
            case.priority = priority
        if title is not None:
            case.title = title
    return case


def sla_clocks(case: Case, at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Both SLA clocks of a case: due time, business minutes used/left, state ok/warning/breached/met."""
    at = at or now()
    cal = get_calendar(case.calendar)
    warn_ratio = _sla().warn_ratio
    out: dict[str, dict[str, Any]] = {}
    for clock, due, done in (
        ("first_response", case.first_response_due_at, case.first_responded_at),
        ("resolution", case.resolution_due_at, case.resolved_at),
    ):
        total = cal.minutes_between(case.opened_at, due)
        end = done or at
        used = cal.minutes_between(case.opened_at, end)
        if done is not None:
            state = "met" if done <= due else "missed"
        elif at >= due:
            state = "breached"
        elif total and used >= warn_ratio * total:
            state = "warning"
        else:
            state = "ok"
        out[clock] = {
            "due_at": due.isoformat(),
            "total_minutes": round(total, 1),
            "used_minutes": round(used, 1),
            "left_minutes": round(max(total - used, 0.0), 1),
            "state": state,
        }
    return out


def check_slas(*, db_session: Session, at: datetime | None = None) -> dict[str, int]:
    """Send each case's SLA warning and breach once per clock, and follow-up reminders at promised times."""
    at = at or now()
    counts = {"warnings": 0, "breaches": 0, "follow_ups": 0}
    active = list(db_session.scalars(select(Case).where(Case.status.in_(OPEN_CASE_STATUSES))))
    for case in active:
        clocks = sla_clocks(case, at)
        for clock, warned_attr, breached_attr in (
            ("first_response", "first_response_warned_at", "first_response_breached_at"),
            ("resolution", "resolution_warned_at", "resolution_breached_at"),
        ):
            state = clocks[clock]["state"]
            # Each of a clock's warning and breach is sent once: its *_at column says it was.
            sent_attr = {"breached": breached_attr, "warning": warned_attr}.get(state)
            if sent_attr is None or getattr(case, sent_attr) is not None:
                continue
            setattr(case, sent_attr, at)
            counts["breaches" if state == "breached" else "warnings"] += 1
            _notify_case(
                db_session=db_session,
                case=case,
                event=f"case_sla_{state}",
                template="case_sla",
                ref=f"case:{case.id}:{clock}:{state}",
                extra={"clock": clock, "state": state, "due_at": clocks[clock]["due_at"]},
            )
    reminders = select(Case).where(
        Case.promised_at.is_not(None),
        Case.promised_at <= at,
        Case.follow_up_reminded_at.is_(None),
        Case.followed_up_at.is_(None),
    )
    for case in db_session.scalars(reminders):
        case.follow_up_reminded_at = at
        counts["follow_ups"] += 1
        _notify_case(
            db_session=db_session,
            case=case,
            event="case_follow_up",
            ref=f"case:{case.id}:follow_up:{case.promised_at:%Y%m%d%H%M}",
            extra={"promise_text": promise_text(case.promise or "")},
        )
    db_session.commit()
    return counts


def case_root_causes(*, db_session: Session, month: str | date) -> dict[str, int]:
    """Root causes (aspect id -> number of cases) of the cases opened in ``month`` (YYYY-MM), most first."""
    if isinstance(month, str):
        year, mon = (int(x) for x in month.split("-"))
        start = date(year, mon, 1)
    else:
        start = month.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    rows = db_session.execute(
        select(Case.root_cause, func.count(Case.id))
        .where(
            Case.root_cause.is_not(None),
            Case.opened_at >= datetime.combine(start, datetime.min.time()),
            Case.opened_at < datetime.combine(end, datetime.min.time()),
        )
        .group_by(Case.root_cause)
    )
    return dict(sorted(((str(a), int(n)) for a, n in rows), key=lambda x: (-x[1], x[0])))
