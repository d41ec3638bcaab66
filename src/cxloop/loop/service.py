"""The loop's entry points: evaluate the rules now, the periodic tick, and the hook after an import."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.clock import now
from cxloop.feedback.models import FeedbackItem
from cxloop.i18n import department_name
from cxloop.loop.alerts.service import (
    AlertChange,
    Finding,
    RuleRun,
    apply_findings,
    evaluate_period,
    periods_to_evaluate,
)
from cxloop.loop.cases import service as case_service
from cxloop.loop.indicators import IndicatorInfo, IndicatorSource, RollupSource
from cxloop.loop.models import AlertRule, Task
from cxloop.loop.notifications.service import deliver_pending, notify
from cxloop.loop.rules.service import ensure_default_rules
from cxloop.loop.tasks import service as task_service
from cxloop.outbox import DeliveryReport
from cxloop.periods import Period

log = logging.getLogger(__name__)


@dataclass
class LoopReport:
    """What one evaluation did: alerts opened/updated/resolved, tasks created, verification, cases."""

    opened: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output: every field, ``tasks`` and ``cases`` named ``*_created``."""
        renamed = {"tasks": "tasks_created", "cases": "cases_created"}
        return {renamed.get(f.name, f.name): getattr(self, f.name) for f in fields(self)}


def _change_row(change: AlertChange) -> dict[str, Any]:
    return {
        "alert_id": change.alert.id,
        "rule": change.rule.code,
        "scope": change.alert.scope_key,
        "period": change.period.label,
        "message": change.message,
    }


def evaluate_rules(
    *,
    db_session: Session,
    source: IndicatorSource | None = None,
    as_of: date | None = None,
    codes: list[str] | None = None,
) -> LoopReport:
    """Evaluate every enabled rule over the periods it has not seen; open tasks; verify done tasks."""
    ensure_default_rules(db_session=db_session)
    source = source or RollupSource(db_session=db_session)
    as_of = as_of or now().date()
    report = LoopReport()
    bounds = source.data_bounds()
    query = select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
    if codes:
        query = query.where(AlertRule.code.in_(codes))
    for rule in list(db_session.scalars(query)):
        try:
            run = _evaluate_rule(db_session=db_session, rule=rule, source=source, bounds=bounds, as_of=as_of)
        except Exception as exc:  # one broken rule must not stop the others
            db_session.rollback()
            log.exception("rule %s failed", rule.code)
            report.errors.append(f"{rule.code}: {type(exc).__name__}: {exc}")
            continue
        for change in run.changes:
            row = _change_row(change)
            {"opened": report.opened, "updated": report.updated, "resolved": report.resolved}[
                change.action
            ].append(row)
    # Only alerts still open after catching up become tasks... and those that opened and closed inside
    # the history too: a problem that hurt customers for a month deserves a root cause even if it ended.
    verified, reopened = task_service.verify_done_tasks(db_session=db_session, source=source, as_of=as_of)
    report.verified = [t.id for t in verified]
    report.reopened = [t.id for t in reopened]
    report.tasks = [
        {"task_id": t.id, "department": t.department, "title": t.title, "assignee_id": t.assignee_id}
        for t in db_session.scalars(select(Task).where(Task.id.in_(_new_task_ids(db_session))))
    ]
    report.cases = [c.id for c in case_service.cases_from_feedback(db_session=db_session)]
    db_session.commit()
    return report


_NEW_TASKS_KEY = "cxloop_loop_new_tasks"


def _new_task_ids(db_session: Session) -> list[int]:
    return list(db_session.info.pop(_NEW_TASKS_KEY, []))


def _evaluate_rule(
    *,
    db_session: Session,
    rule: AlertRule,
    source: IndicatorSource,
    bounds: tuple[date, date] | None,
    as_of: date,
) -> RuleRun:
    run = RuleRun(rule=rule)
    if rule.kind == "emerging_topic":
        run.changes = _evaluate_topics(db_session=db_session, rule=rule, as_of=as_of, bounds=bounds)
    else:
        info = source.info(rule.indicator or "")
        for period in periods_to_evaluate(rule=rule, bounds=bounds, as_of=as_of):
            findings = evaluate_period(rule=rule, info=info, source=source, period=period)
            changes = apply_findings(
                db_session=db_session, rule=rule, info=info, period=period, findings=findings
            )
            _after_changes(db_session=db_session, changes=changes, info=info, source=source)
            run.changes.extend(changes)
            run.periods.append(period.label)
            rule.evaluated_until = period.end
    db_session.commit()
    return run


