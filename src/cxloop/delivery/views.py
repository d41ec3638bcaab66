"""JSON API of the delivery domain (mounted under /api/v1; authentication is added by the app)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from cxloop.delivery import schemas as s
from cxloop.delivery import service
from cxloop.deps import SessionDep

router = APIRouter(tags=["delivery"])


@router.get("/delivery/experience", response_model=s.DeliveryExperience)
def get_experience(
    db_session: SessionDep,
    start: Annotated[datetime | None, Query(description="Orders placed from (business time)")] = None,
    end: Annotated[datetime | None, Query(description="Orders placed before (business time)")] = None,
) -> s.DeliveryExperience:
    """Rating, CSAT and negative share by delivery outcome and by how late."""
    return service.delivery_experience(db_session=db_session, start=start, end=end)


@router.get("/delivery/at-risk", response_model=list[s.OrderRisk])
def get_at_risk(
    db_session: SessionDep,
    now: Annotated[datetime | None, Query(description="Moment to score at; default the latest order")] = None,
    order_id: Annotated[list[int] | None, Query(description="Only these orders")] = None,
    min_probability: Annotated[float, Query(ge=0, le=1)] = 0.0,
) -> list[s.OrderRisk]:
    """Late risk of open orders (highest first), from the trained early-warning model."""
    at = now or service.as_of(db_session)
    if at is None:
        return []
    try:
        risks = service.predict_late_risk(db_session, now=at, order_ids=order_id)
    except LookupError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return [r for r in risks if r.probability >= min_probability]
