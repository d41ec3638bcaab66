"""What a batch of due timers reads, each kind in one query for the whole batch.

Firing a timer used to cost about eight queries (the customer's orders for new/returning, the order's
products, the carrier, open cases, tags, and the message rules). ``TimerBatch`` reads each kind once for
every customer and order of the batch, the first time a step needs it, and keeps what the batch itself
writes (tags) in step, so each decision sees what its own queries would have seen. A customer whose data
an action of another domain may change (a case, a task, a survey) is dropped with ``forget`` and read by
query again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from cxloop.catalog.models import Product
from cxloop.customers.models import Customer, CustomerTag
from cxloop.journeys.models import JourneyRun
from cxloop.logistics.models import Carrier
from cxloop.loop.models import Case
from cxloop.messaging.models import CustomerMessage
from cxloop.orders.models import Order, OrderLine

#: ``session.info`` key of the batch being fired.
BATCH_KEY = "cxloop.journeys.batch"
#: Most ids in one ``IN (...)`` (SQLite's parameter limit leaves room for the rest of the query).
CHUNK = 900

V = TypeVar("V")


class OrderFact(NamedTuple):
    """One order of a customer, as the conditions and exits read it."""

    id: int
    placed_at: datetime | None
    total_amount: Decimal | None
    cancelled_at: datetime | None


class CaseFact(NamedTuple):
    """One complaint case of a customer, as the ``open_case`` condition reads it."""

    id: int
    status: str
    opened_at: datetime | None
    resolved_at: datetime | None


#: The columns of a run a step may change; the batch writes them back in one statement.
RUN_CHANGES = ("status", "position", "context", "finished_at", "exit_reason", "error")


class RunState:
    """A run of the batch as plain attributes: read with one query, written back with one executemany
    (an ORM object per run cost more than the step itself). The engine reads and changes it like a
    ``JourneyRun``."""

    __slots__ = (
        "context",
        "control",
        "customer_id",
        "entered_at",
        "entry_key",
        "error",
        "event_id",
        "exit_reason",
        "finished_at",
        "id",
        "journey_key",
        "order_id",
        "position",
        "ref",
        "status",
    )
    id: int
    journey_key: str
    entry_key: str
    customer_id: int
    ref: str | None
    order_id: int | None
    event_id: int | None
    status: str
    control: bool
    position: int
    context: dict[str, Any]
    entered_at: datetime
    finished_at: datetime | None
    exit_reason: str | None
    error: str | None

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


def load_runs(db: Session, ids: list[int]) -> dict[int, RunState]:
    """The runs ``ids`` as ``RunState``, one query per chunk."""
    out: dict[int, RunState] = {}
    for chunk in chunks(ids):
        for row in db.execute(select(*JourneyRun.__table__.columns).where(JourneyRun.id.in_(chunk))):
            out[row.id] = RunState(**row._mapping)
    return out


def write_runs(db: Session, runs: Iterable[RunState]) -> None:
    """Write the changeable columns of ``runs``; a ``JourneyRun`` of the same row in the session takes
    the same values, so the session never shows a stale run."""
    table = cast(Table, JourneyRun.__table__)
    rows = [{"b_id": r.id, **{f"b_{c}": getattr(r, c) for c in RUN_CHANGES}} for r in runs]
    if not rows:
        return
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in RUN_CHANGES})
    )
    db.execute(statement, rows)
    for r in runs:
        loaded = db.identity_map.get(identity_key(JourneyRun, r.id))
        if loaded is not None:
            for column in RUN_CHANGES:
                set_committed_value(loaded, column, getattr(r, column))


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    """``items`` in slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class _Table:
    """One kind of fact by key: loaded for the whole batch on first use, then one key at a time."""

    load: Callable[[list[int]], Iterable[tuple[int, Any]]]
    rows: dict[int, list[Any]] = field(default_factory=dict)
    bulk_done: bool = False

    def get(self, key: int, batch: set[int]) -> list[Any]:
        if key not in self.rows:
            keys = sorted(batch) if not self.bulk_done and key in batch else [key]
            self.bulk_done = self.bulk_done or key in batch
            for k in keys:
                self.rows[k] = []
            for chunk in chunks(keys):
                for k, value in self.load(chunk):
                    self.rows[k].append(value)
        return self.rows[key]


@dataclass
class TimerBatch:
    """The facts one batch of due timers needs, and the step log it writes at the end."""

    db: Session
    customer_ids: set[int]
    order_ids: set[int]
    #: The runs the batch has moved on so far (written back with ``write_runs``).
    touched: dict[int, RunState] = field(default_factory=dict)
    #: The batch's customers and orders, loaded with it.
    customers: dict[int, Customer] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    #: Step rows and the message each one refers to (its id is known after the batch's flush).
    steps: list[tuple[list[Any], CustomerMessage | None]] = field(default_factory=list)
    _carriers: dict[int, Carrier] | None = None

    def __post_init__(self) -> None:
        db = self.db
        self._orders = _Table(
            lambda ids: (
                (r.customer_id, OrderFact(r.id, r.placed_at, r.total_amount, r.cancelled_at))
                for r in db.execute(
                    select(
                        Order.customer_id, Order.id, Order.placed_at, Order.total_amount, Order.cancelled_at
                    ).where(Order.customer_id.in_(ids))
                )
            )
        )
        self._products = _Table(
            lambda ids: db.execute(
                select(OrderLine.order_id, Product)
                .join(Product, OrderLine.product_id == Product.id)
                .where(OrderLine.order_id.in_(ids))
                .order_by(OrderLine.order_id, OrderLine.line_no)
            )
        )
        self._cases = _Table(
            lambda ids: (
                (r.customer_id, CaseFact(r.id, r.status, r.opened_at, r.resolved_at))
                for r in db.execute(
                    select(Case.customer_id, Case.id, Case.status, Case.opened_at, Case.resolved_at).where(
                        Case.customer_id.in_(ids)
                    )
                )
            )
        )
        self._tags = _Table(
            lambda ids: db.execute(
                select(CustomerTag.customer_id, CustomerTag.tag).where(CustomerTag.customer_id.in_(ids))
            )
        )

    def orders_of(self, customer_id: int) -> list[OrderFact]:
        """Every order of the customer."""
        return self._orders.get(customer_id, self.customer_ids)

    def products_of(self, order_id: int) -> list[Product]:
        """The products of an order, by line."""
        return self._products.get(order_id, self.order_ids)

    def cases_of(self, customer_id: int) -> list[CaseFact]:
        """Every complaint case of the customer."""
        return self._cases.get(customer_id, self.customer_ids)

    def tags_of(self, customer_id: int) -> list[str]:
        """The customer's tags, with those this batch added."""
        return self._tags.get(customer_id, self.customer_ids)

    def carrier(self, carrier_id: int) -> Carrier | None:
        """A carrier (every carrier is read once: there are few)."""
        if self._carriers is None:
            self._carriers = {c.id: c for c in self.db.scalars(select(Carrier))}
        if carrier_id not in self._carriers:
            found = self.db.get(Carrier, carrier_id)
            if found is None:
                return None
            self._carriers[carrier_id] = found
        return self._carriers[carrier_id]

    def forget(self, customer_id: int) -> None:
        """Read this customer's facts by query again from now on."""
        for table in (self._orders, self._cases, self._tags):
            table.rows.pop(customer_id, None)


def batch_of(db_session: Session) -> TimerBatch | None:
    """The batch of due timers this session is firing, if any."""
    return db_session.info.get(BATCH_KEY)
