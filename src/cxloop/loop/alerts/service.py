"""Evaluating alert rules: each complete period once, in order; alerts opened, updated or resolved.

A rule is evaluated for every complete period (day, week or month) since it was last evaluated, so an
import of history finds the problems inside it and a schedule that missed a run catches up. Each
breach upserts the one open alert of (rule, scope); a scope whose data no longer breaches resolves it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.clock import now
from cxloop.loop import stats
from cxloop.loop.indicators import Cell, IndicatorInfo, IndicatorSource
from cxloop.loop.models import Alert, AlertRule, insert_unless_taken
from cxloop.periods import Period

log = logging.getLogger(__name__)

#: How many past periods a rule catches up on at most, by grain (the first run reads this much history).
MAX_CATCH_UP = {"day": 62, "week": 40, "month": 18}


@dataclass
class Finding:
    """The outcome of one rule for one scope in one period."""

    scope_key: str
    breached: bool
    #: False when the sample was too small to say either way: the alert state is left as it is.
    decided: bool
    value: float | None = None
    baseline: float | None = None
    p_value: float | None = None
    effect: float | None = None
    n: float = 0.0
    test: str = ""
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AlertChange:
    """An alert that was opened, updated or resolved, for reports and task creation."""

    action: str
    alert: Alert
    rule: AlertRule
    finding: Finding | None
    period: Period
    #: The alert's message when the change happened (the alert itself may be updated later in the run).
    message: str = ""

    def __post_init__(self) -> None:
        self.message = self.message or self.alert.message


@dataclass
class RuleRun:
    """What evaluating one rule did."""

    rule: AlertRule
    periods: list[str] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)
    error: str | None = None


def scope_label(kind: str | None, key: str | None) -> str:
    """The scope key stored on alerts: ``carrier:CR-SD``, or ``""`` for the whole business."""
    return f"{kind}:{key}" if kind and key else ""


def parse_scope(scope_key: str) -> tuple[str | None, str | None]:
    """Inverse of :func:`scope_label`."""
    if not scope_key:
        return None, None
    kind, _, key = scope_key.partition(":")
    return kind, key


def _param(rule: AlertRule, name: str, default: Any) -> Any:
    value = (rule.params or {}).get(name)
    return default if value is None else value


def _worse_is_higher(rule: AlertRule, info: IndicatorInfo) -> bool:
    direction = _param(rule, "direction", "worse")
    if direction == "up":
        return True
    if direction == "down":
        return False
    return not info.higher_is_better


def periods_to_evaluate(*, rule: AlertRule, bounds: tuple[date, date] | None, as_of: date) -> list[Period]:
    """The complete periods of the rule's grain not yet evaluated, oldest first."""
    if bounds is None:
        return []
    grain = _param(rule, "grain", "week")
    first_day, last_day = bounds
    last_day = min(last_day, as_of)
    # A period is complete once the data covers its last day.
    newest = Period.containing(last_day, grain)
    if newest.end > last_day + timedelta(days=1):
        newest = newest.previous()
    warmup = int(_param(rule, "baseline_periods", 4)) if rule.kind == "change" else 0
    earliest = Period.containing(first_day, grain)
    if earliest.start < first_day:
        earliest = _next(earliest)  # the first period is partial: it would look like a drop in volume
    for _ in range(warmup):
        earliest = _next(earliest)
    start = earliest
    if rule.evaluated_until is not None:
        start = max(start, Period.containing(rule.evaluated_until, grain), key=lambda p: p.start)
    out: list[Period] = []
    period = newest
    while period.start >= start.start and len(out) < MAX_CATCH_UP.get(grain, 40):
        out.append(period)
        period = period.previous()
    return out[::-1]


def _next(period: Period) -> Period:
    return Period.containing(period.end, period.grain)


