"""JSON API over orders (orders are written through the import endpoints)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from cxloop.auth.policy import allow
from cxloop.deps import SessionDep
from cxloop.orders import service
from cxloop.orders.schemas import OrderLineRead, OrderRead, TimelineEntryRead

router = APIRouter(tags=["orders"])


@router.get("/orders/{external_id}", response_model=OrderRead, dependencies=[allow("orders", "read")])
def get_order(external_id: str, db_session: SessionDep) -> OrderRead:
    """One order by the source system's id, with lines, timeline, stage hours and promise gap."""
    order = service.get_by_external_id(db_session=db_session, external_id=external_id)
    if order is None:
        raise HTTPException(404, f"no order with id {external_id!r}")
    return OrderRead.model_validate(order).model_copy(
        update={
            "lines": [
                OrderLineRead.model_validate(x)
                for x in service.lines_of(db_session=db_session, order_id=order.id)
            ],
            "timeline": [
                TimelineEntryRead.model_validate(e, from_attributes=True)
                for e in service.timeline(db_session=db_session, order=order)
            ],
            "stage_hours": service.stage_hours(order),
            "promise_gap_hours": service.promise_gap_hours(order),
        }
    )
