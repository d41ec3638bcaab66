"""Delivery truth and decisions: the one definition of a delivery outcome, root cause on partial
timelines, satisfaction by outcome, promises the shop can beat, carrier choice and early warning.

Every report and page that shows a late or on-time rate reads :func:`outcome_case` (through the
rollup components it feeds, see ``cxloop.metrics.rollup``) and :func:`late_rate`, so the numbers
cannot disagree between doors.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError
from sqlalchemy import DateTime, String, delete, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.delivery import warning
from cxloop.delivery.schemas import (
    CarrierChoice,
    CarrierImportResult,
    CarrierRecommendation,
    CarrierScore,
    CarrierTermsIn,
    DurationStats,
    OrderRisk,
    PromisePoint,
    PromiseReport,
    PromiseRoute,
    RiskGroup,
    TrainResult,
)
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.orders.models import Order
from cxloop.orders.outcomes import (
    CAUSE_STAGES,
    DUE_OUTCOMES,
    EVENT_CHAIN,
    EVENT_COLUMNS,
    ON_TIME_OUTCOMES,
    Segment,
    as_of,
    cancelled_condition,
    outcome_case,
    pair_normals,
    segments,
    stage_owner,
    stage_parts,
)
from cxloop.org.models import Department
from cxloop.sql import hours_between
from cxloop.vocab import ORDER_STAGES

# ---------------------------------------------------------------- early warning (section 8)


def warning_threshold() -> float:
    """The late risk from which an open order is "at risk" and its customer is told (setting)."""
    return get_settings().delivery_warning_threshold


def _timelines(
    session: Session, where: Sequence[Any], *, now: datetime | None = None
) -> list[warning.Timeline]:
    o = Order
    label = None if now is None else outcome_case(session, now)
    cols: list[Any] = [o.id, o.promised_delivery_at, o.warehouse_id, o.carrier_id, o.region, o.weight_kg]
    cols += list(EVENT_COLUMNS.values())
    if label is not None:
        cols.append(label)
    out: list[warning.Timeline] = []
    for row in session.execute(select(*cols).where(o.promised_delivery_at.is_not(None), *where)):
        oid, promised, wh, cr, region, weight = row[:6]
        times = dict(zip(EVENT_CHAIN, row[6:12], strict=True))
        missed = None if label is None else row[12] not in ON_TIME_OUTCOMES
        out.append(warning.Timeline(oid, times, promised, wh, cr, region, weight, missed))
    return out


def _history_where(session: Session, now: datetime, start: datetime | None, end: datetime) -> list[Any]:
    """Finished orders whose promise fell in [start, end): their outcome is known by ``end``."""
    expr = outcome_case(session, now)
    where: list[Any] = [expr.in_(DUE_OUTCOMES), Order.promised_delivery_at < end]
    if start is not None:
        where.append(Order.promised_delivery_at >= start)
    return where


def _blame_counts(session: Session, end: datetime) -> dict[str, dict[str, int]]:
    from cxloop.metrics.models import MetricsLateOrder

    lo = MetricsLateOrder
    rows = session.execute(select(lo.stage, lo.warehouse_id, lo.carrier_id).where(lo.day < end.date()))
    return warning.blame_table([(st, wh, cr) for st, wh, cr in rows])


def train_warning(*, db_session: Session, holdout_days: int = 30, path: Path | None = None) -> TrainResult:
    """Train and calibrate the early warning on the shop's history; store it in the data folder.

    The last ``holdout_days`` of promises are held out first to measure AUC, calibration, precision at
    the threshold and hours of warning (a time split); then the model is refitted on all history.
    ``holdout_days=0`` skips the measurement (one fit instead of two).
    """
    now = as_of(db_session)
    if now is None:
        raise ValueError("no orders to learn from")
    cutoff = now - timedelta(days=holdout_days)
    evaluation: dict[str, Any] = {}
    train = _timelines(db_session, _history_where(db_session, now, None, cutoff), now=now)
    test = _timelines(db_session, _history_where(db_session, now, cutoff, now), now=now)
    # The held-out moments must come after the training promises, so test orders are placed after it.
    test = [
        tl
        for tl in test
        if tl.times["placed"] is not None and tl.times["placed"] >= cutoff - timedelta(days=0)
    ]
    normal_pairs = {
        (a, b): h
        for (a, b, kind, _), h in pair_normals(db_session, datetime.min, now).items()
        if kind == "all"
    }
    if holdout_days > 0 and train and test:
        model = warning.fit(train, blame_counts=_blame_counts(db_session, cutoff), normals=normal_pairs)
        evaluation = warning.evaluate(model, test, threshold=warning_threshold())
        evaluation["split"] = {"train_promises_before": cutoff.isoformat(), "test_orders": len(test)}
    everything = _timelines(db_session, _history_where(db_session, now, None, now), now=now)
    model = warning.fit(everything, blame_counts=_blame_counts(db_session, now), normals=normal_pairs)
    model.evaluation = evaluation
    stored = warning.save(model, path)
    return TrainResult(path=str(stored), orders=model.orders, snapshots=model.snapshots,
                       trained_at=model.trained_at, evaluation=evaluation)  # fmt: skip


def train_demo_warning(*, db_session: Session) -> TrainResult:
    """The demo's post-load step: train the early warning on the demo store, so the at-risk list and
    the journeys' delay notices work right after ``cxloop demo``.

    Without the held-out measurement, which would fit everything twice (``cxloop delivery
    train-warning`` measures it).
    """
    return train_warning(db_session=db_session, holdout_days=0)


class _StageGuess:
    """Names the stage most likely to make an open order late, once per route and position.

    The stage it is stuck in when it has already been there longer than normal; otherwise the
    stage its carrier's and warehouse's late orders were most often put down to, among those ahead.
    """

    def __init__(self, model: warning.WarningModel) -> None:
        self.model = model
        self.recorded = {e for pair in model.normals for e in pair} or set(EVENT_CHAIN)
        self.segments: dict[int, Segment | None] = {}

    def current(self, last: int) -> Segment | None:
        """The stretch an order whose last event is EVENT_CHAIN[last] is in now (hours not filled)."""
        if last not in self.segments:
            t0 = datetime(2000, 1, 1)
            found = segments({EVENT_CHAIN[last]: t0}, stop=t0, recorded=self.recorded)
            self.segments[last] = found[-1] if last < len(EVENT_CHAIN) - 1 and found else None
        return self.segments[last]

    def _guess(self, carrier: Any, warehouse: Any, last: int, stuck: bool, seg: Segment | None) -> str:
        if stuck and seg is not None:
            return seg.key
        remaining = set(CAUSE_STAGES[last:])
        votes: dict[str, int] = {}
        for route in (f"carrier:{carrier}", f"warehouse:{warehouse}"):
            for stage, n in self.model.blame_counts.get(route, {}).items():
                if set(stage_parts(stage)) <= remaining:
                    votes[stage] = votes.get(stage, 0) + n
        if votes:
            return max(sorted(votes), key=lambda k: votes[k])
        return seg.key if seg is not None else "carrier"

    def vector(
        self, carrier: np.ndarray, warehouse: np.ndarray, last: np.ndarray, hours_in_stage: np.ndarray
    ) -> tuple[np.ndarray, list[str]]:
        """The stage key of many orders: an index per order into the returned list of keys.

        One guess per distinct (carrier, warehouse, position, stuck): a shop has a few hundred of them
        however many orders are open.
        """
        if len(last) == 0:
            return np.zeros(0, dtype=np.int64), []
        normal = np.full(len(EVENT_CHAIN), np.nan)
        for i in range(len(EVENT_CHAIN)):
            seg = self.current(i)
            if seg is not None and (seg.start, seg.end) in self.model.normals:
                normal[i] = self.model.normals[(seg.start, seg.end)]
        with np.errstate(invalid="ignore"):
            stuck = (hours_in_stage > normal[last]).astype(np.int64)
        carriers, c_idx = np.unique(carrier, return_inverse=True)
        houses, w_idx = np.unique(warehouse, return_inverse=True)
        key = ((c_idx.reshape(-1) * len(houses) + w_idx.reshape(-1)) * len(EVENT_CHAIN) + last) * 2 + stuck
        keys, inverse = np.unique(key, return_inverse=True)
        names: list[str] = []
        for k in keys.tolist():
            k, is_stuck = divmod(k, 2)
            k, position = divmod(k, len(EVENT_CHAIN))
            ci, wi = divmod(k, len(houses))
            names.append(self._guess(_id(carriers[ci]), _id(houses[wi]), position, bool(is_stuck),
                                     self.current(position)))  # fmt: skip
        stages = sorted(set(names))
        per_key = np.asarray([stages.index(n) for n in names], dtype=np.int64)
        return per_key[inverse.reshape(-1)], stages


def _id(value: float) -> int | None:
    """A route id read as a float column back as the int (None for NaN) the blame table is keyed by."""
    return None if np.isnan(value) else int(value)


#: Open orders fetched per round trip: bounds the Python objects alive at once during the read.
READ_BATCH = 100_000


def _open_orders(
    session: Session, where: Sequence[Any], now: datetime
) -> tuple[warning.OpenOrders, np.ndarray]:
    """Open orders as columns in one streamed query, and each one's promise exactly as stored.

    Times come from SQL as hours since ``now`` (numbers, not datetimes: building a datetime per value
    was most of the cost); the stored promise is kept as read and parsed only for the orders reported.
    """
    o = Order
    origin = literal(now, DateTime)
    hours = [hours_between(session, origin, col) for col in (o.promised_delivery_at,
             *(EVENT_COLUMNS[e] for e in warning.OPEN_EVENTS))]  # fmt: skip
    cols: list[Any] = [o.id, hours[0], o.warehouse_id, o.carrier_id, o.region, o.weight_kg, *hours[1:],
                       type_coerce(o.promised_delivery_at, String)]  # fmt: skip
    stmt = select(*cols).where(o.promised_delivery_at.is_not(None), *where)
    objects = {4, len(cols) - 1}  # region, stored promise
    parts: list[list[np.ndarray]] = []
    # Core execution on the session's connection: the ORM's row loading costs a Python call per row.
    result = session.connection().execute(stmt.execution_options(yield_per=READ_BATCH))
    for chunk in result.partitions():
        columns = list(zip(*chunk, strict=True))
        parts.append(
            [np.asarray(c, dtype=object if i in objects else np.float64) for i, c in enumerate(columns)]
        )
    if not parts:
        parts = [[np.zeros(0, dtype=object if i in objects else np.float64) for i in range(len(cols))]]
    merged = [np.concatenate([p[i] for p in parts]) for i in range(len(cols))]
    return warning.open_orders_from_columns(now, merged[:-1]), merged[-1]


def _stored_datetime(value: Any) -> datetime:
    """A timestamp as the driver returned it untyped: a datetime (PostgreSQL) or ISO text (SQLite)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass
