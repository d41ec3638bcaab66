"""Pydantic response models of the metrics service and API (the service returns these directly)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class IndicatorDef(BaseModel):
    """An indicator of the registry."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    direction: str = Field(description="higher_better or lower_better")
    owner: str = Field(description="Owning department code")
    group: str
    scale: str = Field(description="The range the value lives on, in words (e.g. '1–7, 7 = very easy')")
    base_zh: str = Field(description="What one unit of the denominator is (zh)")
    base_en: str = Field(description="What one unit of the denominator is (en)")
    min_n: int = Field(description="Smallest denominator a status may rest on; below it: insufficient")
    scopes: list[str]
    target: float
    amber: float
    red: float
    evidence: list[str] = Field(description="Aspects whose negative mentions are the evidence behind it")
    scorecard: bool = Field(description="Whether department scorecards judge the owner by it")
    description: str
    description_zh: str


class IndicatorValue(BaseModel):
    """An indicator's value for one period and scope, with its target and green/amber/red status."""

    indicator: str
    name: str
    unit: str
    direction: str
    owner: str
    period: str
    scope: str | None = None
    value: float | None
    n: int = Field(description="How many orders/answers/items the value rests on (the denominator)")
    min_n: int = Field(description="The indicator's minimum sample for a status")
    target: float
    amber: float
    red: float
    status: str = Field(description="green, amber, red, insufficient (n < min_n) or grey (no data)")
    previous: float | None = None
    previous_status: str | None = None
    change: float | None = None


class SeriesPoint(BaseModel):
    """One period of a series."""

    period: str
    start: date
    value: float | None
    n: int
    status: str


class BreakdownRow(BaseModel):
    """The value of an indicator for one scope key (a warehouse, a carrier, a shift ...)."""

    key: str
    label: str
    value: float | None
    n: int
    target: float
    status: str
    previous: float | None = None


class ParetoItem(BaseModel):
    """One bar of the monthly complaint Pareto."""

    aspect: str
    name_zh: str
    name_en: str
    department: str
    stage: str
    count: int
    share: float
    cumulative_share: float
    previous_count: int
    change: int
    change_pct: float | None
    focus: bool


class Pareto(BaseModel):
    """Complaints of a month by aspect, worst first, with the focus items marked.

    A bar counts distinct feedback items with a negative mention of its aspect (an item naming it
    three times counts once); ``total`` counts distinct complaint items, so an item about two aspects
    is one complaint in ``total`` and one in each of the two bars (``bars_total``).
    """

    month: str
    previous_month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    brand: str | None
    total: int = Field(description="Distinct feedback items with at least one negative aspect")
    bars_total: int = Field(description="Sum of the bars (item × aspect); shares are of this")
    previous_total: int
    items: list[ParetoItem]
    focus: list[str]


class ComplaintItem(BaseModel):
    """A complaint behind a Pareto bar, with the evidence span in its text."""

    feedback_id: int
    external_id: str
    occurred_at: datetime
    channel: str
    text: str
    rating: int | None
    start: int
    end: int
    evidence: str
    aspect: str | None = None
    order: str | None
    product: str | None


class ComplaintPage(BaseModel):
    """One page of the complaints behind a Pareto bar."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    aspect: str
    total: int
    limit: int
    offset: int
    items: list[ComplaintItem]


class CauseRow(BaseModel):
    """Late orders put down to one stage (optionally at one warehouse or carrier)."""

    stage: str
    department: str
    scope_kind: str | None = None
    key: str | None = None
    label: str | None = None
    late_orders: int
    share: float = Field(description="Share of all late orders of the month, %")
    rate: float | None = Field(None, description="Late orders of this row / all orders of that scope, %")
    mean_excess_hours: float | None = None


class ComplaintCause(BaseModel):
    """ "Not received on time" complaints linked to the stage and department that made the order late."""

    stage: str
    department: str
    complaints: int
    share: float


class RootCause(BaseModel):
    """Root-cause decomposition of a month's late orders and late-delivery complaints."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    orders: int
    late_orders: int
    late_rate: float | None
    by_stage: list[CauseRow]
    by_scope: list[CauseRow]
    findings: list[CauseRow]
    complaints_total: int
    complaints: list[ComplaintCause]


