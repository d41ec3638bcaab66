"""Tables of the loop: rules, alerts, tasks, cases, the notification outbox, webhooks and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cxloop.clock import now as business_now
from cxloop.db import Base, TimestampMixin

RULE_KINDS = ("threshold", "change", "emerging_topic")
SEVERITIES = ("critical", "high", "medium", "low")
TASK_STATUSES = ("open", "in_progress", "done", "verified", "reopened")
CASE_STATUSES = ("open", "in_progress", "resolved", "closed")
#: A case still being worked on: no marketing and no survey for its customer meanwhile (messaging,
#: surveys, journeys' exit conditions), and the SLA clocks run.
OPEN_CASE_STATUSES = ("open", "in_progress")
CASE_STEPS = ("apologise", "investigate", "solve", "record")
RESOLUTIONS = ("resend", "refund", "coupon", "explanation", "other")
CHANNELS = ("inbox", "email", "webhook")
WEBHOOK_KINDS = ("dingtalk", "wecom", "feishu", "slack")

RowT = TypeVar("RowT")


def require_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Refuse (ValueError "<name> must be one of (...)") a value that is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}")


def insert_unless_taken(db_session: Session, row: Any) -> IntegrityError | None:
    """Insert ``row`` in a savepoint; the IntegrityError when a unique key is taken (a concurrent
    writer inserted the same row first), the rest of the transaction left intact."""
    try:
        with db_session.begin_nested():
            db_session.add(row)
            db_session.flush()
    except IntegrityError as taken:
        return taken
    return None


def get_or_missing(db_session: Session, model: type[RowT], row_id: int, name: str) -> RowT:
    """The ``model`` row ``row_id``; KeyError "no <name> <id>" when there is none (a 404 in the API)."""
    row = db_session.get(model, row_id)
    if row is None:
        raise KeyError(f"no {name} {row_id}")
    return row


class AlertRule(TimestampMixin, Base):
    """An alert rule: which indicator, in which scope, fires when (kind + params), owned by whom."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    indicator: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: A fixed scope (scope_kind + scope_value), or with ``per_scope`` every value of scope_kind.
    scope_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scope_value: Mapped[str | None] = mapped_column(String(200), nullable=True)
    per_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    #: Owning department code; empty means the indicator's (or the topic aspect's) owner.
    department: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: "round_robin" among the department's active people, or "person" (assignee_external_id).
    assign: Mapped[str] = mapped_column(String(16), default="round_robin")
    assignee_external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    create_task: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: End (exclusive) of the last period this rule was evaluated for; the next run starts there.
    evaluated_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class Alert(TimestampMixin, Base):
    """A rule breached in one scope. At most one open alert per (rule, scope): ``open_key`` is unique."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_status", "rule_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    scope_key: Mapped[str] = mapped_column(String(300), default="")
    #: "<rule id>|<scope key>" while open, NULL once resolved: NULLs never collide in a unique index.
    open_key: Mapped[str | None] = mapped_column(String(320), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    indicator: Mapped[str | None] = mapped_column(String(128), nullable=True)
    department: Mapped[str | None] = mapped_column(String(64), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Task(TimestampMixin, Base):
    """An improvement task for a department, with evidence, due date, escalation and verification."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_department_status", "department", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    indicator: Mapped[str | None] = mapped_column(String(128), nullable=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: {"series": [[date, value], ...], "complaints": [{"id", "text", ...}], "value", "baseline", ...}
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    escalated_to_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: After done: the indicator is checked again from this moment (the next period).
    verify_after: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="system")


class TaskComment(Base):
    """A comment on a task."""

    __tablename__ = "task_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime, default=business_now, server_default=func.current_timestamp()
    )


class Case(TimestampMixin, Base):
    """A complaint case (工单): the four service-recovery steps, SLA clocks, resolution and root cause."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_opened", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One case per feedback item at most: rule-made cases are idempotent through this unique column.
    feedback_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_items.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="staff")
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    department: Mapped[str] = mapped_column(String(64), default="customer_service")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    calendar: Mapped[str] = mapped_column(String(64), default="default")
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    first_response_due_at: Mapped[datetime] = mapped_column(DateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolution_due_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    first_response_warned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: The promise made to the customer ("30min", "1day", ...) and when it falls due.
    promise: Mapped[str | None] = mapped_column(String(32), nullable=True)
    promised_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    follow_up_reminded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    followed_up_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Aspect id from the taxonomy; feeds the root-cause Pareto.
    root_cause: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(String(128), default="system")


class CaseStep(Base):
    """One of the four service-recovery steps of a case, with who did it and when."""

    __tablename__ = "case_steps"
    __table_args__ = (UniqueConstraint("case_id", "step", name="uq_case_steps_case_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Notification(Base):
    """The outbox: every message (inbox, email, webhook) is a row first, delivered by a worker later."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_inbox", "user_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64))
    #: The same event for the same recipient is queued once (e.g. "task:12:escalated:email:a@b").
    dedupe_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=True
    )
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: pending -> sending (claimed, lease until locked_until) -> sent; failed after the last attempt.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Webhook(TimestampMixin, Base):
    """A chat-tool webhook (DingTalk, WeCom, Feishu, Slack-compatible) and the events it receives."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: Event names it receives (e.g. "alert.opened", "task.escalated"); empty means all.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Only events of this department (empty: every department).
    department: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditLog(Base):
    """Who changed which rule, task, case or webhook, when, with the state before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
