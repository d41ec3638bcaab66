"""The metrics service: indicators, Pareto, root cause, emotion map, scorecards and competitors.

Every function is keyword-only and takes ``db_session``. Indicators read the ``metrics_daily``
rollups (see rollup.refresh), so each dashboard query sums a few hundred rows at any data size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from cxloop import clock
from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.clock import now as business_now
from cxloop.customers.models import Customer
from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.feedback.service import mask_spans
from cxloop.i18n import translate
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.metrics import schemas as s
from cxloop.metrics.models import (
    IndicatorTarget,
    MetricsCustomerMonth,
    MetricsDaily,
    MetricsLateOrder,
    MetricsSetting,
)
from cxloop.metrics.registry import (
    HIGHER,
    INSUFFICIENT,
    Indicator,
    get_indicator,
    indicator_status,
    registry,
)
from cxloop.metrics.rollup import LOAD_BUCKET_MS, _feedback_scope, _own
from cxloop.orders import outcomes
from cxloop.orders.models import Order
from cxloop.periods import SCOPE_KINDS, Period, Scope
from cxloop.sql import as_date, hours_between
from cxloop.taxonomy import aspect_info, aspects
from cxloop.vocab import DEFAULT_STAGE_WEIGHTS, DEPARTMENTS, STAGES

#: Pareto focus rule: bars from the top until the cumulative share reaches this, at least 3, at most 4.
FOCUS_CUMULATIVE = 60.0
FOCUS_MIN, FOCUS_MAX = 3, 4
#: Aspects whose negative mentions mean "did not arrive on time".
LATE_ASPECTS = ("delivery_speed", "dispatch_speed")
#: Sentiment score (P(positive)) below which a moment counts as negative, above which positive.
NEGATIVE_BELOW, POSITIVE_ABOVE = 0.4, 0.6
#: Scorecard points per status (averaged into the department score).
STATUS_POINTS = {"green": 100.0, "amber": 50.0, "red": 0.0}
TREND_MONTHS = 6

_TIER_LABELS = {"new": ("新客", "New"), "returning": ("老客", "Returning"), "vip": ("VIP", "VIP")}
_CHANNEL_LABELS = {
    "review": ("评价", "Review"), "chat": ("在线客服", "Chat"), "ticket": ("工单", "Ticket"),
    "call": ("电话", "Call"), "app": ("App 反馈", "App"), "social": ("社交媒体", "Social"),
    "survey": ("问卷", "Survey"),
}  # fmt: skip


# ---------------------------------------------------------------- rollup reads


def _components_filter(ind: Indicator) -> Any:
    if ind.percentile is not None:
        return and_(MetricsDaily.component >= "load_b:", MetricsDaily.component < "load_b;")
    return MetricsDaily.component.in_(ind.components)


def _many_filter(indicators: Iterable[Indicator]) -> Any:
    names: set[str] = set()
    load = False
    for ind in indicators:
        load = load or ind.percentile is not None
        names.update(ind.components)
    cond: Any = MetricsDaily.component.in_(sorted(names))
    if load:
        cond = cond | and_(MetricsDaily.component >= "load_b:", MetricsDaily.component < "load_b;")
    return cond


def _sums(
    session: Session, *, cond: Any, kind: str, key: str | None, start: date, end: date
) -> dict[str, float]:
    m = MetricsDaily
    where = [m.scope_kind == kind, cond, m.day >= start, m.day < end]
    if key is not None:
        where.append(m.scope_key == key)
    rows = session.execute(select(m.component, func.sum(m.value)).where(*where).group_by(m.component))
    return {c: float(v or 0) for c, v in rows}


def _scope_args(scope: Scope | None) -> tuple[str, str]:
    return ("all", "") if scope is None else (scope.kind, scope.key)


def _value(ind: Indicator, sums: dict[str, float]) -> tuple[float | None, int]:
    """The indicator's value and its base count from summed components."""
    if ind.percentile is not None:
        hist = sorted((int(c.split(":", 1)[1]), v) for c, v in sums.items() if c.startswith("load_b:"))
        total = sum(v for _, v in hist)
        if not total:
            return None, 0
        rank, seen = total * ind.percentile / 100.0, 0.0
        for bucket, count in hist:
            if seen + count >= rank:
                # Interpolate inside the 50 ms bucket so small shifts still move the number.
                inside = (rank - seen) / count if count else 0.0
                return round((bucket + inside) * LOAD_BUCKET_MS, 1), int(total)
            seen += count
        return float(hist[-1][0] * LOAD_BUCKET_MS), int(total)
    den = sum(sums.get(c, 0.0) for c in ind.den)
    if not den:
        return None, 0
    num = sum(-sums.get(c[1:], 0.0) if c.startswith("-") else sums.get(c, 0.0) for c in ind.num)
    return round(ind.factor * num / den, 4), int(den)


# ---------------------------------------------------------------- targets


def _target_table(session: Session) -> dict[tuple[str, str, str | None], tuple[float, float, float]]:
    rows = session.scalars(select(IndicatorTarget))
    return {(t.indicator, t.scope_kind, t.scope_key): (t.target, t.amber, t.red) for t in rows}


def _target_for(
    table: dict[tuple[str, str, str | None], tuple[float, float, float]], ind: Indicator, scope: Scope | None
) -> tuple[float, float, float]:
    # Most specific wins: this scope, then its kind, then the whole business, then the registry.
    keys: list[tuple[str, str, str | None]] = []
    if scope is not None:
        keys += [(ind.code, scope.kind, scope.key), (ind.code, scope.kind, None)]
    keys.append((ind.code, "all", None))
    for key in keys:
        if key in table:
            return table[key]
    return ind.target, ind.amber, ind.red


def list_targets(*, db_session: Session) -> list[s.TargetOut]:
    """Every edited target (rows of indicator_targets)."""
    rows = db_session.scalars(select(IndicatorTarget).order_by(IndicatorTarget.indicator))
    return [
        s.TargetOut(indicator=t.indicator, scope_kind=t.scope_kind, scope_key=t.scope_key, target=t.target,
                    amber=t.amber, red=t.red)
        for t in rows
    ]  # fmt: skip