class RiskScores:
    """The early warning for many open orders, as columns; OrderRisk rows are built only when asked."""

    now: datetime
    order_id: np.ndarray
    probability: np.ndarray
    promised_hours: np.ndarray  # hours from now to the promise (for sorting)
    stage: np.ndarray  # index into ``stages``
    stages: list[str]
    departments: list[int | None]  # owning department per ``stages`` entry
    model: warning.WarningModel
    features: np.ndarray  # kept to predict the expected arrival of the rows reported
    promised_at: np.ndarray | None = None  # the stored promise per order (exact), when read from the store

    def __len__(self) -> int:
        return len(self.order_id)

    def select(self, *, min_probability: float = 0.0, owners: Collection[int] | None = None) -> np.ndarray:
        """Row indexes at or above ``min_probability`` (and owned by one of ``owners``, department ids,
        when given), highest risk first, then the earliest promise."""
        keep = self.probability >= min_probability
        if owners is not None:
            owned = np.asarray([d in owners for d in self.departments], dtype=bool)
            keep &= owned[self.stage] if len(self.stages) else False
        idx = np.flatnonzero(keep)
        return idx[np.lexsort((self.promised_hours[idx], -self.probability[idx]))]

    def records(self, idx: np.ndarray) -> list[OrderRisk]:
        """OrderRisk rows for the given row indexes, in that order."""
        out: list[OrderRisk] = []
        hour = timedelta(hours=1)
        # One batch for every row reported: the arrival model is not run for the orders left out.
        expected = dict(
            zip(idx.tolist(), warning.predict_hours(self.model, self.features[idx]).tolist(), strict=True)
        )
        for i in idx.tolist():
            promised = (
                _stored_datetime(self.promised_at[i])
                if self.promised_at is not None
                else self.now + float(self.promised_hours[i]) * hour
            )
            out.append(OrderRisk(
                order_id=int(self.order_id[i]), probability=float(self.probability[i]), promised_at=promised,
                expected_arrival=self.now + expected[i] * hour,
                late_stage=self.stages[self.stage[i]], department_id=self.departments[self.stage[i]],
            ))  # fmt: skip
        return out


