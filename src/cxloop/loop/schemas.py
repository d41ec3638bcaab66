"""Request and response models of the loop API, so the OpenAPI schema describes every field.

Each response model allows extra keys: a field added to a service's output reaches clients at once,
and the schema is extended when it is documented here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class RuleIn(BaseModel):
    """An alert rule as sent by the editor (see docs/loop.md for ``params``)."""

    name: str
    kind: str = Field(description="threshold, change or emerging_topic")
    indicator: str | None = None
    scope_kind: str | None = None
    scope_value: str | None = None
    per_scope: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    severity: str = "medium"
    department: str | None = None
    assign: str = "round_robin"
    assignee_external_id: str | None = None
    create_task: bool = True
    enabled: bool = True
    description: str | None = None


class _RuleKey(_Out):
    id: int
    code: str


class RuleOut(RuleIn, _RuleKey):
    """An alert rule (see docs/loop.md for ``params``)."""

    # The key fields come first (_RuleKey is the last base), then the definition as sent.
    model_config = ConfigDict(extra="allow")

    # A stored rule always has these: required in the response, unlike in the request.
    severity: str
    assign: str
    create_task: bool
    enabled: bool
    evaluated_until: date | None = None


class RuleSaved(RuleOut):
    """A rule after PUT, with whether it was created or updated."""

    outcome: str


class LoopRunOut(_Out):
    """What one evaluation of the rules did."""

    opened: list[dict[str, Any]]
    updated: list[dict[str, Any]]
    resolved: list[dict[str, Any]]
    tasks_created: list[dict[str, Any]]
    verified: list[int]
    reopened: list[int]
    cases_created: list[int]
    errors: list[str]


class AlertOut(_Out):
    """An alert: an indicator beyond its rule in one scope."""

    id: int
    rule_id: int
    scope_key: str
    status: str
    severity: str
    indicator: str | None = None
    department: str | None = None
    value: float | None = None
    baseline: float | None = None
    p_value: float | None = None
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    task_id: int | None = None


class CommentOut(_Out):
    """A comment on a task."""

    id: int
    author: str
    body: str
    created_at: datetime | None = None


class TaskOut(_Out):
    """An improvement task."""

    id: int
    title: str
    description: str
    department: str
    assignee_id: int | None = None
    status: str
    severity: str
    indicator: str | None = None
    scope: dict[str, Any] = Field(default_factory=dict)
    evidence: dict[str, Any] = Field(default_factory=dict)
    due_at: datetime
    escalated_at: datetime | None = None
    escalated_to_id: int | None = None
    done_at: datetime | None = None
    verify_after: datetime | None = None
    verified_at: datetime | None = None
    reopen_count: int
    outcome: str | None = None
    alert_id: int | None = None
    rule_id: int | None = None
    created_by: str


class TaskDetail(TaskOut):
    """A task with its comments."""

    comments: list[CommentOut]


class SlaClockOut(_Out):
    """One SLA clock of a case, in business minutes."""

    due_at: datetime
    total_minutes: float
    used_minutes: float
    left_minutes: float
    state: str = Field(description="ok, warning, breached, met or missed")


class CaseStepOut(_Out):
    """One of the four service-recovery steps of a case."""

    step: str
    position: int
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None


class CaseOut(_Out):
    """A complaint case with its SLA clocks."""

    id: int
    title: str
    description: str
    source: str
    status: str
    priority: str
    department: str
    assignee_id: int | None = None
    feedback_id: int | None = None
    order_id: int | None = None
    customer_id: int | None = None
    opened_at: datetime
    first_response_due_at: datetime
    first_responded_at: datetime | None = None
    resolution_due_at: datetime
    resolved_at: datetime | None = None
    promise: str | None = None
    promised_at: datetime | None = None
    followed_up_at: datetime | None = None
    resolution: str | None = None
    resolution_note: str | None = None
    root_cause: str | None = None
    clocks: dict[str, SlaClockOut]


class CaseDetail(CaseOut):
    """A case with its checklist."""

    steps: list[CaseStepOut]


class InboxMessageOut(_Out):
    """An in-app message."""

    id: int
    event: str
    subject: str
    body: str
    link: str | None = None
    created_at: datetime
    read_at: datetime | None = None


class MarkedOut(_Out):
    """How many messages were marked read."""

    marked: int


class OutboxMessageOut(_Out):
    """A message of the notification outbox and where its delivery stands."""

    id: int
    channel: str
    event: str
    status: str = Field(description="pending, sending, sent or failed")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None


class WebhookOut(_Out):
    """A chat webhook, its secret masked."""

    id: int
    name: str
    kind: str
    url: str
    has_secret: bool
    events: list[str]
    department: str | None = None
    locale: str
    enabled: bool


class AuditEntryOut(_Out):
    """One audited change."""

    id: int
    entity: str
    entity_id: int
    action: str
    actor: str
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


# --- requests -----------------------------------------------------------------------------------------


class TaskIn(BaseModel):
    """A task created by hand."""

    title: str
    department: str
    description: str = ""
    severity: str = "medium"
    assignee_id: int | None = None


class TaskPatch(BaseModel):
    """Changes to a task; status follows the lifecycle open → in_progress → done → verified (+ reopened)."""

    status: str | None = None
    assignee_id: int | None = None
    due_at: datetime | None = None
    outcome: str | None = None
    title: str | None = None
    description: str | None = None


class CommentIn(BaseModel):
    """A comment."""

    body: str


class CaseIn(BaseModel):
    """A case opened by staff."""

    title: str
    description: str = ""
    priority: str = "medium"
    feedback_id: int | None = None
    order_id: int | None = None
    customer_id: int | None = None
    assignee_id: int | None = None
    department: str | None = Field(
        None, description="Owning department; default: yours, else customer_service."
    )


class CasePatch(BaseModel):
    """Changes to a case."""

    status: str | None = None
    assignee_id: int | None = None
    priority: str | None = None
    title: str | None = None


class StepIn(BaseModel):
    """A ticked checklist step."""

    note: str | None = None


class PromiseIn(BaseModel):
    """A promise template code (30min, 2h, today, 1day, 3days)."""

    promise: str


class ResolveIn(BaseModel):
    """How the case was resolved and why it happened."""

    resolution: str = Field(description="resend, refund, coupon, explanation or other")
    root_cause: str = Field(description="aspect id from the taxonomy")
    note: str | None = None


class WebhookIn(BaseModel):
    """A chat webhook."""

    name: str
    kind: str = Field(description="dingtalk, wecom, feishu or slack")
    url: str
    secret: str | None = None
    events: list[str] = Field(default_factory=list)
    department: str | None = None
    locale: str = "zh"
    enabled: bool = True
