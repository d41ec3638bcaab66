"""Reading orders with their lines and stage timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.orders.models import Order, OrderEvent, OrderLine
from cxloop.vocab import ORDER_EVENT_COLUMNS, ORDER_STAGES

#: Order columns holding the time of a timeline event (the flags such as ``damaged`` carry no time).
TIMELINE_COLUMNS: dict[str, str] = {
    kind: column for kind, column in ORDER_EVENT_COLUMNS.items() if column.endswith("_at")
}


@dataclass(frozen=True)
class TimelineEntry:
    """One moment in an order's life."""

    kind: str
    occurred_at: datetime
    location: str | None = None
    note: str | None = None


def get_by_external_id(*, db_session: Session, external_id: str) -> Order | None:
    """The order with the source system's id ``external_id``."""
    return db_session.scalar(select(Order).where(Order.external_id == external_id))


def lines_of(*, db_session: Session, order_id: int) -> list[OrderLine]:
    """An order's lines in line order."""
    return list(
        db_session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        )
    )


def timeline(*, db_session: Session, order: Order) -> list[TimelineEntry]:
    """The order's timeline: its recorded events, plus the moments only its columns know."""
    entries = [
        TimelineEntry(e.kind, e.occurred_at, e.location, e.note)
        for e in db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))
    ]
    seen = {(e.kind, e.occurred_at) for e in entries}
    # Flat exports carry the timeline as columns only; show those moments too, without repeating events.
    for kind, column in TIMELINE_COLUMNS.items():
        moment = getattr(order, column)
        if moment is not None and (kind, moment) not in seen:
            entries.append(TimelineEntry(kind, moment))
    return sorted(entries, key=lambda e: e.occurred_at)


def stage_hours(order: Order) -> dict[str, float | None]:
    """Hours spent in each fulfilment stage (None where either end is unknown)."""
    hours: dict[str, float | None] = {}
    for stage, (start_kind, end_kind) in ORDER_STAGES.items():
        start = getattr(order, TIMELINE_COLUMNS[start_kind])
        end = getattr(order, TIMELINE_COLUMNS[end_kind])
        hours[stage] = round((end - start).total_seconds() / 3600, 2) if start and end else None
    return hours


def promise_gap_hours(order: Order) -> float | None:
    """Delivered minus promised, in hours: negative means early (the promise was beaten)."""
    if order.delivered_at is None or order.promised_delivery_at is None:
        return None
    return round((order.delivered_at - order.promised_delivery_at).total_seconds() / 3600, 2)


def has_orders(*, db_session: Session) -> bool:
    """Whether any order is stored (the demo refuses to overwrite a real shop's data)."""
    return db_session.scalar(select(Order.id).limit(1)) is not None