class StageEmotion(BaseModel):
    """How customers felt at one journey stage."""

    stage: str
    mentions: int
    negative_share: float | None
    positive_share: float | None
    score: float | None = Field(description="Mean P(positive), 0..1")
    weight: float


class PeakEnd(BaseModel):
    """Peak-end summary over the customers with feedback in the month."""

    customers: int
    peak_negative_share: float | None
    end_negative_share: float | None
    peak_positive_share: float | None
    end_positive_share: float | None
    mean_peak_end_score: float | None


class EmotionMap(BaseModel):
    """Sentiment along the journey, the weighted overall score and the peak-end summary."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    stages: list[StageEmotion]
    weights: dict[str, float]
    overall_score: float | None
    peak_end: PeakEnd


class Moment(BaseModel):
    """One feedback moment of a customer."""

    feedback_id: int
    occurred_at: datetime
    channel: str
    stage: str | None
    sentiment: str | None
    score: float | None
    text: str


class CustomerJourney(BaseModel):
    """A customer's moments in time order with the peak and end moments marked."""

    customer: str
    moments: list[Moment]
    peak: Moment | None
    end: Moment | None
    peak_end_score: float | None


class ScorecardIndicator(BaseModel):
    """An indicator on a department scorecard with its last six months."""

    code: str
    name: str
    unit: str
    direction: str
    value: float | None
    n: int
    min_n: int
    target: float
    status: str
    previous: float | None
    trend: list[SeriesPoint]


class Scorecard(BaseModel):
    """A department's indicators, trend and overall score for the monthly review."""

    department: str
    name_zh: str
    name_en: str
    score: float | None = Field(
        description="0..100: green 100, amber 50, red 0 points, averaged over indicators with enough data"
    )
    status: str
    indicators: list[ScorecardIndicator]


class Scorecards(BaseModel):
    """Every department's scorecard for a month."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    departments: list[Scorecard]


class CompetitorCell(BaseModel):
    """One brand's mentions of one aspect."""

    brand: str
    label: str
    own: bool
    mentions: int = Field(description="Feedback items mentioning the aspect (each item once)")
    negative_share: float | None = Field(description="None below the minimum sample (too few mentions)")
    enough: bool = Field(True, description="mentions reach the aspect indicator's minimum sample")


class CompetitorRow(BaseModel):
    """Own brands against each competitor brand for one aspect."""

    aspect: str
    name_zh: str
    name_en: str
    cells: list[CompetitorCell]


class Competitors(BaseModel):
    """Competitor comparison per aspect for a month (empty when no competitor feedback exists)."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    brands: list[str]
    rows: list[CompetitorRow]


class Overview(BaseModel):
    """The first screen of the month: key indicators, what turned red and the focus complaints."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    previous_month: str
    indicators: list[IndicatorValue]
    red: list[str]
    pareto: Pareto
    late_rate: float | None
    emotion_score: float | None


class TargetIn(BaseModel):
    """A target to set for an indicator (all scopes, a scope kind, or one scope)."""

    indicator: str
    scope_kind: str = "all"
    scope_key: str | None = None
    target: float
    amber: float
    red: float


class TargetOut(TargetIn):
    """A stored target (``source`` is 'table' for an edited one, 'default' for the registry's)."""

    source: str = "table"


class MonthChoice(BaseModel):
    """A month of the month picker."""

    month: str
    month_to_date: bool = Field(description="The month has not ended yet (本月至今)")


class IndicatorTable(BaseModel):
    """Every indicator of the registry for one month (the registry page, the report, the API)."""

    month: str
    month_to_date: bool = Field(False, description="The month has not ended yet (本月至今)")
    indicators: list[IndicatorValue]


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


class RangeValue(BaseModel):
    """An indicator over any date range (all periods when no range is given)."""

    indicator: str
    start: str
    end: str
    value: float | None
    n: int
    unit: str