#: Wall and CPU seconds per phase of a scoring run, filled when a caller passes one (the benchmark).
Timings = dict[str, tuple[float, float]]


@contextmanager
def _phase(timings: Timings | None, name: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    if timings is not None:
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu)


def score_open_orders(
    model: warning.WarningModel,
    orders: warning.OpenOrders,
    now: datetime,
    owners: Mapping[str, int],
    *,
    timings: Timings | None = None,
) -> RiskScores:
    """Risk, expected arrival and likely late stage of open orders held as columns (no database)."""
    with _phase(timings, "features"):
        x = warning.feature_matrix(orders, now, model.codes)
    with _phase(timings, "predict"):
        proba = warning.predict_risk(model, x)
        promised = x[:, warning.FEATURES.index("hours_to_promise")]
        # An order whose promise has passed has missed it: certain, not a guess.
        proba = np.where(promised < 0, 1.0, np.round(proba, 4))
        stage, stages = _StageGuess(model).vector(
            orders.carrier, orders.warehouse, x[:, warning.FEATURES.index("stage")].astype(np.int64),
            x[:, warning.FEATURES.index("hours_since_last_event")],
        )  # fmt: skip
    # The expected arrival is predicted later, only for the orders reported (see RiskScores.records).
    return RiskScores(now=now, order_id=orders.order_id, probability=proba, promised_hours=promised,
                      stage=stage, stages=stages, departments=[owners.get(stage_owner(st)) for st in stages],
                      model=model, features=x)  # fmt: skip


