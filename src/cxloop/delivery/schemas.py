"""Value objects of the delivery domain (API and service results)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class OrderRisk:
    """The early warning for one open order: how likely it misses its promise, and where.

    A frozen dataclass rather than a pydantic model: a million are built per scoring run, and
    FastAPI serialises dataclasses all the same.
    """

    order_id: int
    #: Calibrated probability (0..1) that the order misses its promise; 1.0 once the promise passed.
    probability: float
    promised_at: datetime
    expected_arrival: datetime
    #: The stage (or merged stages joined by '+') most likely to be late.
    late_stage: str
    #: The department owning ``late_stage``.
    department_id: int | None


@dataclass(frozen=True, slots=True)
class RiskGroup:
    """Orders at risk owned by one department (the at-risk page's sections)."""

    department_id: int | None
    name_zh: str
    name_en: str
    orders: list[OrderRisk]


class TrainResult(BaseModel):
    """What `cxloop delivery train-warning` trained, and how the held-out months scored."""

    path: str
    orders: int
    snapshots: int
    trained_at: datetime
    evaluation: dict[str, Any] = Field(default_factory=dict)


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


class CarrierRateIn(BaseModel):
    """One price of a carrier's table in a carriers file."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(min_length=1, max_length=64, description="Region name, or * for everywhere else")
    weight_to_kg: float = Field(gt=0, le=10_000)
    price: float = Field(ge=0, le=1_000_000)
    currency: str = Field("CNY", min_length=3, max_length=3)


class CarrierTermsIn(BaseModel):
    """One carrier in a carriers file (YAML or JSON): limits, collection times and prices."""

    model_config = ConfigDict(extra="forbid")

    carrier: str = Field(min_length=1, max_length=128, description="Carrier external id")
    name: str | None = Field(None, max_length=200)
    max_weight_kg: float | None = Field(None, gt=0)
    max_size_cm: float | None = Field(None, gt=0)
    collection_times: list[str] = Field(default_factory=list)
    rates: list[CarrierRateIn] = Field(default_factory=list)


class CarrierImportResult(BaseModel):
    """What a carriers file changed."""

    carriers: int
    created: int
    rates: int


class CarrierScore(BaseModel):
    """One carrier's scorecard (optionally in one region)."""

    carrier: str
    name: str
    region: str | None
    orders: int
    median_hours: float | None
    p90_hours: float | None
    on_time: float | None = Field(None, description="On time or early / due orders, %")
    damage_rate: float | None = None
    loss_rate: float | None = None
    mean_cost: float | None = Field(None, description="Mean price from the table for these orders")
    complaints_per_100: float | None = Field(None, description="Negative logistics mentions per 100 orders")
    covers: list[str] = Field(default_factory=list)
    max_weight_kg: float | None = None
    collection_times: list[str] = Field(default_factory=list)


class CarrierChoice(BaseModel):
    """A recommended carrier for a parcel, with each criterion's part of the score."""

    carrier: str
    name: str
    score: float
    price: float | None
    parts: dict[str, float]
    explanation_zh: str
    explanation_en: str


class CarrierRecommendation(BaseModel):
    """Carriers ranked for one parcel; excluded carriers say why."""

    region: str
    weight_kg: float
    value: float | None
    urgency: str
    weights: dict[str, float]
    ranked: list[CarrierChoice]
    excluded: dict[str, str]
