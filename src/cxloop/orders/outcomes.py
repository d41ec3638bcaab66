"""What became of an order: its delivery outcome and, when late, the stage it is put down to.

The one definition of on time, late, failed and cancelled (a SQL ``CASE`` every rate reads) and the
root cause of a late order on a partial timeline. It belongs to orders, below every domain that
counts or acts on outcomes: the metrics rollups, the delivery decisions and the journeys' delay care.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxloop.config import get_settings
from cxloop.i18n import translate
from cxloop.logistics.models import Carrier, Warehouse
from cxloop.orders.models import Order
from cxloop.sql import hours_between
from cxloop.vocab import ORDER_STAGE_OWNERS

# ---------------------------------------------------------------- outcomes (the one definition)

#: Every delivery outcome of an order, in the order they are tested.
OUTCOMES = ("cancelled", "failed", "early", "on_time", "late", "late_open", "open", "unpromised")
#: Outcomes of orders whose promise has come due (delivered, failed, or still out after the promise):
#: the denominator of the on-time and late rates.
DUE_OUTCOMES = ("early", "on_time", "late", "late_open", "failed")
#: Outcomes that count as late: delivered after the promise, or still not delivered after it.
LATE_OUTCOMES = ("late", "late_open")
#: Outcomes that count as on time (early is on time too).
ON_TIME_OUTCOMES = ("early", "on_time")
#: Status values (lower case, as exports write them) that mean the order never reached a delivery.
CANCELLED_STATUSES = ("cancelled", "canceled", "unavailable", "已取消", "取消", "无货", "缺货")
#: Status values that mean the parcel went back; only an outcome while nothing was delivered.
RETURNED_STATUSES = ("returned", "rejected", "已退回", "拒收")


def early_hours() -> float:
    """Hours before the promise from which a delivery counts as early (setting)."""
    return get_settings().delivery_early_hours


def cancelled_condition() -> ColumnElement[bool]:
    """True for an order that was cancelled, unavailable or returned before any delivery."""
    status = func.lower(func.coalesce(Order.status, ""))
    return or_(
        Order.cancelled_at.is_not(None),
        status.in_(CANCELLED_STATUSES),
        and_(status.in_(RETURNED_STATUSES), Order.delivered_at.is_(None)),
    )


def outcome_case(session: Session, now: datetime) -> ColumnElement[str]:
    """The delivery outcome of each order as of ``now``: the single definition every rate reads."""
    o = Order
    delivered, promised = o.delivered_at, o.promised_delivery_at
    return case(
        (cancelled_condition(), literal("cancelled")),
        (
            and_(delivered.is_(None), or_(o.delivery_failed_at.is_not(None), o.lost.is_(True))),
            literal("failed"),
        ),
        (and_(promised.is_(None), delivered.is_not(None)), literal("unpromised")),
        (promised.is_(None), literal("open")),
        (delivered > promised, literal("late")),
        (hours_between(session, delivered, promised) >= early_hours(), literal("early")),
        (delivered.is_not(None), literal("on_time")),
        # Not delivered: open until the promise has passed, then late though still on its way.
        (promised < now, literal("late_open")),
        else_=literal("open"),
    )


def outcome_of(session: Session, order_id: int, *, now: datetime) -> str:
    """The outcome of one order (the same SQL definition, for pages and tests)."""
    value = session.scalar(select(outcome_case(session, now)).where(Order.id == order_id))
    if value is None:
        raise KeyError(f"no order {order_id}")
    return str(value)


def as_of(session: Session) -> datetime | None:
    """The time the order data speaks for: its latest order placed (so an old export is not all late)."""
    value = session.scalar(select(func.max(Order.placed_at)))
    return value if isinstance(value, datetime) or value is None else datetime.fromisoformat(str(value))


def late_rate(counts: Mapping[str, float]) -> float | None:
    """Late (delivered late or still out after the promise) / due orders, %, from ``out:`` counts."""
    due = sum(counts.get(f"out:{o}", 0.0) for o in DUE_OUTCOMES)
    late = sum(counts.get(f"out:{o}", 0.0) for o in LATE_OUTCOMES)
    return round(100.0 * late / due, 2) if due else None


def on_time_rate(counts: Mapping[str, float]) -> float | None:
    """On time or early / due orders, %, from ``out:`` counts."""
    due = sum(counts.get(f"out:{o}", 0.0) for o in DUE_OUTCOMES)
    ok = sum(counts.get(f"out:{o}", 0.0) for o in ON_TIME_OUTCOMES)
    return round(100.0 * ok / due, 2) if due else None


def outcome_components(session: Session, now: datetime) -> dict[str, ColumnElement[Any]]:
    """Rollup components: one ``out:<outcome>`` count per outcome, plus ``promised_n`` and ``on_time``."""
    expr = outcome_case(session, now)
    comps: dict[str, ColumnElement[Any]] = {
        f"out:{o}": func.sum(case((expr == o, 1), else_=0)) for o in OUTCOMES
    }
    comps["promised_n"] = func.sum(case((expr.in_(DUE_OUTCOMES), 1), else_=0))
    comps["on_time"] = func.sum(case((expr.in_(ON_TIME_OUTCOMES), 1), else_=0))
    return comps


# ---------------------------------------------------------------- root cause on partial timelines

#: The order timeline, in order; each cause stage lies between two consecutive events.
EVENT_CHAIN = ("placed", "paid", "picked", "sorted", "shipped", "delivered")
#: The stages the root cause can blame, one per gap of EVENT_CHAIN (processing spans several of them).
CAUSE_STAGES = ("payment", "picking", "sorting", "handover", "carrier")
EVENT_COLUMNS = {
    "placed": Order.placed_at,
    "paid": Order.paid_at,
    "picked": Order.picked_at,
    "sorted": Order.sorted_at,
    "shipped": Order.shipped_at,
    "delivered": Order.delivered_at,
}
STAGE_SEPARATOR = "+"

Normals = dict[tuple[str, str, str, str], float]  # (start event, end event, scope kind, key) -> mean hours


@dataclass(frozen=True)
class Segment:
    """A stretch of an order's timeline between two known events, covering one or more stages."""

    stages: tuple[str, ...]
    start: str
    end: str
    hours: float
    open: bool = False

    @property
    def key(self) -> str:
        """The stored name: stage codes joined by '+', e.g. ``picking+sorting+handover``."""
        return STAGE_SEPARATOR.join(self.stages)


