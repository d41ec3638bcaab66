"""JSON API of the delivery domain (mounted under /api/v1; authentication is added by the app)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query

from cxloop.auth.models import User
from cxloop.auth.policy import allow, department_filter
from cxloop.delivery import schemas as s
from cxloop.delivery import service
from cxloop.deps import SessionDep
from cxloop.metrics import schemas as metrics_schemas
from cxloop.metrics import service as metrics
from cxloop.metrics.views import indicator_department
from cxloop.orders import outcomes

#: Delivery numbers are metrics: everyone reads them (cxloop.auth.policy); an indicator's range is
#: scoped to its owning department like the metrics API.
router = APIRouter(tags=["delivery"], dependencies=[allow("metrics", "read")])
T = TypeVar("T")


@router.get("/delivery/experience", response_model=metrics_schemas.DeliveryExperience)
def get_experience(
    db_session: SessionDep,
    start: Annotated[datetime | None, Query(description="Orders placed from (business time)")] = None,
    end: Annotated[datetime | None, Query(description="Orders placed before (business time)")] = None,
) -> metrics_schemas.DeliveryExperience:
    """Rating, CSAT and negative share by delivery outcome and by how late."""
    return metrics.delivery_experience(db_session=db_session, start=start, end=end)


@router.get("/delivery/at-risk", response_model=list[s.OrderRisk])
def get_at_risk(
    user: Annotated[User, allow("metrics", "read")],
    db_session: SessionDep,
    now: Annotated[datetime | None, Query(description="Moment to score at; default the latest order")] = None,
    order_id: Annotated[list[int] | None, Query(description="Only these orders")] = None,
    min_probability: Annotated[float, Query(ge=0, le=1)] = 0.0,
) -> list[s.OrderRisk]:
    """Late risk of open orders (highest first), from the trained early-warning model.

    Department members see the orders whose likely late stage their department owns.
    """
    at = now or outcomes.as_of(db_session)
    if at is None:
        return []
    try:
        return service.predict_late_risk(
            db_session,
            now=at,
            order_ids=order_id,
            department=department_filter(user, "metrics"),
            min_probability=min_probability,
        )
    except LookupError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


def _call(fn: Callable[[], T]) -> T:
    # Unknown stage or indicator is a 404; a bad range is a 422; never a 500.
    try:
        return fn()
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=str(exc.args[0] if exc.args else exc)) from None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


@router.get("/delivery/durations", response_model=list[s.DurationStats])
def get_durations(
    db_session: SessionDep,
    start: Annotated[datetime | None, Query(description="Orders placed from; empty = all periods")] = None,
    end: Annotated[datetime | None, Query(description="Orders placed before")] = None,
) -> list[s.DurationStats]:
    """Median, p90, mean and histogram of every stage duration."""
    return service.all_duration_stats(db_session=db_session, start=start, end=end)


@router.get("/delivery/durations/{stage}", response_model=s.DurationStats)
def get_duration(
    db_session: SessionDep,
    stage: str,
    start: Annotated[datetime | None, Query()] = None,
    end: Annotated[datetime | None, Query()] = None,
    scope: Annotated[str | None, Query(description="warehouse:KEY, carrier:KEY or region:NAME")] = None,
) -> s.DurationStats:
    """One stage's duration distribution, optionally for one warehouse, carrier or region."""
    parsed = None
    if scope:
        kind, _, key = scope.partition(":")
        parsed = (kind, key)
    return _call(
        lambda: service.duration_stats(db_session=db_session, stage=stage, start=start, end=end, scope=parsed)
    )


@router.get("/delivery/indicators/{code}/range", response_model=metrics_schemas.RangeValue)
def get_indicator_range(
    _user: Annotated[User, allow("metrics", "read", scope=indicator_department)],
    db_session: SessionDep,
    code: str,
    start: Annotated[date | None, Query(description="First day; empty = first day with data")] = None,
    end: Annotated[date | None, Query(description="Day after the last; empty = all periods")] = None,
) -> metrics_schemas.RangeValue:
    """Any indicator over a custom range, or over all periods."""
    return _call(
        lambda: metrics.indicator_over_range(db_session=db_session, indicator=code, start=start, end=end)
    )


@router.get("/delivery/promises", response_model=s.PromiseReport)
def get_promises(
    db_session: SessionDep,
    target: Annotated[float | None, Query(gt=0, lt=1, description="e.g. 0.95; default the setting")] = None,
    start: Annotated[datetime | None, Query(description="History from")] = None,
    end: Annotated[datetime | None, Query(description="History before")] = None,
) -> s.PromiseReport:
    """The promise each route beats with the target probability, with its trade-off curve."""
    return _call(lambda: service.promise_report(db_session=db_session, target=target, start=start, end=end))


@router.get("/delivery/carriers", response_model=list[s.CarrierScore])
def get_carriers(
    db_session: SessionDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[datetime | None, Query()] = None,
    end: Annotated[datetime | None, Query()] = None,
) -> list[s.CarrierScore]:
    """Carrier scorecard: speed (median, p90), on time, damage, loss, cost and complaints."""
    return service.carrier_scorecard(db_session=db_session, region=region, start=start, end=end)


@router.get("/delivery/carriers/recommend", response_model=s.CarrierRecommendation)
def get_carrier_recommendation(
    db_session: SessionDep,
    region: Annotated[str, Query(min_length=1, max_length=64)],
    weight_kg: Annotated[float, Query(gt=0, le=10_000)],
    value: Annotated[float | None, Query(ge=0)] = None,
    urgency: Annotated[str, Query(pattern="^(standard|urgent)$")] = "standard",
    size_cm: Annotated[float | None, Query(gt=0)] = None,
) -> s.CarrierRecommendation:
    """The carriers that can take this parcel, best first, with each criterion's share of the score."""
    return _call(
        lambda: service.recommend_carrier(
            db_session=db_session,
            region=region,
            weight_kg=weight_kg,
            value=value,
            urgency=urgency,
            size_cm=size_cm,
        )
    )
