"""Daily rollups (metrics_daily), late-order causes and customer peak-end moments.

Dashboards read these small tables instead of scanning millions of orders and feedback rows.
``refresh`` must run after data changes: at the end of an import, after ``analyse_pending`` and after
the demo is built (see docs/dev/contracts.md, "Metrics API").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxloop.catalog.models import Brand, Product, Supplier
from cxloop.customers.models import Customer, CustomerEvent
from cxloop.feedback.models import FeedbackAspect, FeedbackItem, SurveyResponse
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.metrics.models import MetricsCustomerMonth, MetricsDaily, MetricsLateOrder
from cxloop.metrics.registry import FEEDBACK_SCOPES, ORDER_SCOPES
from cxloop.orders import outcomes
from cxloop.orders.models import Order, OrderLine
from cxloop.periods import Period
from cxloop.sql import as_date, day_of, hours_between
from cxloop.taxonomy import aspect_info, aspects
from cxloop.vocab import ORDER_STAGES

log = logging.getLogger(__name__)

#: Channels whose items are customer-service contacts (response and resolution times).
CS_CHANNELS = ("chat", "ticket", "call")
#: Page-load histogram: 50 ms buckets up to 10 s, then one overflow bucket.
LOAD_BUCKET_MS = 50
LOAD_BUCKETS = 200
#: "Surprise": delivered at least this share of the promised lead time early.
SURPRISE_SHARE = 0.2
#: Months of history that define a stage's normal time for the root-cause rule.
NORMAL_MONTHS = 3
#: Stage timestamps on the orders table, in timeline order.
_STAGE_COLUMNS = outcomes.EVENT_COLUMNS

Counts = dict[tuple[date, str, str, str], float]  # (day, scope_kind, scope_key, component) -> value


@dataclass
class RefreshResult:
    """What one refresh rebuilt."""

    since: date | None
    rows: int
    late_orders: int
    customer_months: int


def _sum_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((cond, 1), else_=0))


def _sum_value(cond: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
    return func.sum(case((cond, value), else_=0.0))


def _competitor_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Brand.id).where(Brand.is_own.is_(False))))


def _own(column: Any, competitors: list[int]) -> ColumnElement[bool]:
    # Feedback without a brand is about the shop itself, so it counts as own.
    if not competitors:
        return true()
    return or_(column.is_(None), column.not_in(competitors))


def _add(counts: Counts, rows: Iterable[Any], kind: str, names: list[str]) -> None:
    for row in rows:
        day, key = as_date(row[0]), row[1]
        if key is None or key == "":
            if kind != "all":
                continue
            key = ""
        for name, value in zip(names, row[2:], strict=True):
            if value:
                slot = (day, kind, str(key), name)
                counts[slot] = counts.get(slot, 0.0) + float(value)


def _order_scope(kind: str, stmt: Any) -> tuple[Any, Any]:
    """Join what the scope ``kind`` needs onto an orders query; return (statement, key column)."""
    if kind == "all":
        return stmt, None
    if kind == "warehouse":
        return stmt.join(Warehouse, Warehouse.id == Order.warehouse_id), Warehouse.external_id
    if kind == "carrier":
        return stmt.join(Carrier, Carrier.id == Order.carrier_id), Carrier.external_id
    if kind in ("region", "channel"):
        return stmt, Order.region if kind == "region" else Order.sales_channel
    if kind == "brand":
        return stmt.join(Brand, Brand.id == Order.brand_id), Brand.external_id
    if kind == "tier":
        return stmt.join(Customer, Customer.id == Order.customer_id), Customer.tier
    raise ValueError(kind)


def _run(session: Session, day: Any, key: Any, stmt_from: Any, cols: list[Any], where: list[Any]) -> Any:
    key_expr = key if key is not None else literal("")
    stmt = stmt_from.add_columns(day, key_expr, *cols).where(*where).group_by(day, key_expr)
    return session.execute(stmt)


def _orders(session: Session, counts: Counts, since: datetime | None, kinds: Iterable[str]) -> None:
    h = lambda a, b: hours_between(session, a, b)  # noqa: E731
    promised, delivered = Order.promised_delivery_at, Order.delivered_at
    outcome = or_(delivered.is_not(None), Order.delivery_failed_at.is_not(None), Order.lost.is_(True))
    shipped = Order.shipped_at.is_not(None)
    on_promise = and_(promised.is_not(None), delivered.is_not(None))
    comps: dict[str, ColumnElement[Any]] = {
        "orders": func.count(),
        "shipped": _sum_if(shipped),
        "outcome_n": _sum_if(and_(shipped, outcome)),
        "delivered_ok": _sum_if(and_(shipped, delivered.is_not(None))),
        "damaged": _sum_if(Order.damaged.is_(True)),
        "lost": _sum_if(Order.lost.is_(True)),
        "spilled": _sum_if(Order.spilled.is_(True)),
        "refund_sum": _sum_value(
            and_(Order.refund_requested_at.is_not(None), Order.refunded_at.is_not(None)),
            h(Order.refund_requested_at, Order.refunded_at),
        ),
        "refund_n": _sum_if(and_(Order.refund_requested_at.is_not(None), Order.refunded_at.is_not(None))),
        "sat_sum": _sum_value(on_promise, h(delivered, promised)),
        "sat_n": _sum_if(on_promise),
        "early_n": _sum_if(
            and_(on_promise, h(delivered, promised) >= SURPRISE_SHARE * h(Order.placed_at, promised))
        ),
    }
    for stage, (start, end) in ORDER_STAGES.items():
        a, b = _STAGE_COLUMNS[start], _STAGE_COLUMNS[end]
        ok = and_(a.is_not(None), b.is_not(None), b >= a)
        comps[f"dur_sum:{stage}"] = _sum_value(ok, h(a, b))
        comps[f"dur_n:{stage}"] = _sum_if(ok)
    names = list(comps)
    day = day_of(session, Order.placed_at)
    # Cancelled (by time or by status) orders are outside every delivery indicator.
    where: list[Any] = [~outcomes.cancelled_condition()]
    since_where: list[Any] = [] if since is None else [Order.placed_at >= since]
    where += since_where
    # Outcomes (on time, late, still open ...) come from the one definition in cxloop.orders.outcomes.
    now = outcomes.as_of(session) or datetime.max
    components = outcomes.outcome_components(session, now)
    for kind in kinds:
        stmt, key = _order_scope(kind, select().select_from(Order))
        _add(counts, _run(session, day, key, stmt, list(comps.values()), where), kind, names)
        _add(
            counts,
            _run(session, day, key, stmt, list(components.values()), since_where),
            kind,
            list(components),
        )
    # Demand-weighted stock-out from order lines, also per product and supplier.
    line_cols = [func.sum(OrderLine.quantity), func.sum(OrderLine.stockout_qty)]
    for kind in (*kinds, "product", "supplier"):
        base = select().select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        if kind == "product":
            stmt, key = base.join(Product, Product.id == OrderLine.product_id), Product.external_id
        elif kind == "supplier":
            stmt = base.join(Product, Product.id == OrderLine.product_id).join(
                Supplier, Supplier.id == Product.supplier_id
            )
            key = Supplier.external_id
        else:
            stmt, key = _order_scope(kind, base)
        _add(counts, _run(session, day, key, stmt, line_cols, where), kind, ["qty", "stockout"])


def _feedback_scope(kind: str, stmt: Any, item: Any = FeedbackItem) -> tuple[Any, Any]:
    """Join what the scope ``kind`` needs onto a feedback query; return (statement, key column)."""
    if kind == "all":
        return stmt, None
    if kind == "channel":
        return stmt, item.channel
    if kind == "shift":
        return stmt, FeedbackItem.shift
    if kind == "brand":
        return stmt.join(Brand, Brand.id == item.brand_id), Brand.external_id
    if kind == "product":
        return stmt.join(Product, Product.id == FeedbackItem.product_id), Product.external_id
    if kind == "supplier":
        stmt = stmt.join(Product, Product.id == FeedbackItem.product_id)
        return stmt.join(Supplier, Supplier.id == Product.supplier_id), Supplier.external_id
    if kind in ("region", "tier"):
        stmt = stmt.join(Customer, Customer.id == FeedbackItem.customer_id)
        return stmt, Customer.region if kind == "region" else Customer.tier
    if kind in ("warehouse", "carrier"):
        # The order's warehouse and carrier, keyed as the order rollups key them.
        return _order_scope(kind, stmt.join(Order, Order.id == FeedbackItem.order_id))
    raise ValueError(kind)


#: Every cut of the feedback rollups: the whole shop, then each scope of the registry's feedback set.
FEEDBACK_KINDS = ("all", *FEEDBACK_SCOPES)


def _feedback(session: Session, counts: Counts, since: datetime | None, competitors: list[int]) -> None:
    h = lambda a, b: hours_between(session, a, b)  # noqa: E731
    item = FeedbackItem
    cs = and_(item.channel.in_(CS_CHANNELS))
    frt = and_(cs, item.first_response_at.is_not(None), item.first_response_at >= item.occurred_at)
    res = and_(cs, item.resolved_at.is_not(None), item.resolved_at >= item.occurred_at)
    comps: dict[str, ColumnElement[Any]] = {
        "fb_items": func.count(),
        "fb_n": _sum_if(item.sentiment.is_not(None)),
        "fb_neg": _sum_if(item.sentiment == "negative"),
        "fb_pos": _sum_if(item.sentiment == "positive"),
        "rating_sum": _sum_value(item.rating.is_not(None), item.rating),
        "rating_n": _sum_if(item.rating.is_not(None)),
        "frt_sum": _sum_value(frt, h(item.occurred_at, item.first_response_at) * 60.0),
        "frt_n": _sum_if(frt),
        "res_sum": _sum_value(res, h(item.occurred_at, item.resolved_at)),
        "res_n": _sum_if(res),
    }
    names = list(comps)
    day = day_of(session, item.occurred_at)
    for kind in FEEDBACK_KINDS:
        where: list[Any] = [] if since is None else [item.occurred_at >= since]
        if kind != "brand":
            where.append(_own(item.brand_id, competitors))
        stmt, key = _feedback_scope(kind, select().select_from(item))
        _add(counts, _run(session, day, key, stmt, list(comps.values()), where), kind, names)


def _aspect_pairs(since: datetime | None) -> Any:
    """One row per (feedback item, aspect): an item that names an aspect three times is one complaint.

    ``neg`` is 1 when any mention of the aspect in the item is negative; ``pos`` when one is positive
    and none negative; ``score`` is the mean score of its mentions.
    """
    asp = FeedbackAspect
    neg = func.max(case((asp.sentiment == "negative", 1), else_=0))
    pos = func.max(case((asp.sentiment == "positive", 1), else_=0))
    stmt = select(
        asp.feedback_id.label("feedback_id"),
        asp.aspect.label("aspect"),
        asp.occurred_at.label("occurred_at"),
        asp.brand_id.label("brand_id"),
        asp.channel.label("channel"),
        neg.label("neg"),
        (pos * (1 - neg)).label("pos"),
        func.avg(asp.score).label("score"),
    )
    if since is not None:
        stmt = stmt.where(asp.occurred_at >= since)
    return stmt.group_by(asp.feedback_id, asp.aspect, asp.occurred_at, asp.brand_id, asp.channel).subquery()


def _aspects(session: Session, counts: Counts, since: datetime | None, competitors: list[int]) -> None:
    pairs = _aspect_pairs(since)
    day = day_of(session, pairs.c.occurred_at)
    for kind in FEEDBACK_KINDS:
        where: list[Any] = []
        if kind != "brand":
            where.append(_own(pairs.c.brand_id, competitors))
        base = select().select_from(pairs)
        if kind in ("all", "channel", "brand"):
            stmt, key = _feedback_scope(kind, base, item=pairs.c)
        else:
            stmt, key = _feedback_scope(kind, base.join(FeedbackItem, FeedbackItem.id == pairs.c.feedback_id))
        key_expr = key if key is not None else literal("")
        query = (
            stmt.add_columns(
                day,
                key_expr,
                pairs.c.aspect,
                func.count(),
                func.sum(pairs.c.neg),
                func.sum(pairs.c.pos),
                func.sum(pairs.c.score),
            )
            .where(*where)
            .group_by(day, key_expr, pairs.c.aspect)
        )
        per_aspect = kind != "product"  # products x aspects x days would dwarf everything else
        for d, k, aspect, n, n_neg, n_pos, score in session.execute(query):
            if k is None or (k == "" and kind != "all"):
                continue
            dd = as_date(d)
            info = aspect_info(aspect)
            parts = {"asp_n": n, "asp_neg": n_neg}
            if per_aspect:
                parts |= {f"asp_n:{aspect}": n, f"asp_neg:{aspect}": n_neg}
            if kind in ("all", "brand"):
                parts |= {
                    f"stg_n:{info.stage}": n,
                    f"stg_neg:{info.stage}": n_neg,
                    f"stg_pos:{info.stage}": n_pos,
                    f"stg_score:{info.stage}": score or 0.0,
                }
            for name, value in parts.items():
                if value:
                    slot = (dd, kind, str(k), name)
                    counts[slot] = counts.get(slot, 0.0) + float(value)
            if kind == "all":
                # The department scope counts the mentions of the aspects that department owns.
                for name in ("asp_n", "asp_neg"):
                    value = parts[name]
                    if value:
                        slot = (dd, "department", info.department, name)
                        counts[slot] = counts.get(slot, 0.0) + float(value)
    _complaint_items(session, counts, pairs, competitors)
    _touchpoints(session, counts, since, competitors)


def _complaint_items(session: Session, counts: Counts, pairs: Any, competitors: list[int]) -> None:
    """``cmp_items``: distinct feedback items with at least one negative aspect (the Pareto's total)."""
    departments = {a.id: a.department for a in aspects().values()}
    dept = case(departments, value=pairs.c.aspect, else_="customer_service") if departments else literal("")
    day = day_of(session, pairs.c.occurred_at)
    distinct = func.count(func.distinct(pairs.c.feedback_id))
    own = _own(pairs.c.brand_id, competitors)
    queries = (
        ("all", select(day, literal(""), distinct).where(pairs.c.neg == 1, own).group_by(day)),
        ("department", select(day, dept, distinct).where(pairs.c.neg == 1, own).group_by(day, dept)),
        (
            "brand",
            select(day, Brand.external_id, distinct)
            .join(Brand, Brand.id == pairs.c.brand_id)
            .where(pairs.c.neg == 1)
            .group_by(day, Brand.external_id),
        ),
    )
    for kind, query in queries:
        _add(counts, session.execute(query), kind, ["cmp_items"])


def _touchpoints(session: Session, counts: Counts, since: datetime | None, competitors: list[int]) -> None:
    """Items with a touchpoint but no aspect still say how that stage felt."""
    asp = FeedbackAspect
    item = FeedbackItem
    no_aspect = ~select(asp.id).where(asp.feedback_id == item.id).exists()
    where = [item.touchpoint.is_not(None), item.sentiment.is_not(None), no_aspect]
    where.append(_own(item.brand_id, competitors))
    if since is not None:
        where.append(item.occurred_at >= since)
    iday = day_of(session, item.occurred_at)
    query = (
        select(
            iday,
            item.touchpoint,
            func.count(),
            _sum_if(item.sentiment == "negative"),
            _sum_if(item.sentiment == "positive"),
            func.sum(func.coalesce(item.sentiment_score, 0.5)),
        )
        .where(*where)
        .group_by(iday, item.touchpoint)
    )
    for d, stage, n, n_neg, n_pos, score in session.execute(query):
        for name, value in (("n", n), ("neg", n_neg), ("pos", n_pos), ("score", score)):
            if value:
                slot = (as_date(d), "all", "", f"stg_{name}:{stage}")
                counts[slot] = counts.get(slot, 0.0) + float(value)


def _surveys(session: Session, counts: Counts, since: datetime | None, competitors: list[int]) -> None:
    s = SurveyResponse
    scored = s.score.is_not(None)
    comps = [
        _sum_if(and_(s.kind == "csat", scored)),
        _sum_if(and_(s.kind == "csat", s.score >= 4)),
        _sum_if(and_(s.kind == "nps", scored)),
        _sum_if(and_(s.kind == "nps", s.score >= 9)),
        _sum_if(and_(s.kind == "nps", s.score <= 6)),
        _sum_value(and_(s.kind == "ces", scored), s.score),
        _sum_if(and_(s.kind == "ces", scored)),
    ]
    names = ["csat_n", "csat_pos", "nps_n", "nps_pro", "nps_det", "ces_sum", "ces_n"]
    day = day_of(session, s.responded_at)
    for kind in ("all", "brand", "region", "tier"):
        where: list[Any] = [] if since is None else [s.responded_at >= since]
        stmt: Any = select().select_from(s)
        key: Any = None
        if kind == "brand":
            stmt, key = stmt.join(Brand, Brand.id == s.brand_id), Brand.external_id
        else:
            where.append(_own(s.brand_id, competitors))
            if kind in ("region", "tier"):
                stmt = stmt.join(Customer, Customer.id == s.customer_id)
                key = Customer.region if kind == "region" else Customer.tier
        _add(counts, _run(session, day, key, stmt, comps, where), kind, names)


def _page_loads(session: Session, counts: Counts, since: datetime | None) -> None:
    e = CustomerEvent
    bucket = case(
        (e.load_ms >= LOAD_BUCKET_MS * LOAD_BUCKETS, LOAD_BUCKETS), else_=e.load_ms / LOAD_BUCKET_MS
    )
    day = day_of(session, e.occurred_at)
    where: list[Any] = [e.load_ms.is_not(None), e.load_ms >= 0]
    if since is not None:
        where.append(e.occurred_at >= since)
    query = select(day, bucket, func.count()).where(*where).group_by(day, bucket)
    for d, b, n in session.execute(query):
        slot = (as_date(d), "all", "", f"load_b:{int(b):03d}")
        counts[slot] = counts.get(slot, 0.0) + float(n)


def _months(first: date, last: date) -> Iterator[Period]:
    period = Period.month(first)
    while period.start <= last:
        yield period
        period = Period.month(period.end)


def _late_orders(session: Session, month: Period, as_of: datetime) -> list[dict[str, Any]]:
    """Each late order of ``month`` (by placed day) with the stretch furthest over its normal time.

    Late is the delivery outcome ``late`` or ``late_open`` (cxloop.orders.outcomes); the blame works on
    the stages the order actually has (see ``outcomes.blame``).
    """
    history = Period(month.previous(NORMAL_MONTHS).start, month.start, "month")
    normals = [
        outcomes.pair_normals(session, history.start_at, history.end_at),
        outcomes.pair_normals(session, month.start_at, month.end_at),
    ]
    wh_keys = dict(session.execute(select(Warehouse.id, Warehouse.external_id)).all())
    cr_keys = dict(session.execute(select(Carrier.id, Carrier.external_id)).all())
    o = Order
    rows = session.execute(
        select(
            o.id, o.warehouse_id, o.carrier_id, o.promised_delivery_at, *outcomes.EVENT_COLUMNS.values()
        ).where(
            o.placed_at >= month.start_at,
            o.placed_at < month.end_at,
            outcomes.outcome_case(session, as_of).in_(outcomes.LATE_OUTCOMES),
        )
    )
    out = []
    for oid, wh, cr, prom, *stamps in rows:
        times: dict[str, datetime | None] = dict(zip(outcomes.EVENT_CHAIN, stamps, strict=True))
        delivered = times["delivered"]
        # Still out after its promise: measured up to the time the data speaks for.
        stop: datetime = delivered or as_of
        assert prom is not None  # late outcomes always have a promise
        found = outcomes.blame(
            times,
            stop=stop,
            normals=normals,
            warehouse=None if wh is None else wh_keys.get(wh),
            carrier=None if cr is None else cr_keys.get(cr),
        )
        placed = stamps[0]
        out.append(
            {
                "order_id": oid,
                "day": placed.date(),
                "warehouse_id": wh,
                "carrier_id": cr,
                "stage": found.stage,
                "excess_hours": round(found.excess_hours or 0.0, 3),
                "late_hours": round((stop - prom).total_seconds() / 3600.0, 3),
            }
        )
    return out


def _customer_months(session: Session, month: Period, competitors: list[int]) -> list[dict[str, Any]]:
    """Peak (most intense) and end (last) moment of each customer with analysed feedback in ``month``."""
    item = FeedbackItem
    rows = session.execute(
        select(item.customer_id, item.occurred_at, item.id, item.sentiment_score)
        .where(
            item.occurred_at >= month.start_at,
            item.occurred_at < month.end_at,
            item.customer_id.is_not(None),
            item.sentiment_score.is_not(None),
            _own(item.brand_id, competitors),
        )
        .order_by(item.customer_id, item.occurred_at, item.id)
    )
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for cid, at, fid, score in rows:
        score = float(score or 0.5)
        if current is None or current["customer_id"] != cid:
            current = {
                "month": month.start,
                "customer_id": cid,
                "moments": 0,
                "peak_score": score,
                "peak_at": at,
                "peak_feedback_id": fid,
            }
            out.append(current)
        current["moments"] += 1
        if abs(score - 0.5) > abs(current["peak_score"] - 0.5):
            current |= {"peak_score": score, "peak_at": at, "peak_feedback_id": fid}
        current |= {"end_score": score, "end_at": at, "end_feedback_id": fid}
    return out


def _chunks(rows: list[dict[str, Any]], size: int = 20_000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _replace_months(
    session: Session,
    column: Any,
    start_day: date | None,
    source_time: Any,
    rows_of: Callable[[Period, datetime], list[dict[str, Any]]],
) -> int:
    """Rebuild the table of the month or day ``column`` from ``start_day`` on (all when None), a month
    per short transaction.

    Each month of the source data (``source_time``) from ``start_day`` on is replaced by
    ``rows_of(month, last source time)`` and committed, oldest first, so a reader sees a month either as
    it was or rebuilt, and a concurrent writer waits for one month only. Rows outside those months (whose
    source is gone) are deleted first. Returns the number of rows written.
    """
    table = column.class_
    stale = delete(table) if start_day is None else delete(table).where(column >= start_day)
    first_at, last_at = session.execute(select(func.min(source_time), func.max(source_time))).one()
    first = (
        None if first_at is None else max(as_date(first_at), start_day) if start_day else as_date(first_at)
    )
    months = [] if first is None or last_at is None else list(_months(first, as_date(last_at)))
    if not months:  # no source data (from start_day on, e.g. a refresh after today's answer): nothing to keep
        session.execute(stale)
        session.commit()
        return 0
    session.execute(stale.where(or_(column < months[0].start, column >= months[-1].end)))
    session.commit()
    written = 0
    for month in months:
        found = rows_of(month, last_at)
        session.execute(delete(table).where(column >= month.start, column < month.end))
        for chunk in _chunks(found):
            session.execute(insert(table), chunk)
        session.commit()
        written += len(found)
    return written


def refresh(*, db_session: Session, since: date | datetime | None = None) -> RefreshResult:
    """Rebuild the rollups from the first day of ``since``'s month (everything when None); commits.

    Everything is counted before anything is written, and the writes are short transactions (the daily
    rows, then each month's late orders and peak-end moments): on SQLite a concurrent writer waits for
    one of them instead of failing behind a rebuild-long lock. The result is the same as one transaction.
    """
    session = db_session
    start_day = None if since is None else Period.month(as_date(since)).start
    start_at = None if start_day is None else datetime.combine(start_day, datetime.min.time())
    competitors = _competitor_ids(session)
    counts: Counts = {}
    _orders(session, counts, start_at, ("all", *ORDER_SCOPES))
    _feedback(session, counts, start_at, competitors)
    _aspects(session, counts, start_at, competitors)
    _surveys(session, counts, start_at, competitors)
    _page_loads(session, counts, start_at)
    rows = [
        {"day": d, "scope_kind": k, "scope_key": key, "component": c, "value": v}
        for (d, k, key, c), v in counts.items()
    ]
    daily = MetricsDaily.day
    session.execute(
        delete(MetricsDaily) if start_day is None else delete(MetricsDaily).where(daily >= start_day)
    )
    for chunk in _chunks(rows):
        session.execute(insert(MetricsDaily), chunk)
    session.commit()
    # Late orders and peak-end moments are per month, oldest first, so normals see fresh history.
    late, moments = (
        _replace_months(session, column, start_day, source_time, rows_of)
        for column, source_time, rows_of in (
            (MetricsLateOrder.day, Order.placed_at, lambda month, last: _late_orders(session, month, last)),
            (
                MetricsCustomerMonth.month,
                FeedbackItem.occurred_at,
                lambda month, _last: _customer_months(session, month, competitors),
            ),
        )
    )
    log.info("metrics refresh since %s: %d rollup rows, %d late orders", start_day, len(rows), late)
    return RefreshResult(since=start_day, rows=len(rows), late_orders=late, customer_months=moments)