@dataclass(frozen=True)
class Blame:
    """The segment a late order is put down to, and how far it ran over its normal time."""

    stage: str
    excess_hours: float | None


def stage_parts(stage_key: str) -> tuple[str, ...]:
    """The cause stages inside a (possibly merged) stage key."""
    return tuple(stage_key.split(STAGE_SEPARATOR))


def stage_owner(stage_key: str) -> str:
    """The department owning a (possibly merged) stage: the owner of its last real stage."""
    parts = stage_parts(stage_key)
    return ORDER_STAGE_OWNERS.get(parts[-1], "logistics")


def stage_label(stage_key: str, lang: str = "zh") -> str:
    """A merged stage for people: "拣货 + 分拣 + 交接揽收" / "Picking + Sorting + Handover" (catalogue
    ``order_stage.*``, the names every page uses)."""
    return " + ".join(translate(f"order_stage.{part}", lang) for part in stage_parts(stage_key))


def segments(
    times: Mapping[str, datetime | None], *, stop: datetime, recorded: Iterable[str]
) -> list[Segment]:
    """The stretches of a timeline: a missing event merges its stage into the next known one.

    An undelivered order's last stretch runs to ``stop``; it covers the next stage plus any later
    stages whose end event this shop never records (``recorded``), since the order may be in any of them.
    """
    known = [e for e in EVENT_CHAIN if times.get(e) is not None]
    if not known:
        return []
    rec = set(recorded)
    out: list[Segment] = []
    for a, b in itertools.pairwise(known):
        i, j = EVENT_CHAIN.index(a), EVENT_CHAIN.index(b)
        ta, tb = times[a], times[b]
        assert ta is not None and tb is not None
        out.append(Segment(CAUSE_STAGES[i:j], a, b, (tb - ta).total_seconds() / 3600.0))
    last = known[-1]
    if last != "delivered":
        i = EVENT_CHAIN.index(last)
        j = i + 1
        while j < len(EVENT_CHAIN) - 1 and EVENT_CHAIN[j] not in rec:
            j += 1
        t_last = times[last]
        assert t_last is not None
        out.append(
            Segment(CAUSE_STAGES[i:j], last, EVENT_CHAIN[j], (stop - t_last).total_seconds() / 3600.0, True)
        )
    return out