def _cells(
    source: IndicatorSource, rule: AlertRule, indicator: str, start: date, end: date
) -> dict[str, Cell]:
    if rule.per_scope:
        cells = source.cells(indicator=indicator, start=start, end=end, scope_kind=rule.scope_kind)
        return {scope_label(rule.scope_kind, k): c for k, c in cells.items() if k}
    if rule.scope_kind and rule.scope_value:
        cells = source.cells(
            indicator=indicator, start=start, end=end, scope_kind=rule.scope_kind, scope_key=rule.scope_value
        )
        return {scope_label(rule.scope_kind, rule.scope_value): cells.get(rule.scope_value, Cell())}
    cells = source.cells(indicator=indicator, start=start, end=end, scope_kind=None)
    return {"": cells.get("", Cell())}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def check_threshold(*, rule: AlertRule, info: IndicatorInfo, cells: dict[str, Cell]) -> list[Finding]:
    """Threshold: the value is beyond the limit (or the red line), and confidently so when asked."""
    higher = _worse_is_higher(rule, info)
    limit = _param(rule, "limit", None)
    if limit is None or _param(rule, "status", None) == "red":
        limit = info.red
    if limit is None:
        raise ValueError(f"rule {rule.code}: no limit and the indicator has no red line")
    limit = float(limit)
    op = _param(rule, "op", ">" if higher else "<")
    higher = op in (">", ">=")
    min_n = float(_param(rule, "min_n", 30))
    confidence = float(_param(rule, "confidence", 0.95))
    min_days = int(_param(rule, "min_days", 3))
    out: list[Finding] = []
    for key, cell in cells.items():
        value = cell.value(info.factor)
        if value is None or cell.den < min_n:
            out.append(Finding(key, False, False, value, limit, n=cell.den))
            continue
        beyond = (
            value >= limit
            if op == ">="
            else value > limit
            if op == ">"
            else value <= limit
            if op == "<="
            else value < limit
        )
        p_value: float | None = None
        test = "value"
        if beyond and confidence > 0:
            from scipy import stats as sps  # imported here so commands that never evaluate stay fast

            if info.kind == "proportion":
                # One-sided exact binomial test against the limit: the breach is not a small-sample fluke.
                p0 = min(max(limit / info.factor, 1e-9), 1 - 1e-9)
                x, n = round(cell.num), round(cell.den)
                result = sps.binomtest(x, n, p0, alternative="greater" if higher else "less")
                p_value, test = float(result.pvalue), "binomial_exact"
            else:
                daily = cell.daily_values(info.factor)
                if len(daily) < min_days:
                    out.append(Finding(key, False, False, value, limit, n=cell.den))
                    continue
                if len(set(daily)) == 1:
                    p_value = 0.0
                else:
                    res = sps.ttest_1samp(daily, limit, alternative="greater" if higher else "less")
                    p_value = float(res.pvalue)
                test = "one_sample_t_daily"
        out.append(
            Finding(
                key,
                beyond,
                True,
                value,
                limit,
                p_value=p_value,
                n=cell.den,
                test=test,
                message=f"{info.code} {_fmt(value)} {op} {_fmt(limit)}",
            )
        )
    if confidence > 0:
        _holm_gate(out, 1 - confidence)
    return out


def _holm_gate(findings: list[Finding], alpha: float) -> None:
    # Many scopes tested at once: Holm keeps the chance of any false alarm per rule and period ≤ alpha.
    tested = [f for f in findings if f.breached and f.p_value is not None]
    family = [f for f in findings if f.decided and f.p_value is not None] or tested
    if not tested:
        return
    adjusted = stats.holm([f.p_value or 1.0 for f in family])
    by_id = {id(f): p for f, p in zip(family, adjusted, strict=True)}
    for f in tested:
        f.p_value = by_id.get(id(f), f.p_value)
        if (f.p_value or 0.0) > alpha:
            f.breached = False