def _after_changes(
    *,
    db_session: Session,
    changes: list[AlertChange],
    info: IndicatorInfo | None,
    source: IndicatorSource | None,
) -> None:
    for change in changes:
        if change.action == "updated":
            # The task shows the alert as it is now: its trend ends at the alert's latest period.
            task_service.refresh_evidence(db_session=db_session, change=change, info=info, source=source)
            continue
        if change.action != "opened":
            continue
        db_session.flush()
        notify(
            db_session=db_session,
            event="alert_opened",
            ref=f"alert:{change.alert.id}:opened",
            context={
                "rule": change.rule,
                "alert": change.alert,
                "department_name": department_name(change.alert.department or ""),
            },
            people=[],
            department=change.alert.department,
            link_path="/alerts",
        )
        task = task_service.task_for_alert(db_session=db_session, change=change, info=info, source=source)
        if task is not None:
            db_session.info.setdefault(_NEW_TASKS_KEY, []).append(task.id)


def _evaluate_topics(
    *, db_session: Session, rule: AlertRule, as_of: date, bounds: tuple[date, date] | None
) -> list[AlertChange]:
    """``emerging_topic`` rules: phrases significantly more frequent in recent negative feedback."""
    from collections import Counter

    from cxloop.feedback.models import FeedbackAspect
    from cxloop.taxonomy import aspect_info
    from cxloop.text.topics import emerging_topics, text_terms

    if bounds is None:
        return []
    last_day = min(as_of, bounds[1])
    if rule.evaluated_until is not None and rule.evaluated_until > last_day:
        return []  # this day's data was judged already
    params = rule.params or {}
    window = int(params.get("window_days", 7))
    baseline_days = int(params.get("baseline_days", 28))
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
    start = end - timedelta(days=window)
    base_start = start - timedelta(days=baseline_days)

    def _negative(lo: datetime, hi: datetime) -> list[tuple[int, str]]:
        query = select(FeedbackItem.id, FeedbackItem.text).where(
            FeedbackItem.occurred_at >= lo,
            FeedbackItem.occurred_at < hi,
            FeedbackItem.sentiment == "negative",
        )
        return [(i, t) for i, t in db_session.execute(query) if t]

    current, baseline = _negative(start, end), _negative(base_start, start)
    topics = emerging_topics(
        [t for _, t in current],
        [t for _, t in baseline],
        min_count=int(params.get("min_count", 10)),
        # Hundreds of phrases are tested at once: a high z keeps the family's false alarms rare.
        z_threshold=float(params.get("z_threshold", 3.0)),
        top_k=int(params.get("top_k", 5)),
    )
    period = Period(start.date(), end.date(), "day")
    findings = []
    for topic in topics:
        ids = [i for i, t in current if topic.phrase in text_terms(t)]
        aspects = Counter(
            db_session.scalars(
                select(FeedbackAspect.aspect).where(
                    FeedbackAspect.feedback_id.in_(ids[:500]), FeedbackAspect.sentiment == "negative"
                )
            )
        )
        aspect = aspects.most_common(1)[0][0] if aspects else None
        findings.append(
            Finding(
                f"topic:{topic.phrase}",
                True,
                True,
                value=float(topic.count),
                baseline=float(topic.baseline_count),
                message=f"new topic “{topic.phrase}”: {topic.count} complaints in {window} days "
                f"(z={topic.z:.1f}, lift {topic.lift:.1f}×)",
                extra={"aspect": aspect, "feedback_ids": ids[:20]},
            )
        )
    if rule.department is None:
        for f in findings:
            aspect = f.extra.get("aspect")
            f.extra["department"] = aspect_info(str(aspect)).department if aspect else "customer_service"
    changes = apply_findings(db_session=db_session, rule=rule, info=None, period=period, findings=findings)
    for change in changes:
        if change.action == "opened" and change.finding is not None and not rule.department:
            change.alert.department = change.finding.extra.get("department") or change.alert.department
    _after_changes(db_session=db_session, changes=changes, info=None, source=None)
    rule.evaluated_until = last_day + timedelta(days=1)
    return changes


def tick(*, db_session: Session, deliver: bool = True) -> dict[str, Any]:
    """The minute job: escalate overdue tasks, SLA warnings/breaches, follow-up reminders, send the outbox."""
    escalated = task_service.escalate_overdue(db_session=db_session)
    sla = case_service.check_slas(db_session=db_session)
    result: dict[str, Any] = {"escalated": [t.id for t in escalated], **sla}
    if deliver:
        delivery: DeliveryReport = deliver_pending()
        result.update({"sent": delivery.sent, "failed": delivery.failed, "retried": delivery.retried})
    return result


def after_import(*, db_session: Session) -> LoopReport:
    """Call after each import (once the metrics rollup is refreshed): evaluate rules, open cases."""
    return evaluate_rules(db_session=db_session)


def case_root_causes(*, db_session: Session, month: str | date) -> dict[str, int]:
    """Root cause (aspect id) -> number of cases opened in ``month``; feeds the metrics Pareto."""
    return case_service.case_root_causes(db_session=db_session, month=month)