def segment_scope(seg: Segment, warehouse: str | None, carrier: str | None) -> tuple[str, str]:
    """Whose normal time a segment is held to: the carrier's, the warehouse's, or the business's."""
    if "carrier" in seg.stages and carrier:
        return ("carrier", carrier)
    if seg.stages != ("payment",) and "carrier" not in seg.stages and warehouse:
        return ("warehouse", warehouse)
    return ("all", "")


def normal_time(normals: Iterable[Normals], seg: Segment, scope: tuple[str, str]) -> float | None:
    """The segment's normal hours: same scope first, then the business; None when nobody has history."""
    for table in normals:
        for slot in ((seg.start, seg.end, *scope), (seg.start, seg.end, "all", "")):
            if slot in table:
                return table[slot]
    return None


def blame(
    times: Mapping[str, datetime | None],
    *,
    stop: datetime,
    normals: list[Normals],
    warehouse: str | None = None,
    carrier: str | None = None,
) -> Blame:
    """Put a late order down to the segment furthest over its normal time.

    A segment with no history is not compared (never against a normal of 0); on a tie the real,
    non-empty and least-merged segment wins.
    """
    recorded = {e for table in normals for (a, b, _, _) in table for e in (a, b)}
    best: tuple[float, int, int] | None = None
    best_seg: Segment | None = None
    for seg in segments(times, stop=stop, recorded=recorded):
        normal = normal_time(normals, seg, segment_scope(seg, warehouse, carrier))
        if normal is None:
            continue
        rank = (round(seg.hours - normal, 6), 1 if seg.hours > 0 else 0, -len(seg.stages))
        if best is None or rank > best:
            best, best_seg = rank, seg
    if best is None or best_seg is None:
        return Blame("unknown", None)
    return Blame(best_seg.key, best[0])


def pair_normals(session: Session, start_at: datetime, end_at: datetime, *, min_orders: int = 1) -> Normals:
    """Mean hours between every two timeline events for orders placed in [start_at, end_at).

    Per business, warehouse and carrier. Only pairs the shop actually records appear, so a stage the
    data never has gets no normal time at all.
    """
    pairs = [(a, b) for i, a in enumerate(EVENT_CHAIN) for b in EVENT_CHAIN[i + 1 :]]
    out: Normals = {}
    for kind, key_col, join in (
        ("all", literal(""), None),
        ("warehouse", Warehouse.external_id, (Warehouse, Warehouse.id == Order.warehouse_id)),
        ("carrier", Carrier.external_id, (Carrier, Carrier.id == Order.carrier_id)),
    ):
        cols: list[Any] = []
        for a, b in pairs:
            ca, cb = EVENT_COLUMNS[a], EVENT_COLUMNS[b]
            ok = and_(ca.is_not(None), cb.is_not(None), cb >= ca)
            cols += [
                func.sum(case((ok, hours_between(session, ca, cb)), else_=0.0)),
                func.sum(case((ok, 1), else_=0)),
            ]
        stmt = select(key_col, *cols).select_from(Order)
        if join is not None:
            stmt = stmt.join(*join)
        stmt = stmt.where(
            Order.placed_at >= start_at, Order.placed_at < end_at, ~cancelled_condition()
        ).group_by(key_col)
        for row in session.execute(stmt):
            key = str(row[0] or "")
            for n, (a, b) in enumerate(pairs):
                total, count = row[1 + 2 * n], row[2 + 2 * n]
                if count and count >= min_orders:
                    out[(a, b, kind, key)] = float(total or 0.0) / float(count)
    return out