def check_change(
    *,
    rule: AlertRule,
    info: IndicatorInfo,
    current: dict[str, Cell],
    baseline: dict[str, Cell],
    baseline_days: int,
    period_days: int,
) -> list[Finding]:
    """Change: worse than the baseline by a material effect and beyond noise (tested, Holm-corrected)."""
    higher = _worse_is_higher(rule, info)
    alpha = float(_param(rule, "alpha", 0.01))
    min_n = float(_param(rule, "min_n", 50))
    # The baseline's own uncertainty is in the test; it only has to exist.
    min_baseline_n = float(_param(rule, "min_baseline_n", min(min_n, 10.0)))
    min_effect = float(_param(rule, "min_effect", 0.25))
    min_delta = float(_param(rule, "min_delta", 0.0))
    min_days = int(_param(rule, "min_days", 3))
    test_name = _param(rule, "test", "auto")
    peers = _param(rule, "baseline", "previous") == "peers"
    out: list[Finding] = []
    for key, cell in current.items():
        if peers:
            base = Cell()
            for other, other_cell in current.items():
                if other != key:
                    base.add(other_cell)
        else:
            base = baseline.get(key, Cell())
        v1, v0 = cell.value(info.factor), base.value(info.factor)
        if v1 is None or v0 is None or cell.den < min_n or base.den < min_baseline_n:
            out.append(Finding(key, False, False, v1, v0, n=cell.den))
            continue
        delta = (v1 - v0) if higher else (v0 - v1)
        effect = delta / abs(v0) if v0 != 0 else (math.inf if delta > 0 else 0.0)
        if test_name == "poisson":
            result = stats.poisson_rates(cell.num, period_days, base.num, baseline_days, greater=higher)
        elif info.kind == "proportion" and test_name in ("auto", "z"):
            result = stats.proportions(cell.num, cell.den, base.num, base.den, greater=higher)
        else:
            # Means (durations, scores) have no variance in the rollup: each day's mean is one sample,
            # which also absorbs day-to-day swings that a per-item test would mistake for signal.
            d1, d0 = cell.daily_values(info.factor), base.daily_values(info.factor)
            if len(d1) < min_days or len(d0) < min_days:
                out.append(Finding(key, False, False, v1, v0, n=cell.den))
                continue
            if test_name == "mann_whitney":
                result = stats.mann_whitney(d1, d0, greater=higher)
            else:
                m1, s1 = _mean_sd(d1)
                m0, s0 = _mean_sd(d0)
                result = stats.welch(m1, s1, len(d1), m0, s0, len(d0), greater=higher)
        material = effect >= min_effect and delta >= min_delta
        out.append(
            Finding(
                key,
                material,
                True,
                v1,
                v0,
                p_value=result.p_value,
                effect=effect,
                n=cell.den,
                test=result.test,
                message=f"{info.code} {_fmt(v1)} vs {'peers' if peers else 'baseline'} {_fmt(v0)} "
                f"({effect:+.0%}, p={result.p_value:.2g})",
            )
        )
    _holm_gate(out, alpha)
    for f in out:
        if f.breached and (f.p_value is None or f.p_value > alpha):
            f.breached = False
    return out