def set_target(*, db_session: Session, target_in: s.TargetIn) -> s.TargetOut:
    """Create or replace a target for an indicator and scope; commits."""
    ind = get_indicator(target_in.indicator)
    if target_in.scope_kind != "all" and target_in.scope_kind not in ind.scopes:
        raise ValueError(f"{ind.code} has no scope kind {target_in.scope_kind!r}")
    higher = ind.direction == HIGHER
    if (target_in.amber < target_in.red) if higher else (target_in.amber > target_in.red):
        raise ValueError("the red threshold must be worse than the amber threshold")
    key = None if target_in.scope_kind == "all" else target_in.scope_key
    row = db_session.scalars(
        select(IndicatorTarget).where(
            IndicatorTarget.indicator == ind.code,
            IndicatorTarget.scope_kind == target_in.scope_kind,
            IndicatorTarget.scope_key.is_(None) if key is None else IndicatorTarget.scope_key == key,
        )
    ).first()
    if row is None:
        row = IndicatorTarget(indicator=ind.code, scope_kind=target_in.scope_kind, scope_key=key)
        db_session.add(row)
    row.target, row.amber, row.red = target_in.target, target_in.amber, target_in.red
    db_session.commit()
    return s.TargetOut(**target_in.model_dump() | {"scope_key": key})


# ---------------------------------------------------------------- indicators


def _def(ind: Indicator) -> s.IndicatorDef:
    return s.IndicatorDef(
        code=ind.code, name_zh=ind.name_zh, name_en=ind.name_en, unit=ind.unit, direction=ind.direction,
        owner=ind.owner, group=ind.group, scale=ind.scale, base_zh=ind.base_zh, base_en=ind.base_en,
        min_n=ind.min_n, scopes=list(ind.scopes), target=ind.target, amber=ind.amber, red=ind.red,
        evidence=list(ind.evidence), scorecard=ind.scorecard, description=ind.description_en,
        description_zh=ind.description_zh,
    )  # fmt: skip


def list_indicators(*, department: str | None = None) -> list[s.IndicatorDef]:
    """The indicator registry (optionally only one department's indicators)."""
    return [_def(i) for i in registry().values() if department is None or i.owner == department]


def _indicator_value(
    ind: Indicator,
    period: Period,
    scope: Scope | None,
    sums: dict[str, float],
    prev_sums: dict[str, float] | None,
    targets: dict[tuple[str, str, str | None], tuple[float, float, float]],
    lang: str,
) -> s.IndicatorValue:
    value, n = _value(ind, sums)
    target, amber, red = _target_for(targets, ind, scope)
    previous, prev_n = _value(ind, prev_sums) if prev_sums is not None else (None, 0)
    return s.IndicatorValue(
        indicator=ind.code, name=ind.name(lang), unit=ind.unit, direction=ind.direction, owner=ind.owner,
        period=period.label, scope=str(scope) if scope else None, value=value, n=n, min_n=ind.min_n,
        target=target, amber=amber, red=red, status=indicator_status(ind, value, n, amber=amber, red=red),
        previous=previous,
        previous_status=None if prev_sums is None
        else indicator_status(ind, previous, prev_n, amber=amber, red=red),
        change=None if value is None or previous is None else round(value - previous, 4),
    )  # fmt: skip


def _check_scope(ind: Indicator, kind: str) -> None:
    if kind != "all" and kind not in ind.scopes:
        supported = ", ".join(ind.scopes) or "none"
        raise ValueError(f"{ind.code} cannot be cut by {kind!r} (supported: {supported})")


def compute(
    *, db_session: Session, indicator: str, period: Period, scope: Scope | None = None, lang: str = "zh"
) -> s.IndicatorValue:
    """One indicator for one period and scope, with target, status and the previous period's value."""
    ind = get_indicator(indicator)
    kind, key = _scope_args(scope)
    _check_scope(ind, kind)
    cond = _components_filter(ind)
    prev = period.previous()
    sums = _sums(db_session, cond=cond, kind=kind, key=key, start=period.start, end=period.end)
    prev_sums = _sums(db_session, cond=cond, kind=kind, key=key, start=prev.start, end=prev.end)
    return _indicator_value(ind, period, scope, sums, prev_sums, _target_table(db_session), lang)


def series(
    *,
    db_session: Session,
    indicator: str,
    start: date,
    end: date,
    grain: str = "month",
    scope: Scope | None = None,
) -> list[s.SeriesPoint]:
    """The indicator for every period of ``grain`` from the one containing ``start`` up to ``end``."""
    ind = get_indicator(indicator)
    kind, key = _scope_args(scope)
    _check_scope(ind, kind)
    first = Period.containing(start, grain)
    periods = [first]
    while periods[-1].end <= end and len(periods) < 1000:
        periods.append(Period.containing(periods[-1].end, grain))
    if periods[-1].start >= end and len(periods) > 1:
        periods.pop()
    m = MetricsDaily
    rows = db_session.execute(
        select(m.day, m.component, func.sum(m.value))
        .where(m.scope_kind == kind, m.scope_key == key, _components_filter(ind),
               m.day >= first.start, m.day < periods[-1].end)
        .group_by(m.day, m.component)
    )  # fmt: skip
    per: dict[date, dict[str, float]] = defaultdict(dict)
    for day, comp, total in rows:
        bucket = Period.containing(as_date(day), grain).start
        per[bucket][comp] = per[bucket].get(comp, 0.0) + float(total or 0)
    _target, amber, red = _target_for(_target_table(db_session), ind, scope)
    out = []
    for p in periods:
        value, n = _value(ind, per.get(p.start, {}))
        status = indicator_status(ind, value, n, amber=amber, red=red)
        out.append(s.SeriesPoint(period=p.label, start=p.start, value=value, n=n, status=status))
    return out


def _labels(session: Session, kind: str, keys: Iterable[str], lang: str) -> dict[str, str]:
    """Display names for scope keys (names from master data, zh/en for codes)."""
    keys = list(keys)
    model: Any = {"warehouse": Warehouse, "carrier": Carrier, "brand": Brand, "product": Product,
                  "supplier": Supplier}.get(kind)  # fmt: skip
    if model is not None and keys:
        return dict(
            session.execute(select(model.external_id, model.name).where(model.external_id.in_(keys))).all()
        )
    names = {"department": DEPARTMENTS, "tier": _TIER_LABELS, "channel": _CHANNEL_LABELS}.get(kind, {})
    return {k: names[k][1 if lang == "en" else 0] for k in keys if k in names}