def score_late_risk(
    session: Session,
    *,
    now: datetime,
    order_ids: Sequence[int] | None = None,
    timings: Timings | None = None,
    replay: bool = False,
) -> RiskScores:
    """The early warning for every open order (or ``order_ids``) at ``now``, as columns.

    ``replay`` asks about the past as it was: an order delivered after ``now`` was still on its way
    then (the journeys' replay). Otherwise such an order is delivered: the data's ``now``
    (``as_of``, the latest order placed) is earlier than the export, and a delivered order is at no risk.
    Without a trained model (run ``cxloop delivery train-warning``) this raises ``LookupError``.
    """
    model = warning.load()
    if model is None:
        raise LookupError("no early-warning model yet: run `cxloop delivery train-warning`")
    with _phase(timings, "read"):
        expr = outcome_case(session, now)
        # Open and late-open orders are undelivered: that test first lets the database use the
        # delivered_at index and skip the outcome expression for the (many) delivered orders. An
        # order delivered after ``now`` was still on its way then, when a replay asks about the past.
        if replay:
            later = Order.delivered_at > now
            where: list[Any] = [
                or_(Order.delivered_at.is_(None), later),
                or_(expr.in_(("open", "late_open")), later),
            ]
        else:
            where = [Order.delivered_at.is_(None), expr.in_(("open", "late_open"))]
        where.append(Order.placed_at <= now)
        if order_ids is not None:
            where.append(Order.id.in_(list(order_ids)))
        orders, promised_at = _open_orders(session, where, now)
        owners = _department_ids(session)
    scores = score_open_orders(model, orders, now, owners, timings=timings)
    scores.promised_at = promised_at
    return scores


def _department_ids(session: Session) -> dict[str, int]:
    return {code: did for code, did in session.execute(select(Department.code, Department.id))}


def predict_late_risk(
    session: Session,
    *,
    now: datetime,
    order_ids: Sequence[int] | None = None,
    department: str | None = None,
    min_probability: float = 0.0,
    limit: int | None = None,
    timings: Timings | None = None,
    replay: bool = False,
) -> list[OrderRisk]:
    """The late risk of every open order (or of ``order_ids``) at ``now``, highest first.

    ``department`` (a code, as ``auth.policy.department_filter`` gives it) keeps the orders whose
    likely late stage that department owns; ``limit`` keeps the riskiest that many (rows are built
    only for them); ``replay`` as in :func:`score_late_risk`. An order whose promise has already passed is certain
    (1.0). Without a trained model (run ``cxloop delivery train-warning``) this raises ``LookupError``.
    """
    scores = score_late_risk(session, now=now, order_ids=order_ids, timings=timings, replay=replay)
    owners = None
    if department is not None:
        # A code with no department (a member without one) owns nothing: an empty list, never all.
        owners = {did for code, did in _department_ids(session).items() if code == department}
    with _phase(timings, "results"):
        return scores.records(scores.select(min_probability=min_probability, owners=owners)[:limit])


def orders_at_risk(
    *, db_session: Session, now: datetime | None = None, department: str | None = None, limit: int = 200
) -> list[RiskGroup]:
    """Open orders at or above the warning threshold, grouped by owning department (for the task list).

    ``department`` narrows to one department's orders (a code, as ``auth.policy.department_filter``
    gives it). Raises ``LookupError`` without a trained model.
    """
    at = now or as_of(db_session)
    if at is None:
        return []
    groups: dict[int | None, list[OrderRisk]] = {}
    for risk in predict_late_risk(
        db_session, now=at, department=department, min_probability=warning_threshold()
    ):
        bucket = groups.setdefault(risk.department_id, [])
        if len(bucket) < limit:
            bucket.append(risk)
    names = {d.id: d for d in db_session.scalars(select(Department).where(Department.id.in_(groups)))}
    return [
        RiskGroup(
            did,
            names[did].name_zh if did in names else "—",
            names[did].name_en if did in names else "—",
            rows,
        )
        for did, rows in groups.items()
    ]


# ---------------------------------------------------------------- distributions (section 4)


def _durations(
    session: Session, stage: str, start: datetime | None, end: datetime | None, scope: tuple[str, str] | None
) -> np.ndarray:
    a, b = ORDER_STAGES[stage]
    ca, cb = EVENT_COLUMNS[a], EVENT_COLUMNS[b]
    stmt = select(hours_between(session, ca, cb)).where(
        ca.is_not(None), cb.is_not(None), cb >= ca, ~cancelled_condition()
    )
    if start is not None:
        stmt = stmt.where(Order.placed_at >= start)
    if end is not None:
        stmt = stmt.where(Order.placed_at < end)
    if scope is not None:
        kind, key = scope
        if kind == "warehouse":
            stmt = stmt.join(Warehouse, Warehouse.id == Order.warehouse_id).where(
                Warehouse.external_id == key
            )
        elif kind == "carrier":
            stmt = stmt.join(Carrier, Carrier.id == Order.carrier_id).where(Carrier.external_id == key)
        elif kind == "region":
            stmt = stmt.where(Order.region == key)
        else:
            raise ValueError(f"scope kind must be warehouse, carrier or region, not {kind!r}")
    return np.asarray([float(v) for v in session.scalars(stmt) if v is not None], dtype=np.float64)