def _mean_sd(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd


def evaluate_period(
    *, rule: AlertRule, info: IndicatorInfo, source: IndicatorSource, period: Period
) -> list[Finding]:
    """Every scope's finding for one rule in one period."""
    indicator = rule.indicator or ""
    current = _cells(source, rule, indicator, period.start, period.end)
    if rule.kind == "threshold":
        return check_threshold(rule=rule, info=info, cells=current)
    if rule.kind == "change":
        baseline: dict[str, Cell] = {}
        count = int(_param(rule, "baseline_periods", 4))
        base_start = period.previous(count).start
        if _param(rule, "baseline", "previous") != "peers":
            baseline = _cells(source, rule, indicator, base_start, period.start)
        return check_change(
            rule=rule,
            info=info,
            current=current,
            baseline=baseline,
            baseline_days=(period.start - base_start).days,
            period_days=period.days,
        )
    raise ValueError(f"rule kind {rule.kind!r} is not evaluated by periods")


def apply_findings(
    *,
    db_session: Session,
    rule: AlertRule,
    info: IndicatorInfo | None,
    period: Period,
    findings: list[Finding],
) -> list[AlertChange]:
    """Open, update or resolve the rule's alerts from one period's findings."""
    changes: list[AlertChange] = []
    open_alerts = {
        a.scope_key: a
        for a in db_session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.status == "open"))
    }
    at = now()
    seen: set[str] = set()
    for f in findings:
        seen.add(f.scope_key)
        alert = open_alerts.get(f.scope_key)
        details = {
            "period": period.label,
            "value": f.value,
            "baseline": f.baseline,
            "p_value": f.p_value,
            "effect": f.effect if f.effect is None or math.isfinite(f.effect) else None,
            "n": f.n,
            "test": f.test,
            **f.extra,
        }
        if f.breached:
            if alert is None:
                alert = _open_alert(
                    db_session=db_session, rule=rule, info=info, finding=f, period=period, at=at
                )
                if alert.occurrences == 1:
                    changes.append(AlertChange("opened", alert, rule, f, period))
                    continue
            else:
                alert.occurrences += 1
            alert.value, alert.baseline, alert.p_value = f.value, f.baseline, f.p_value
            alert.message = f.message
            alert.last_seen_at = at
            history = list((alert.details or {}).get("periods", []))[-23:]
            alert.details = {
                **details,
                "first_period": (alert.details or {}).get("first_period"),
                "periods": [*history, period.label],
            }
            changes.append(AlertChange("updated", alert, rule, f, period))
        elif f.decided and alert is not None:
            changes.append(_resolve(alert, rule, f, period, at))
    if rule.per_scope or rule.kind == "emerging_topic":
        # A scope with no data at all this period (e.g. a carrier no longer used) cannot stay breached.
        for key, alert in open_alerts.items():
            if key not in seen and alert.status == "open":
                changes.append(_resolve(alert, rule, None, period, at))
    return changes


def _resolve(alert: Alert, rule: AlertRule, finding: Finding | None, period: Period, at: Any) -> AlertChange:
    alert.status = "resolved"
    alert.open_key = None
    alert.resolved_at = at
    alert.details = {**(alert.details or {}), "resolved_period": period.label}
    return AlertChange("resolved", alert, rule, finding, period)


def _open_alert(
    *,
    db_session: Session,
    rule: AlertRule,
    info: IndicatorInfo | None,
    finding: Finding,
    period: Period,
    at: Any,
) -> Alert:
    open_key = f"{rule.id}|{finding.scope_key}"
    alert = Alert(
        rule_id=rule.id,
        scope_key=finding.scope_key,
        open_key=open_key,
        status="open",
        severity=rule.severity,
        indicator=rule.indicator,
        department=owner_department(rule=rule, info=info, scope_key=finding.scope_key),
        value=finding.value,
        baseline=finding.baseline,
        p_value=finding.p_value,
        message=finding.message,
        details={
            "period": period.label,
            "first_period": period.label,
            "periods": [period.label],
            "test": finding.test,
            "n": finding.n,
            **finding.extra,
        },
        occurrences=1,
        first_seen_at=at,
        last_seen_at=at,
    )
    if insert_unless_taken(db_session, alert) is not None:
        # Another evaluator opened it first: the unique open_key makes us update theirs instead.
        existing = db_session.scalars(select(Alert).where(Alert.open_key == open_key)).one()
        existing.occurrences += 1
        return existing
    return alert


def owner_department(*, rule: AlertRule, info: IndicatorInfo | None, scope_key: str) -> str:
    """Who owns a breach: the rule's department, a department scope, else the indicator's owner."""
    if rule.department:
        return rule.department
    kind, key = parse_scope(scope_key)
    if kind == "department" and key:
        return key
    if info is not None:
        return info.owner
    return "customer_service"


def list_alerts(*, db_session: Session, status: str | None = None, limit: int | None = 500) -> list[Alert]:
    """Alerts, newest first; ``status`` open or resolved (None: both); ``limit`` None: all of them."""
    query = select(Alert).order_by(Alert.id.desc())
    if status:
        query = query.where(Alert.status == status)
    if limit is not None:
        query = query.limit(limit)
    return list(db_session.scalars(query))