def breakdown(
    *, db_session: Session, indicator: str, period: Period, by: str, lang: str = "zh"
) -> list[s.BreakdownRow]:
    """The indicator per key of scope kind ``by`` (warehouse, carrier, shift ...), worst first."""
    ind = get_indicator(indicator)
    if by not in SCOPE_KINDS:
        raise ValueError(f"unknown scope kind {by!r}")
    _check_scope(ind, by)
    m = MetricsDaily
    prev = period.previous()
    now: dict[str, dict[str, float]] = defaultdict(dict)
    before: dict[str, dict[str, float]] = defaultdict(dict)
    for window, into in ((period, now), (prev, before)):
        rows = db_session.execute(
            select(m.scope_key, m.component, func.sum(m.value))
            .where(m.scope_kind == by, _components_filter(ind), m.day >= window.start, m.day < window.end)
            .group_by(m.scope_key, m.component)
        )
        for key, comp, total in rows:
            into[key][comp] = float(total or 0)
    targets = _target_table(db_session)
    labels = _labels(db_session, by, now.keys(), lang)
    out = []
    for key, sums in now.items():
        value, n = _value(ind, sums)
        if value is None:
            continue
        target, amber, red = _target_for(targets, ind, Scope(by, key))
        out.append(s.BreakdownRow(
            key=key, label=labels.get(key, key), value=value, n=n, target=target,
            status=indicator_status(ind, value, n, amber=amber, red=red),
            previous=_value(ind, before.get(key, {}))[0],
        ))  # fmt: skip
    # Worst first: the highest value of a lower-is-better indicator, the lowest of a higher-is-better one;
    # scopes with too small a sample go last, whatever their value.
    out.sort(key=lambda r: r.value or 0.0, reverse=ind.direction != HIGHER)
    out.sort(key=lambda r: r.status == INSUFFICIENT)
    return out


# ---------------------------------------------------------------- months


def business_today() -> date:
    """Today in the business time zone (the one clock, cxloop.clock.now)."""
    return business_now().date()


def is_month_to_date(period: Period, *, today: date | None = None) -> bool:
    """True while ``period`` has not ended: its numbers are month-to-date (本月至今), not a month's."""
    return period.end > (today or business_today())


def latest_month(*, db_session: Session) -> str | None:
    """The latest month with rolled-up data ("YYYY-MM"), even one still running; None without data."""
    day = db_session.scalar(select(func.max(MetricsDaily.day)))
    if day is None:
        return None
    return Period.month(min(as_date(day), business_today())).label


def default_month(*, db_session: Session) -> str:
    """The month every page, API route and report shows when none is asked for.

    The latest COMPLETE month with data: one chat dated today must not turn the dashboard to a month
    that has barely begun. Only a shop whose data all lies in the running month gets that month
    (shown as month-to-date).
    """
    today = business_today()
    m = MetricsDaily
    current = Period.month(today)
    day = db_session.scalar(select(func.max(m.day)).where(m.day < current.start))
    if day is not None:
        return Period.month(as_date(day)).label
    return current.label


def month_choices(*, db_session: Session, month: str | None = None, count: int = 12) -> list[s.MonthChoice]:
    """The month picker: the latest month with data and the ones before it, the running one marked."""
    latest = latest_month(db_session=db_session) or month or default_month(db_session=db_session)
    last = Period.month(latest)
    periods = [last.previous(i) for i in range(count)]
    if month and month not in {p.label for p in periods}:
        periods.insert(0, Period.month(month))
    return [s.MonthChoice(month=p.label, month_to_date=is_month_to_date(p)) for p in periods]


def _month(db_session: Session, month: str | None) -> Period:
    return Period.month(month or default_month(db_session=db_session))


#: The overview's headline indicators; aspect and complaint-rate indicators live on their own pages.
HEADLINE_GROUPS = ("operational", "experience")


def indicator_values(
    *,
    db_session: Session,
    period: Period,
    department: str | None = None,
    groups: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
    lang: str = "zh",
) -> list[s.IndicatorValue]:
    """Every registry indicator (or those of ``groups``/``codes``/``department``) for one period.

    The one computation behind the overview, the indicator registry page, the scorecards' current
    month, ``cxloop report indicators`` and ``GET /api/v1/metrics/values``.
    """
    wanted_groups = None if groups is None else set(groups)
    wanted_codes = None if codes is None else set(codes)
    inds = [
        i for i in registry().values()
        if department in (None, i.owner)
        and (wanted_groups is None or i.group in wanted_groups)
        and (wanted_codes is None or i.code in wanted_codes)
    ]  # fmt: skip
    if not inds:
        return []
    prev = period.previous()
    cond = _many_filter(inds)
    sums = _sums(db_session, cond=cond, kind="all", key="", start=period.start, end=period.end)
    prev_sums = _sums(db_session, cond=cond, kind="all", key="", start=prev.start, end=prev.end)
    targets = _target_table(db_session)
    return [_indicator_value(i, period, None, sums, prev_sums, targets, lang) for i in inds]


def indicator_page(
    *, db_session: Session, month: str | None = None, department: str | None = None, lang: str = "zh"
) -> s.IndicatorTable:
    """Every indicator of the registry (aspect and complaint-rate ones included) for one month."""
    period = _month(db_session, month)
    values = indicator_values(db_session=db_session, period=period, department=department, lang=lang)
    return s.IndicatorTable(month=period.label, month_to_date=is_month_to_date(period), indicators=values)


def overview(
    *, db_session: Session, month: str | None = None, department: str | None = None, lang: str = "zh"
) -> s.Overview:
    """The month at a glance: every headline indicator with change and status, the Pareto focus."""
    period = _month(db_session, month)
    prev = period.previous()
    values = indicator_values(
        db_session=db_session, period=period, department=department, groups=HEADLINE_GROUPS, lang=lang
    )
    # The late rate is the delivery domain's one definition, read from the same rollups as root cause.
    late_rate = outcomes.late_rate(_outcome_sums(db_session, period))
    emotion = emotion_map(db_session=db_session, month=period.label)
    return s.Overview(
        month=period.label, month_to_date=is_month_to_date(period), previous_month=prev.label, indicators=values,
        red=[v.indicator for v in values if v.status == "red"],
        pareto=pareto(db_session=db_session, month=period.label, department=department),
        late_rate=late_rate, emotion_score=emotion.overall_score,
    )  # fmt: skip