def duration_stats(
    *,
    db_session: Session,
    stage: str,
    start: datetime | None = None,
    end: datetime | None = None,
    scope: tuple[str, str] | None = None,
    bins: int = 30,
) -> DurationStats:
    """Mean, median, p90 and a histogram of a stage's hours for orders placed in [start, end)."""
    if stage not in ORDER_STAGES:
        raise KeyError(f"unknown stage {stage!r}; one of {', '.join(ORDER_STAGES)}")
    values = _durations(db_session, stage, start, end, scope)
    a, b = ORDER_STAGES[stage]
    if len(values) == 0:
        return DurationStats(stage=stage, start_event=a, end_event=b, n=0, mean=None, median=None, p90=None)
    # Bins up to the p99 so one lost parcel does not squash the chart; the last bin holds the tail.
    top = float(np.percentile(values, 99)) or float(values.max()) or 1.0
    edges = np.linspace(0.0, top, bins + 1)
    counts, _ = np.histogram(np.clip(values, 0.0, top), bins=edges)
    return DurationStats(
        stage=stage, start_event=a, end_event=b, n=len(values), mean=round(float(values.mean()), 2),
        median=round(float(np.median(values)), 2), p90=round(float(np.percentile(values, 90)), 2),
        bins=[round(float(e), 2) for e in edges[1:]], counts=[int(c) for c in counts],
    )  # fmt: skip


def all_duration_stats(
    *, db_session: Session, start: datetime | None = None, end: datetime | None = None
) -> list[DurationStats]:
    """Every duration indicator's distribution (``vocab.ORDER_STAGES``), for one range or all periods."""
    return [duration_stats(db_session=db_session, stage=st, start=start, end=end) for st in ORDER_STAGES]


# ---------------------------------------------------------------- promises the shop can beat (section 6)

#: Routes with fewer finished orders than this borrow a wider history (region+carrier, carrier, all).
MIN_ROUTE_ORDERS = 30
MAX_PROMISE_DAYS = 15


@dataclass
class _Shipment:
    route: tuple[str | None, str | None, str | None, str]
    needed_days: int | None  # calendar days from placing to delivery; None = never delivered
    promised_days: int | None
    rating: float | None


def _shipments(session: Session, start: datetime | None, end: datetime | None) -> list[_Shipment]:
    """Finished orders (delivered or failed) placed in [start, end) with their route and rating."""
    from cxloop.feedback.models import FeedbackItem

    now = as_of(session) or datetime.max
    expr = outcome_case(session, now)
    ratings = (
        select(FeedbackItem.order_id.label("oid"), func.avg(FeedbackItem.rating).label("rating"))
        .where(FeedbackItem.rating.is_not(None), FeedbackItem.order_id.is_not(None))
        .group_by(FeedbackItem.order_id)
        .subquery()
    )
    stmt = (
        select(
            Warehouse.external_id,
            Order.region,
            Carrier.external_id,
            Order.placed_at,
            Order.delivered_at,
            Order.promised_delivery_at,
            ratings.c.rating,
        )
        .select_from(Order)
        .outerjoin(Warehouse, Warehouse.id == Order.warehouse_id)
        .outerjoin(Carrier, Carrier.id == Order.carrier_id)
        .outerjoin(ratings, ratings.c.oid == Order.id)
        .where(expr.in_(("early", "on_time", "late", "failed", "unpromised")))
    )
    if start is not None:
        stmt = stmt.where(Order.placed_at >= start)
    if end is not None:
        stmt = stmt.where(Order.placed_at < end)
    cutoff = get_settings().delivery_cutoff_hour
    out = []
    for wh, region, cr, placed, delivered, promised, rating in session.execute(stmt):
        side = "before" if placed.hour < cutoff else "after"
        out.append(
            _Shipment(
                (wh, region, cr, side),
                None if delivered is None else (delivered.date() - placed.date()).days,
                None if promised is None else (promised.date() - placed.date()).days,
                None if rating is None else float(rating),
            )
        )
    return out


def _basis(route: tuple[str | None, str | None, str | None, str]) -> list[tuple[str, Any]]:
    _, region, cr, side = route
    return [
        ("route", route),
        ("region+carrier", (region, cr, side)),
        ("carrier", (cr, side)),
        ("all", (side,)),
    ]


def _groups(rows: Sequence[_Shipment]) -> dict[tuple[str, Any], list[_Shipment]]:
    groups: dict[tuple[str, Any], list[_Shipment]] = {}
    for row in rows:
        for level, key in _basis(row.route):
            groups.setdefault((level, key), []).append(row)
    return groups


def _on_time_share(rows: Sequence[_Shipment], days: int) -> float:
    ok = sum(1 for r in rows if r.needed_days is not None and r.needed_days <= days)
    return ok / len(rows) if rows else 0.0


def recommend_days(rows: Sequence[_Shipment], target: float) -> int | None:
    """The shortest promise (whole days, delivered by the end of that day) beaten by ``target`` of rows."""
    for days in range(MAX_PROMISE_DAYS + 1):
        if _on_time_share(rows, days) >= target:
            return days
    return None


def _curve(rows: Sequence[_Shipment], top: int) -> list[PromisePoint]:
    points = []
    for days in range(top + 1):
        late = [r for r in rows if r.needed_days is None or r.needed_days > days]
        rated = [r.rating for r in late if r.rating is not None]
        points.append(PromisePoint(
            days=days, on_time=round(100 * _on_time_share(rows, days), 1), late_orders=len(late),
            late_rating=round(sum(rated) / len(rated), 2) if rated else None,
        ))  # fmt: skip
    return points


