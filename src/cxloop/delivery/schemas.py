"""Value objects of the delivery domain (API and service results)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OrderRisk(BaseModel):
    """The early warning for one open order: how likely it misses its promise, and where."""

    model_config = ConfigDict(frozen=True)

    order_id: int
    probability: float = Field(description="Calibrated probability that the order misses its promise, 0..1")
    promised_at: datetime
    expected_arrival: datetime
    late_stage: str = Field(description="Stage (or merged stages joined by '+') most likely to be late")
    department_id: int | None = Field(None, description="Department owning late_stage")


class TrainResult(BaseModel):
    """What `cxloop delivery train-warning` trained, and how the held-out months scored."""

    path: str
    orders: int
    snapshots: int
    trained_at: datetime
    evaluation: dict[str, Any] = Field(default_factory=dict)


class OutcomeSatisfaction(BaseModel):
    """What customers said about orders with one delivery outcome (or one band of lateness)."""

    outcome: str = Field(description="Delivery outcome, or a lateness band such as 'late:24-72h'")
    name_zh: str
    name_en: str
    orders: int
    rated: int = Field(description="Reviews with a star rating linked to these orders")
    rating: float | None = Field(None, description="Mean star rating (1-5)")
    csat_n: int = 0
    csat: float | None = Field(None, description="CSAT: share of CSAT answers scoring 4 or 5, %")
    feedback_n: int = 0
    negative_share: float | None = Field(None, description="Negative feedback items / analysed items, %")


class DeliveryExperience(BaseModel):
    """Satisfaction by delivery outcome and by how late, for a period (or all time)."""

    start: str | None
    end: str | None
    outcomes: list[OutcomeSatisfaction]
    lateness: list[OutcomeSatisfaction]


class DurationStats(BaseModel):
    """The distribution of one stage's duration: stage times are skewed, so the mean alone misleads."""

    stage: str
    start_event: str
    end_event: str
    n: int
    mean: float | None
    median: float | None
    p90: float | None
    #: Histogram: upper edges (hours) and counts; the last bin holds everything above the p99.
    bins: list[float] = Field(default_factory=list)
    counts: list[int] = Field(default_factory=list)


class RangeValue(BaseModel):
    """An indicator over any date range (all periods when no range is given)."""

    indicator: str
    start: str
    end: str
    value: float | None
    n: int
    unit: str


class PromisePoint(BaseModel):
    """One point of a route's trade-off curve: promise N days, expected on-time and late feelings."""

    days: int
    on_time: float = Field(description="Share of the route's history delivered within N days, %")
    late_orders: int
    late_rating: float | None = Field(None, description="Mean rating of the orders that would be late")


class PromiseRoute(BaseModel):
    """The promise one route can beat with the target probability (under-promise, over-deliver)."""

    warehouse: str | None
    region: str | None
    carrier: str | None
    cutoff: str = Field(description="'before' or 'after' the daily cut-off hour")
    orders: int
    basis: str = Field(description="Which history the figure rests on: route, region+carrier, carrier, all")
    recommended_days: int | None
    expected_on_time: float | None
    current_days: float | None = Field(None, description="Median promise the shop gives today, days")
    current_on_time: float | None = None
    curve: list[PromisePoint] = Field(default_factory=list)


class PromiseReport(BaseModel):
    """Recommended promises for every route seen in the window."""

    target: float
    cutoff_hour: int
    routes: list[PromiseRoute]