# ---------------------------------------------------------------- Pareto


def _brand_scope(brand: str | None) -> tuple[str, str]:
    return ("all", "") if brand is None else ("brand", brand)


def pareto(
    *, db_session: Session, month: str | None = None, brand: str | None = None, department: str | None = None
) -> s.Pareto:
    """Complaints of the month by aspect: distinct items per aspect, share, cumulative share, change, focus."""
    period = _month(db_session, month)
    prev = period.previous()
    kind, key = _brand_scope(brand)
    # asp_neg:<aspect> counts distinct feedback items per aspect (rollup._aspect_pairs), cmp_items
    # distinct complaint items: the same review is never counted twice in a bar.
    # Two range scans rather than one OR, which would keep SQLite off the lookup index.
    cond = and_(MetricsDaily.component >= "asp_neg:", MetricsDaily.component < "asp_neg;")
    now = _sums(db_session, cond=cond, kind=kind, key=key, start=period.start, end=period.end)
    before = _sums(db_session, cond=cond, kind=kind, key=key, start=prev.start, end=prev.end)
    counts = {c.split(":", 1)[1]: int(v) for c, v in now.items() if v}
    prev_counts = {c.split(":", 1)[1]: int(v) for c, v in before.items() if v}
    if department is not None:
        counts = {a: n for a, n in counts.items() if aspect_info(a).department == department}
        prev_counts = {a: n for a, n in prev_counts.items() if aspect_info(a).department == department}
    items_kind, items_key = ("department", department) if department is not None else (kind, key)
    items_total, prev_items_total = (
        int(_sums(db_session, cond=MetricsDaily.component == "cmp_items", kind=items_kind, key=items_key,
                  start=p.start, end=p.end).get("cmp_items", 0))
        for p in (period, prev)
    )  # fmt: skip
    total = sum(counts.values())
    items: list[s.ParetoItem] = []
    cumulative = 0.0
    for aspect, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        info = aspect_info(aspect)
        share = 100.0 * count / total
        cumulative += share
        before_n = prev_counts.get(aspect, 0)
        items.append(s.ParetoItem(
            aspect=aspect, name_zh=info.name_zh, name_en=info.name_en, department=info.department,
            stage=info.stage, count=count, share=round(share, 2), cumulative_share=round(min(cumulative, 100.0), 2),
            previous_count=before_n, change=count - before_n,
            change_pct=round(100.0 * (count - before_n) / before_n, 1) if before_n else None, focus=False,
        ))  # fmt: skip
    for i, item in enumerate(items):
        covered_before = items[i - 1].cumulative_share if i else 0.0
        if i < FOCUS_MIN or (i < FOCUS_MAX and covered_before < FOCUS_CUMULATIVE):
            item.focus = True
        else:
            break
    return s.Pareto(
        month=period.label, previous_month=prev.label, month_to_date=is_month_to_date(period), brand=brand,
        total=items_total, bars_total=total, previous_total=prev_items_total, items=items,
        focus=[i.aspect for i in items if i.focus],
    )  # fmt: skip


def _competitor_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Brand.id).where(Brand.is_own.is_(False))))


def pareto_items(
    *,
    db_session: Session,
    month: str | None = None,
    aspect: str,
    limit: int = 50,
    offset: int = 0,
    brand: str | None = None,
    personal_data: bool = False,
) -> s.ComplaintPage:
    """The negative mentions behind one Pareto bar, newest first, with their evidence spans.

    Without ``personal_data`` (the policy's ``can_see_contact``), phones, emails, WeChat ids and
    addresses the customers wrote are masked, and the evidence spans follow the masked text.
    """
    period = _month(db_session, month)
    a, item = FeedbackAspect, FeedbackItem
    where: list[Any] = [
        a.occurred_at >= period.start_at,
        a.occurred_at < period.end_at,
        a.aspect == aspect,
        a.sentiment == "negative",
    ]
    if brand is None:
        where.append(_own(a.brand_id, _competitor_ids(db_session)))
    else:
        brand_id = db_session.scalar(select(Brand.id).where(Brand.external_id == brand))
        where.append(a.brand_id == brand_id)
    # One row per feedback item (its first negative span of the aspect): a review that names the aspect
    # three times is one complaint, listed once, exactly as the Pareto bar counts it. The correlated
    # lookup (feedback_id index) keeps the newest-first scan able to stop at the page's end.
    a2 = aliased(FeedbackAspect)
    first_span = (
        select(func.min(a2.id))
        .where(a2.feedback_id == a.feedback_id, a2.aspect == aspect, a2.sentiment == "negative")
        .scalar_subquery()
    )
    total = db_session.scalar(select(func.count(func.distinct(a.feedback_id))).where(*where)) or 0
    rows = db_session.execute(
        select(item.id, item.external_id, item.occurred_at, item.channel, item.text, item.rating, a.start,
               a.end, Order.external_id, Product.external_id)
        .select_from(a)
        .join(item, item.id == a.feedback_id)
        .outerjoin(Order, Order.id == item.order_id)
        .outerjoin(Product, Product.id == item.product_id)
        .where(*where, a.id == first_span)
        .order_by(a.occurred_at.desc(), a.id.desc())
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    )  # fmt: skip
    items = []
    for fid, ext, at, channel, text, rating, start, end, order, product in rows:
        text = text or ""
        if not personal_data:
            text, [(start, end)] = mask_spans(text, [(start, end)])
        items.append(s.ComplaintItem(
            feedback_id=fid, external_id=ext, occurred_at=at, channel=channel, text=text, rating=rating,
            start=start, end=end, evidence=text[start:end], order=order, product=product,
        ))  # fmt: skip
    return s.ComplaintPage(
        month=period.label, month_to_date=is_month_to_date(period), aspect=aspect, total=total, limit=limit,
        offset=offset, items=items,
    )  # fmt: skip