def promise_report(
    *,
    db_session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    target: float | None = None,
    min_orders: int = MIN_ROUTE_ORDERS,
) -> PromiseReport:
    """For each route (warehouse × region × carrier × cut-off), the promise history beats at ``target``."""
    goal = target if target is not None else get_settings().delivery_promise_target
    if not 0 < goal < 1:
        raise ValueError("target must be between 0 and 1 (e.g. 0.95)")
    rows = _shipments(db_session, start, end)
    groups = _groups(rows)
    routes: list[PromiseRoute] = []
    for route in sorted({r.route for r in rows}, key=lambda k: tuple(str(p) for p in k)):
        level, history = next(
            (
                (lvl, groups[(lvl, key)])
                for lvl, key in _basis(route)
                if len(groups[(lvl, key)]) >= min_orders
            ),
            ("all", groups[("all", (route[3],))]),
        )
        own = groups[("route", route)]
        days = recommend_days(history, goal)
        given = sorted(r.promised_days for r in own if r.promised_days is not None)
        current = float(given[len(given) // 2]) if given else None
        routes.append(PromiseRoute(
            warehouse=route[0], region=route[1], carrier=route[2], cutoff=route[3], orders=len(own), basis=level,
            recommended_days=days,
            expected_on_time=None if days is None else round(100 * _on_time_share(history, days), 1),
            current_days=current,
            current_on_time=None if current is None else round(100 * _on_time_share(own, int(current)), 1),
            curve=_curve(history, min(MAX_PROMISE_DAYS, (days or MAX_PROMISE_DAYS) + 3)),
        ))  # fmt: skip
    routes.sort(key=lambda r: -r.orders)
    return PromiseReport(target=goal, cutoff_hour=get_settings().delivery_cutoff_hour, routes=routes)


def evaluate_promises(
    *, db_session: Session, split: datetime, target: float | None = None, min_orders: int = MIN_ROUTE_ORDERS
) -> dict[str, Any]:
    """Time split: recommend from orders placed before ``split``, measure on those placed after it."""
    report = promise_report(db_session=db_session, end=split, target=target, min_orders=min_orders)
    promise = {(r.warehouse, r.region, r.carrier, r.cutoff): r.recommended_days for r in report.routes}
    fallback = {r.cutoff: r.recommended_days for r in report.routes if r.basis == "all"}
    test = _shipments(db_session, split, None)
    hits = judged = 0
    for row in test:
        days = promise.get(row.route, fallback.get(row.route[3]))
        if days is None:
            continue
        judged += 1
        hits += 1 if row.needed_days is not None and row.needed_days <= days else 0
    return {"target": report.target, "train_routes": len(report.routes), "test_orders": judged,
            "realised_on_time": round(100 * hits / judged, 2) if judged else None}  # fmt: skip


# ---------------------------------------------------------------- carrier choice (section 7)

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
CARRIER_CRITERIA = ("speed", "on_time", "damage", "cost", "complaints")


def import_carriers(*, db_session: Session, path: Path) -> CarrierImportResult:
    """Import carrier terms from a YAML or JSON file, all or nothing; a re-run replaces, never duplicates.

    Errors name the carrier's position, the field and the bad value (ValueError).
    """
    from cxloop.delivery.models import CarrierProfile, CarrierRate

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path.name}: cannot read carriers file: {exc}") from None
    entries = raw.get("carriers") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: expected a list under 'carriers'")
    parsed: list[CarrierTermsIn] = []
    for i, entry in enumerate(entries, start=1):
        try:
            terms = CarrierTermsIn.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(
                f"{path.name}: carrier #{i}, field {where!r}: {first['msg']} (value {first.get('input')!r})"
            ) from None
        for t in terms.collection_times:
            if not _TIME_RE.match(t):
                raise ValueError(
                    f"{path.name}: carrier #{i} ({terms.carrier}), collection_times: {t!r} is not HH:MM"
                )
        parsed.append(terms)
    created = rates = 0
    for terms in parsed:
        carrier = db_session.scalar(select(Carrier).where(Carrier.external_id == terms.carrier))
        if carrier is None:
            carrier = Carrier(external_id=terms.carrier, name=terms.name or terms.carrier)
            db_session.add(carrier)
            db_session.flush()
            created += 1
        elif terms.name:
            carrier.name = terms.name
        profile = db_session.get(CarrierProfile, carrier.id) or CarrierProfile(carrier_id=carrier.id)
        profile.max_weight_kg, profile.max_size_cm = terms.max_weight_kg, terms.max_size_cm
        profile.collection_times = list(terms.collection_times)
        db_session.add(profile)
        db_session.execute(delete(CarrierRate).where(CarrierRate.carrier_id == carrier.id))
        seen: set[tuple[str, float]] = set()
        for rate in terms.rates:
            key = (rate.region, rate.weight_to_kg)
            if key in seen:
                db_session.rollback()
                raise ValueError(
                    f"{path.name}: carrier {terms.carrier}: two prices for {rate.region} up to {rate.weight_to_kg} kg"
                )
            seen.add(key)
            db_session.add(CarrierRate(carrier_id=carrier.id, region=rate.region, weight_to_kg=rate.weight_to_kg,
                                       price=Decimal(str(rate.price)), currency=rate.currency.upper()))  # fmt: skip
            rates += 1
    db_session.commit()
    return CarrierImportResult(carriers=len(parsed), created=created, rates=rates)


def _price_tables(session: Session) -> dict[int, list[tuple[str, float, float]]]:
    from cxloop.delivery.models import CarrierRate

    tables: dict[int, list[tuple[str, float, float]]] = {}
    for cid, region, upto, price in session.execute(
        select(CarrierRate.carrier_id, CarrierRate.region, CarrierRate.weight_to_kg, CarrierRate.price)
    ):
        tables.setdefault(cid, []).append((region, float(upto), float(price)))
    for rows in tables.values():
        rows.sort(key=lambda r: r[1])
    return tables


def price_for(
    table: Sequence[tuple[str, float, float]], region: str | None, weight: float | None
) -> float | None:
    """The table price to ``region`` for ``weight`` kg: the region's own row first, then '*'."""
    w = weight if weight is not None else 0.0
    for wanted in (region, "*"):
        for reg, upto, price in table:
            if reg == wanted and w <= upto:
                return price
    return None


def carrier_scorecard(
    *,
    db_session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    region: str | None = None,
) -> list[CarrierScore]:
    """Speed (median and p90 carrier hours), on time, damage, loss, cost and complaints per carrier."""
    from cxloop.delivery.models import CarrierProfile
    from cxloop.feedback.models import FeedbackAspect, FeedbackItem
    from cxloop.taxonomy import aspects

    session = db_session
    now = as_of(session) or datetime.max
    expr = outcome_case(session, now)
    where: list[Any] = [Order.carrier_id.is_not(None), ~cancelled_condition()]
    if start is not None:
        where.append(Order.placed_at >= start)
    if end is not None:
        where.append(Order.placed_at < end)
    if region is not None:
        where.append(Order.region == region)
    tables = _price_tables(session)
    per: dict[int, dict[str, Any]] = {}
    stmt = select(Order.carrier_id, Order.region, Order.weight_kg, Order.shipped_at, Order.delivered_at,
                  Order.damaged, Order.lost, expr).where(*where)  # fmt: skip
    for cid, reg, weight, shipped, delivered, damaged, lost, outcome in session.execute(stmt):
        row = per.setdefault(int(cid or 0), _empty_card())
        row["orders"] += 1
        if shipped is not None:
            row["shipped"] += 1
            row["damaged"] += 1 if damaged else 0
            row["lost"] += 1 if lost else 0
            if delivered is not None and delivered >= shipped:
                row["hours"].append((delivered - shipped).total_seconds() / 3600.0)
        if outcome in DUE_OUTCOMES:
            row["due"] += 1
            row["ok"] += 1 if outcome in ON_TIME_OUTCOMES else 0
        price = price_for(tables.get(int(cid or 0), []), reg, weight)
        if price is not None:
            row["cost"].append(price)
    logistics = [a for a, info in aspects().items() if info.department == "logistics"]
    complaints = dict(
        session.execute(
            select(Order.carrier_id, func.count(func.distinct(FeedbackAspect.feedback_id)))
            .select_from(FeedbackAspect)
            .join(FeedbackItem, FeedbackItem.id == FeedbackAspect.feedback_id)
            .join(Order, Order.id == FeedbackItem.order_id)
            .where(FeedbackAspect.aspect.in_(logistics), FeedbackAspect.sentiment == "negative", *where)
            .group_by(Order.carrier_id)
        ).all()
    )
    carriers = {c.id: c for c in session.scalars(select(Carrier))}
    profiles = {p.carrier_id: p for p in session.scalars(select(CarrierProfile))}
    out = []
    for cid, carrier in sorted(carriers.items(), key=lambda kv: kv[1].external_id):
        found = per.get(cid)
        profile = profiles.get(cid)
        if found is None and profile is None:
            continue
        row = found or _empty_card()
        hours = np.asarray(row["hours"], dtype=np.float64)
        covers = sorted({reg for reg, _, _ in tables.get(cid, [])})
        out.append(CarrierScore(
            carrier=carrier.external_id, name=carrier.name, region=region, orders=row["orders"],
            median_hours=round(float(np.median(hours)), 2) if len(hours) else None,
            p90_hours=round(float(np.percentile(hours, 90)), 2) if len(hours) else None,
            on_time=round(100 * row["ok"] / row["due"], 2) if row["due"] else None,
            damage_rate=round(100 * row["damaged"] / row["shipped"], 2) if row["shipped"] else None,
            loss_rate=round(100 * row["lost"] / row["shipped"], 2) if row["shipped"] else None,
            mean_cost=round(sum(row["cost"]) / len(row["cost"]), 2) if row["cost"] else None,
            complaints_per_100=round(100 * complaints.get(cid, 0) / row["orders"], 2) if row["orders"] else None,
            covers=covers, max_weight_kg=None if profile is None else profile.max_weight_kg,
            collection_times=[] if profile is None else list(profile.collection_times or []),
        ))  # fmt: skip
    return out


def _empty_card() -> dict[str, Any]:
    return {"orders": 0, "hours": [], "due": 0, "ok": 0, "damaged": 0, "lost": 0, "shipped": 0, "cost": []}


def _normalise(values: dict[str, float | None], *, higher_better: bool) -> dict[str, float]:
    """0..1 per carrier, 1 = best among the candidates; unknown values score a neutral 0.5."""
    known = [v for v in values.values() if v is not None]
    if not known:
        return dict.fromkeys(values, 0.5)
    lo, hi = min(known), max(known)
    out = {}
    for key, v in values.items():
        if v is None:
            out[key] = 0.5
        elif hi == lo:
            out[key] = 1.0
        else:
            share = (v - lo) / (hi - lo)
            out[key] = share if higher_better else 1.0 - share
    return out


def recommend_carrier(
    *,
    db_session: Session,
    region: str,
    weight_kg: float,
    value: float | None = None,
    urgency: str = "standard",
    weights: Mapping[str, float] | None = None,
    size_cm: float | None = None,
) -> CarrierRecommendation:
    """Rank the carriers that can take a parcel, by configurable weights, and explain each score.

    Urgent parcels double the speed weight; parcels worth over 1,000 double the damage weight.
    """
    if urgency not in ("standard", "urgent"):
        raise ValueError("urgency must be 'standard' or 'urgent'")
    if weight_kg <= 0:
        raise ValueError("weight_kg must be positive")
    base = dict(get_settings().delivery_carrier_weights)
    base.update(weights or {})
    unknown = set(base) - set(CARRIER_CRITERIA)
    if unknown:
        raise ValueError(f"unknown criteria {sorted(unknown)}; use {', '.join(CARRIER_CRITERIA)}")
    if urgency == "urgent":
        base["speed"] = base.get("speed", 0.0) * 2
    if value is not None and value > 1000:
        base["damage"] = base.get("damage", 0.0) * 2
    total = sum(base.values()) or 1.0
    w = {k: round(v / total, 4) for k, v in base.items()}
    scores = {c.carrier: c for c in carrier_scorecard(db_session=db_session, region=region)}
    tables = _price_tables(db_session)
    ids = {c.external_id: c.id for c in db_session.scalars(select(Carrier))}
    excluded: dict[str, str] = {}
    prices: dict[str, float | None] = {}
    from cxloop.delivery.models import CarrierProfile

    profiles = {p.carrier_id: p for p in db_session.scalars(select(CarrierProfile))}
    for key, card in scores.items():
        cid = ids[key]
        profile = profiles.get(cid)
        if profile is not None and profile.max_weight_kg is not None and weight_kg > profile.max_weight_kg:
            excluded[key] = f"weight {weight_kg:g} kg > limit {profile.max_weight_kg:g} kg"
            continue
        if (
            profile is not None
            and size_cm is not None
            and profile.max_size_cm is not None
            and size_cm > profile.max_size_cm
        ):
            excluded[key] = f"size {size_cm:g} cm > limit {profile.max_size_cm:g} cm"
            continue
        table = tables.get(cid, [])
        price = price_for(table, region, weight_kg)
        if table and price is None:
            excluded[key] = f"no price to {region} for {weight_kg:g} kg (not covered)"
            continue
        if not table and card.orders == 0:
            continue  # neither terms nor history: nothing to judge it by
        prices[key] = price
    candidates = list(prices)
    parts_by: dict[str, dict[str, float]] = {k: {} for k in candidates}
    criteria = {
        "speed": ({k: scores[k].p90_hours for k in candidates}, False),
        "on_time": ({k: scores[k].on_time for k in candidates}, True),
        "damage": ({k: _sum_opt(scores[k].damage_rate, scores[k].loss_rate) for k in candidates}, False),
        "cost": ({k: prices[k] for k in candidates}, False),
        "complaints": ({k: scores[k].complaints_per_100 for k in candidates}, False),
    }
    for name, (vals, higher) in criteria.items():
        for k, v in _normalise(vals, higher_better=higher).items():
            parts_by[k][name] = round(w.get(name, 0.0) * v, 4)
    ranked = []
    for k in candidates:
        c = scores[k]
        zh = (f"{c.name}：p90 运输 {_fmt(c.p90_hours)} 小时，准时率 {_fmt(c.on_time)}%，破损+丢失 "
              f"{_fmt(_sum_opt(c.damage_rate, c.loss_rate))}%，价格 {_fmt(prices[k])} 元，每百单物流投诉 {_fmt(c.complaints_per_100)}")  # fmt: skip
        en = (f"{c.name}: p90 transit {_fmt(c.p90_hours)} h, on time {_fmt(c.on_time)}%, damage+loss "
              f"{_fmt(_sum_opt(c.damage_rate, c.loss_rate))}%, price {_fmt(prices[k])}, logistics complaints per 100 orders {_fmt(c.complaints_per_100)}")  # fmt: skip
        ranked.append(CarrierChoice(carrier=k, name=c.name, score=round(sum(parts_by[k].values()), 4), price=prices[k],
                                    parts=parts_by[k], explanation_zh=zh, explanation_en=en))  # fmt: skip
    ranked.sort(key=lambda r: (-r.score, r.carrier))
    return CarrierRecommendation(region=region, weight_kg=weight_kg, value=value, urgency=urgency, weights=w,
                                 ranked=ranked, excluded=excluded)  # fmt: skip


def _sum_opt(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:g}"