def evidence_aspects(indicator: str, scope: Scope | None = None) -> tuple[str, ...]:
    """The aspects whose negative mentions are the evidence behind ``indicator`` in ``scope``.

    The registry's ``evidence`` list; a department scope keeps the aspects that department owns.
    """
    ind = get_indicator(indicator)
    found = ind.evidence
    if scope is not None and scope.kind == "department":
        owned = tuple(a for a in aspects() if aspect_info(a).department == scope.key)
        found = tuple(a for a in found if a in owned) if found else owned
    return found


def evidence_items(
    *, db_session: Session, indicator: str, period: Period, scope: Scope | None = None, limit: int = 5
) -> list[s.ComplaintItem]:
    """The complaints behind an indicator in a period and scope: the alert's and its task's evidence.

    Distinct feedback items with a negative mention of one of the indicator's evidence aspects, in
    the period, cut by the scope exactly as the rollup cuts it (own brands unless a brand scope),
    most negative first. An indicator without evidence aspects (e.g. stock-outs) has none, rather
    than unrelated complaints.
    """
    wanted = evidence_aspects(indicator, scope)
    if not wanted:
        return []
    a, item = FeedbackAspect, FeedbackItem
    where: list[Any] = [
        a.occurred_at >= period.start_at, a.occurred_at < period.end_at, a.aspect.in_(wanted),
        a.sentiment == "negative",
    ]  # fmt: skip
    first: Any = select(
        a.feedback_id.label("fid"), func.min(a.id).label("aid"), func.min(a.score).label("worst")
    )
    if scope is None or scope.kind != "brand":
        where.append(_own(a.brand_id, _competitor_ids(db_session)))
    if scope is not None and scope.kind not in ("department",):
        first = first.select_from(a).join(item, item.id == a.feedback_id)
        first, key = _feedback_scope(scope.kind, first)
        where.append(key == scope.key)
    chosen = first.where(*where).group_by(a.feedback_id).subquery()
    rows = db_session.execute(
        select(item.id, item.external_id, item.occurred_at, item.channel, item.text, item.rating, a.start,
               a.end, a.aspect, Order.external_id, Product.external_id)
        .select_from(chosen)
        .join(a, a.id == chosen.c.aid)
        .join(item, item.id == chosen.c.fid)
        .outerjoin(Order, Order.id == item.order_id)
        .outerjoin(Product, Product.id == item.product_id)
        .order_by(chosen.c.worst, item.occurred_at.desc(), item.id)
        .limit(max(1, limit))
    )  # fmt: skip
    return [
        s.ComplaintItem(
            feedback_id=fid, external_id=ext, occurred_at=at, channel=channel, text=text or "", rating=rating,
            start=start, end=end, evidence=(text or "")[start:end], aspect=aspect, order=order, product=product,
        )
        for fid, ext, at, channel, text, rating, start, end, aspect, order, product in rows
    ]  # fmt: skip


# ---------------------------------------------------------------- root cause


def root_cause(
    *, db_session: Session, month: str | None = None, department: str | None = None, lang: str = "zh"
) -> s.RootCause:
    """Late orders of the month put down to the late stage, by warehouse and carrier, with complaints."""
    period = _month(db_session, month)
    lo = MetricsLateOrder
    in_month = [lo.day >= period.start, lo.day < period.end]
    outcome_sums = _outcome_sums(db_session, period)
    orders = outcome_sums.get("promised_n", 0.0)
    by_stage_rows = db_session.execute(
        select(lo.stage, func.count(), func.avg(lo.excess_hours)).where(*in_month).group_by(lo.stage)
    ).all()
    late_total = sum(n for _, n, _ in by_stage_rows)

    def share(n: int) -> float:
        return round(100.0 * n / late_total, 2) if late_total else 0.0

    def owner(stage: str) -> str:
        return outcomes.stage_owner(stage)

    by_stage = [
        s.CauseRow(stage=st, department=owner(st), late_orders=n, share=share(n), label=outcomes.stage_label(st, lang),
                   mean_excess_hours=round(ex or 0.0, 2))
        for st, n, ex in sorted(by_stage_rows, key=lambda r: -r[1])
        if department in (None, owner(st))
    ]  # fmt: skip
    # Warehouse stages are cut by warehouse, the carrier stage by carrier; rate = of that scope's orders.
    by_scope: list[s.CauseRow] = []
    for kind, column, model in (
        ("warehouse", lo.warehouse_id, Warehouse),
        ("carrier", lo.carrier_id, Carrier),
    ):
        rows = db_session.execute(
            select(lo.stage, model.external_id, model.name, func.count(), func.avg(lo.excess_hours))
            .join(model, model.id == column)
            .where(*in_month)
            .group_by(lo.stage, model.external_id, model.name)
        ).all()
        base = _sums_by_key(db_session, kind=kind, component="promised_n", period=period)
        for st, key, name, n, ex in rows:
            is_carrier = "carrier" in outcomes.stage_parts(st)
            if (kind == "carrier") != is_carrier or department not in (None, owner(st)):
                continue
            scope_orders = base.get(key, 0.0)
            by_scope.append(s.CauseRow(
                stage=st, department=owner(st), scope_kind=kind, key=key, label=name, late_orders=n,
                share=share(n), rate=round(100.0 * n / scope_orders, 2) if scope_orders else None,
                mean_excess_hours=round(ex or 0.0, 2),
            ))  # fmt: skip
    by_scope.sort(key=lambda r: -r.late_orders)
    # A finding stands out when its rate is well above the same stage's rate elsewhere.
    findings = [r for r in by_scope if r.rate is not None and _stands_out(r, by_scope)]
    findings.sort(key=lambda r: -(r.rate or 0.0))
    complaints, complaints_total = _late_complaints(db_session, period, department)
    return s.RootCause(
        month=period.label, month_to_date=is_month_to_date(period), orders=int(orders), late_orders=late_total,
        late_rate=outcomes.late_rate(outcome_sums), by_stage=by_stage,
        by_scope=by_scope, findings=findings[:5], complaints_total=complaints_total, complaints=complaints,
    )  # fmt: skip


def _outcome_sums(session: Session, period: Period) -> dict[str, float]:
    """The business-wide delivery outcome counts (``out:*``) and due orders of ``period``."""
    cond = or_(MetricsDaily.component.like("out:%"), MetricsDaily.component == "promised_n")
    return _sums(session, cond=cond, kind="all", key="", start=period.start, end=period.end)


def _stands_out(row: s.CauseRow, rows: list[s.CauseRow]) -> bool:
    peers = [r.rate for r in rows if r.stage == row.stage and r.key != row.key and r.rate is not None]
    if not peers or row.rate is None:
        return False
    typical = sorted(peers)[len(peers) // 2]
    return row.rate >= 2.0 * typical and row.rate >= 1.0


def _sums_by_key(session: Session, *, kind: str, component: str, period: Period) -> dict[str, float]:
    m = MetricsDaily
    rows = session.execute(
        select(m.scope_key, func.sum(m.value))
        .where(m.scope_kind == kind, m.component == component, m.day >= period.start, m.day < period.end)
        .group_by(m.scope_key)
    )
    return {k: float(v or 0) for k, v in rows}


def _late_complaints(
    session: Session, period: Period, department: str | None
) -> tuple[list[s.ComplaintCause], int]:
    a, item, lo = FeedbackAspect, FeedbackItem, MetricsLateOrder
    rows = session.execute(
        select(lo.stage, func.count(func.distinct(a.feedback_id)))
        .select_from(a)
        .join(item, item.id == a.feedback_id)
        .outerjoin(lo, lo.order_id == item.order_id)
        .where(
            a.occurred_at >= period.start_at, a.occurred_at < period.end_at, a.aspect.in_(LATE_ASPECTS),
            a.sentiment == "negative", item.order_id.is_not(None), _own(a.brand_id, _competitor_ids(session)),
        )
        .group_by(lo.stage)
    ).all()  # fmt: skip
    total = sum(n for _, n in rows)
    out = []
    # A complaint whose order was on time by the records is "not_late" (a perception to answer, not a delay).
    for stage, n in sorted(((st or "not_late", n) for st, n in rows), key=lambda r: -r[1]):
        dept = "customer_service" if stage == "not_late" else outcomes.stage_owner(stage)
        if department in (None, dept):
            out.append(s.ComplaintCause(stage=stage, department=dept, complaints=n,
                                        share=round(100.0 * n / total, 2) if total else 0.0))  # fmt: skip
    return out, total


# ---------------------------------------------------------------- emotion map


def get_stage_weights(*, db_session: Session) -> dict[str, float]:
    """The journey stage weights (metrics_settings 'stage_weights', else vocab defaults)."""
    row = db_session.get(MetricsSetting, "stage_weights")
    if row is not None and isinstance(row.value, dict):
        return {k: float(v) for k, v in row.value.items() if k in STAGES}
    return dict(DEFAULT_STAGE_WEIGHTS)


def set_stage_weights(*, db_session: Session, weights: dict[str, float]) -> dict[str, float]:
    """Store the journey stage weights (unknown stages rejected, negatives refused); commits."""
    for stage, weight in weights.items():
        if stage not in STAGES or weight < 0:
            raise ValueError(f"bad stage weight {stage}={weight}")
    row = db_session.get(MetricsSetting, "stage_weights")
    if row is None:
        db_session.add(MetricsSetting(key="stage_weights", value=dict(weights)))
    else:
        row.value = dict(weights)
    db_session.commit()
    return dict(weights)


def emotion_map(*, db_session: Session, month: str | None = None) -> s.EmotionMap:
    """Sentiment per journey stage, the stage-weighted overall score and the peak-end summary."""
    period = _month(db_session, month)
    cond = and_(MetricsDaily.component >= "stg_", MetricsDaily.component < "stg`")
    sums = _sums(db_session, cond=cond, kind="all", key="", start=period.start, end=period.end)
    weights = get_stage_weights(db_session=db_session)
    stages = []
    weighted, weight_total = 0.0, 0.0
    for stage in STAGES:
        n = sums.get(f"stg_n:{stage}", 0.0)
        score = sums.get(f"stg_score:{stage}", 0.0) / n if n else None
        weight = weights.get(stage, 0.0)
        if score is not None and weight:
            weighted += weight * score
            weight_total += weight
        stages.append(s.StageEmotion(
            stage=stage, mentions=int(n), score=None if score is None else round(score, 4), weight=weight,
            negative_share=round(100.0 * sums.get(f"stg_neg:{stage}", 0.0) / n, 2) if n else None,
            positive_share=round(100.0 * sums.get(f"stg_pos:{stage}", 0.0) / n, 2) if n else None,
        ))  # fmt: skip
    c = MetricsCustomerMonth
    neg, pos = NEGATIVE_BELOW, POSITIVE_ABOVE
    row = db_session.execute(
        select(
            func.count(),
            func.sum(func.cast(c.peak_score < neg, _int())), func.sum(func.cast(c.end_score < neg, _int())),
            func.sum(func.cast(c.peak_score > pos, _int())), func.sum(func.cast(c.end_score > pos, _int())),
            func.avg((c.peak_score + c.end_score) / 2.0),
        ).where(c.month == period.start)
    ).one()  # fmt: skip
    customers = int(row[0] or 0)

    def pct(value: Any) -> float | None:
        return round(100.0 * float(value or 0) / customers, 2) if customers else None

    peak_end = s.PeakEnd(
        customers=customers, peak_negative_share=pct(row[1]), end_negative_share=pct(row[2]),
        peak_positive_share=pct(row[3]), end_positive_share=pct(row[4]),
        mean_peak_end_score=None if row[5] is None else round(float(row[5]), 4),
    )  # fmt: skip
    return s.EmotionMap(
        month=period.label, month_to_date=is_month_to_date(period), stages=stages, weights=weights,
        overall_score=round(weighted / weight_total, 4) if weight_total else None, peak_end=peak_end,
    )  # fmt: skip


def _int() -> Any:
    from sqlalchemy import Integer

    return Integer


def customer_journey(*, db_session: Session, customer: str, month: str | None = None) -> s.CustomerJourney:
    """A customer's feedback moments in time order (optionally one month) with peak and end marked."""
    cid = db_session.scalar(select(Customer.id).where(Customer.external_id == customer))
    if cid is None:
        raise KeyError(f"unknown customer {customer!r}")
    item = FeedbackItem
    where: list[Any] = [item.customer_id == cid]
    if month:
        period = Period.month(month)
        where += [item.occurred_at >= period.start_at, item.occurred_at < period.end_at]
    items = db_session.execute(
        select(item.id, item.occurred_at, item.channel, item.touchpoint, item.sentiment, item.sentiment_score,
               item.text).where(*where).order_by(item.occurred_at, item.id)
    ).all()  # fmt: skip
    first_aspect: dict[int, str] = {}
    if items:
        for fid, aspect in db_session.execute(
            select(FeedbackAspect.feedback_id, FeedbackAspect.aspect)
            .where(FeedbackAspect.feedback_id.in_([r[0] for r in items]))
            .order_by(FeedbackAspect.feedback_id, FeedbackAspect.start)
        ):
            first_aspect.setdefault(fid, aspect)
    moments = [
        s.Moment(feedback_id=fid, occurred_at=at, channel=ch,
                 stage=tp or (aspect_info(first_aspect[fid]).stage if fid in first_aspect else None),
                 sentiment=sent, score=score, text=(text or "")[:300])
        for fid, at, ch, tp, sent, score, text in items
    ]  # fmt: skip
    scored = [m for m in moments if m.score is not None]
    peak = max(scored, key=lambda m: abs((m.score or 0.5) - 0.5), default=None)
    end = scored[-1] if scored else None
    pe = None if peak is None or end is None else round(((peak.score or 0) + (end.score or 0)) / 2, 4)
    return s.CustomerJourney(customer=customer, moments=moments, peak=peak, end=end, peak_end_score=pe)


# ---------------------------------------------------------------- scorecards and competitors


def scorecards(
    *, db_session: Session, month: str | None = None, department: str | None = None, lang: str = "zh"
) -> s.Scorecards:
    """Each department's indicators with six-month trend, target, status and an overall score."""
    period = _month(db_session, month)
    months = [period.previous(i) for i in range(TREND_MONTHS - 1, -1, -1)]
    codes = [department] if department else list(DEPARTMENTS)
    # Only indicators a department can fairly be judged by (registry ``scorecard``): not the negative
    # share of a complaint-only aspect, which is ~100 % by construction, but its complaints per 1,000 orders.
    inds = [i for i in registry().values() if i.owner in codes and i.scorecard]
    cond = _many_filter(inds)
    per_month = [_sums(db_session, cond=cond, kind="all", key="", start=p.start, end=p.end) for p in months]
    targets = _target_table(db_session)
    cards = []
    for code in codes:
        names = DEPARTMENTS.get(code, (code, code))
        rows = []
        for ind in (i for i in inds if i.owner == code):
            target, amber, red = _target_for(targets, ind, None)
            trend = []
            for p, sums in zip(months, per_month, strict=True):
                value, n = _value(ind, sums)
                trend.append(s.SeriesPoint(period=p.label, start=p.start, value=value, n=n,
                                           status=indicator_status(ind, value, n, amber=amber, red=red)))  # fmt: skip
            current = trend[-1]
            if ind.group == "complaint_rate" and not any(p.value for p in trend):
                continue  # an aspect nobody complained about for six months is not news for the review
            rows.append(s.ScorecardIndicator(
                code=ind.code, name=ind.name(lang), unit=ind.unit, direction=ind.direction, value=current.value,
                n=current.n, min_n=ind.min_n, target=target, status=current.status,
                previous=trend[-2].value if len(trend) > 1 else None, trend=trend,
            ))  # fmt: skip
        points = [STATUS_POINTS[r.status] for r in rows if r.status in STATUS_POINTS]  # not insufficient/grey
        score = round(sum(points) / len(points), 1) if points else None
        status = "grey" if score is None else ("green" if score >= 80 else "amber" if score >= 50 else "red")
        cards.append(s.Scorecard(department=code, name_zh=names[0], name_en=names[1], score=score,
                                 status=status, indicators=rows))  # fmt: skip
    return s.Scorecards(month=period.label, month_to_date=is_month_to_date(period), departments=cards)


def competitors(*, db_session: Session, month: str | None = None, lang: str = "zh") -> s.Competitors:
    """Own brands (together) against each competitor brand: mentions and negative share per aspect."""
    period = _month(db_session, month)
    comp_brands = db_session.execute(
        select(Brand.external_id, Brand.name).where(Brand.is_own.is_(False)).order_by(Brand.external_id)
    ).all()
    mtd = is_month_to_date(period)
    if not comp_brands:
        return s.Competitors(month=period.label, month_to_date=mtd, brands=[], rows=[])
    m = MetricsDaily
    cond = and_(m.component >= "asp_", m.component < "asp`", m.component.contains(":"))
    own = _sums(db_session, cond=cond, kind="all", key="", start=period.start, end=period.end)
    rows = db_session.execute(
        select(m.scope_key, m.component, func.sum(m.value))
        .where(m.scope_kind == "brand", cond, m.scope_key.in_([b for b, _ in comp_brands]),
               m.day >= period.start, m.day < period.end)
        .group_by(m.scope_key, m.component)
    )  # fmt: skip
    theirs: dict[str, dict[str, float]] = defaultdict(dict)
    for key, comp, value in rows:
        theirs[key][comp] = float(value or 0)
    brands = [b for b, _ in comp_brands if theirs.get(b)]
    if not brands:
        return s.Competitors(month=period.label, month_to_date=mtd, brands=[], rows=[])
    own_label = "自有品牌" if lang != "en" else "Own brands"
    out = []
    for aspect, info in aspects().items():
        cells = []
        for key, label, sums, is_own in [("own", own_label, own, True)] + [
            (b, n, theirs[b], False) for b, n in comp_brands if b in brands
        ]:
            # The same definition as the aspect_neg indicator, minimum sample included: one mention
            # makes no 100 % bar.
            ind = registry().get(f"aspect_neg:{aspect}")
            n = int(sums.get(f"asp_n:{aspect}", 0))
            neg = sums.get(f"asp_neg:{aspect}", 0.0)
            enough = ind is not None and n >= ind.min_n
            cells.append(s.CompetitorCell(brand=key, label=label, own=is_own, mentions=n, enough=enough,
                                          negative_share=round(100.0 * neg / n, 2) if n and enough else None))  # fmt: skip
        if any(c.mentions for c in cells):
            out.append(
                s.CompetitorRow(aspect=aspect, name_zh=info.name_zh, name_en=info.name_en, cells=cells)
            )
    return s.Competitors(month=period.label, month_to_date=mtd, brands=["own", *brands], rows=out)


def days_between(start: date, end: date) -> list[date]:
    """Every day from ``start`` up to, not including, ``end``."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


# --- satisfaction by delivery outcome (delivery section 5): what customers said about each outcome ---

#: Lateness bands in hours after the promise, for "by how late".
LATE_BANDS: tuple[tuple[float, float | None], ...] = ((0, 24), (24, 72), (72, 168), (168, None))
#: Outcomes shown in the satisfaction table (open orders have nothing to be satisfied with yet).
EXPERIENCE_OUTCOMES = ("early", "on_time", "late", "late_open", "failed")


def _band_label(lo: float, hi: float | None) -> str:
    return f"late:{lo:g}-{hi:g}h" if hi is not None else f"late:{lo:g}h+"


def _band_names(lo: float, hi: float | None) -> tuple[str, str]:
    if hi is None:
        return (f"晚到 {lo / 24:g} 天以上", f"more than {lo / 24:g} days late")
    if hi <= 24:
        return ("晚到 1 天内", "up to 1 day late")
    return (f"晚到 {lo / 24:g}–{hi / 24:g} 天", f"{lo / 24:g}–{hi / 24:g} days late")


def delivery_experience(
    *, db_session: Session, start: datetime | None = None, end: datetime | None = None
) -> s.DeliveryExperience:
    """Rating, CSAT and negative share of orders placed in [start, end) by outcome and by how late."""
    session = db_session
    now = outcomes.as_of(session) or datetime.max
    expr = outcomes.outcome_case(session, now).label("outcome")
    late_h = hours_between(session, Order.promised_delivery_at, Order.delivered_at)
    where: list[Any] = []
    if start is not None:
        where.append(Order.placed_at >= start)
    if end is not None:
        where.append(Order.placed_at < end)
    orders = select(Order.id.label("id"), expr, late_h.label("late_h")).where(*where).subquery()
    per_order: dict[int, list[Any]] = {}
    for oid, outcome, hours in session.execute(select(orders.c.id, orders.c.outcome, orders.c.late_h)):
        per_order[oid] = [outcome, hours]
    stats: dict[str, dict[str, float]] = {}

    def slot(key: str) -> dict[str, float]:
        return stats.setdefault(
            key, dict.fromkeys(("orders", "rated", "rating_sum", "csat_n", "csat_pos", "fb_n", "fb_neg"), 0.0)
        )

    def keys_of(oid: Any) -> list[str]:
        outcome, hours = per_order[int(oid)]
        keys = [outcome]
        if outcome == "late" and hours is not None:
            keys += [
                _band_label(lo, hi) for lo, hi in LATE_BANDS if hours > lo and (hi is None or hours <= hi)
            ]
        return keys

    for oid in per_order:
        for key in keys_of(oid):
            slot(key)["orders"] += 1
    fb = FeedbackItem
    for oid, rating, sentiment in session.execute(
        select(fb.order_id, fb.rating, fb.sentiment).join(orders, orders.c.id == fb.order_id)
    ):
        for key in keys_of(oid):
            row = slot(key)
            if rating is not None:
                row["rated"] += 1
                row["rating_sum"] += float(rating)
            if sentiment is not None:
                row["fb_n"] += 1
                row["fb_neg"] += 1 if sentiment == "negative" else 0
    sr = SurveyResponse
    for oid, score in session.execute(
        select(sr.order_id, sr.score)
        .join(orders, orders.c.id == sr.order_id)
        .where(sr.kind == "csat", sr.score.is_not(None))
    ):
        for key in keys_of(oid):
            slot(key)["csat_n"] += 1
            slot(key)["csat_pos"] += 1 if (score or 0) >= 4 else 0

    def summary(key: str, names: tuple[str, str]) -> s.OutcomeSatisfaction:
        v = slot(key)
        return s.OutcomeSatisfaction(
            outcome=key, name_zh=names[0], name_en=names[1], orders=int(v["orders"]), rated=int(v["rated"]),
            rating=round(v["rating_sum"] / v["rated"], 2) if v["rated"] else None,
            csat_n=int(v["csat_n"]), csat=round(100 * v["csat_pos"] / v["csat_n"], 1) if v["csat_n"] else None,
            feedback_n=int(v["fb_n"]), negative_share=round(100 * v["fb_neg"] / v["fb_n"], 1) if v["fb_n"] else None,
        )  # fmt: skip

    return s.DeliveryExperience(
        start=None if start is None else start.isoformat(),
        end=None if end is None else end.isoformat(),
        outcomes=[
            summary(o, (translate(f"delivery_outcome.{o}", "zh"), translate(f"delivery_outcome.{o}", "en")))
            for o in EXPERIENCE_OUTCOMES
        ],
        lateness=[summary(_band_label(lo, hi), _band_names(lo, hi)) for lo, hi in LATE_BANDS],
    )


# --- any indicator over any range (the delivery page and API ask it) ---


def indicator_over_range(
    *, db_session: Session, indicator: str, start: date | None = None, end: date | None = None
) -> s.RangeValue:
    """Any registry indicator over [start, end) days; all periods with data when no range is given."""
    if start is None or end is None:
        first, last = db_session.execute(select(func.min(MetricsDaily.day), func.max(MetricsDaily.day))).one()
        start = start or (as_date(first) if first is not None else clock.today())
        end = end or ((as_date(last) + timedelta(days=1)) if last is not None else start + timedelta(days=1))
    if end <= start:
        raise ValueError("end must be after start")
    value = compute(db_session=db_session, indicator=indicator, period=Period(start, end, "range"))
    return s.RangeValue(indicator=indicator, start=start.isoformat(), end=end.isoformat(), value=value.value,
                      n=value.n, unit=value.unit)  # fmt: skip


def range_indicators(*, department: str | None = None) -> list[tuple[str, str, str]]:
    """(code, name_zh, name_en) of the indicators one may ask a range of: one department's when
    ``department`` is given (as ``auth.policy.department_filter`` narrows members), else all."""
    return [(d.code, d.name_zh, d.name_en) for d in list_indicators(department=department)]
