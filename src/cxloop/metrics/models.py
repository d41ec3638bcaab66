"""Tables owned by metrics: editable targets, daily rollups, late-order causes and settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class IndicatorTarget(TimestampMixin, Base):
    """A target and amber/red thresholds for one indicator, for all scopes of a kind or one scope."""

    __tablename__ = "indicator_targets"
    __table_args__ = (
        UniqueConstraint("indicator", "scope_kind", "scope_key", name="uq_indicator_targets_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64))
    #: "all" for the whole business, else a scope kind (warehouse, carrier, shift ...).
    scope_kind: Mapped[str] = mapped_column(String(32), default="all")
    #: None applies to every scope of that kind; a key (external id/code) to one scope only.
    scope_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    target: Mapped[float] = mapped_column(Float)
    amber: Mapped[float] = mapped_column(Float)
    red: Mapped[float] = mapped_column(Float)


class MetricsDaily(Base):
    """Additive parts of every indicator per day and scope, so dashboards sum a few rows, not millions.

    Refreshed by ``cxloop.metrics.rollup.refresh``; ``component`` is e.g. ``orders``, ``on_time``,
    ``dur_sum:picking`` or ``asp_neg:packaging``; an indicator is a ratio of component sums.
    """

    __tablename__ = "metrics_daily"
    __table_args__ = (
        Index("ix_metrics_daily_lookup", "scope_kind", "component", "day", "scope_key", "value"),
        Index("ix_metrics_daily_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    scope_kind: Mapped[str] = mapped_column(String(32))
    scope_key: Mapped[str] = mapped_column(String(128), default="")
    component: Mapped[str] = mapped_column(String(96))
    value: Mapped[float] = mapped_column(Float)


class MetricsLateOrder(Base):
    """A late order of a refreshed day with the stage it is put down to (root-cause rule)."""

    __tablename__ = "metrics_late_orders"
    __table_args__ = (Index("ix_metrics_late_orders_day", "day", "stage"),)

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date)
    warehouse_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    carrier_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The stretch with the largest excess over its normal time: a stage of vocab.ORDER_STAGES, or stages
    #: merged with '+' where the order lacks the events between them (cxloop.orders.outcomes.segments).
    stage: Mapped[str] = mapped_column(String(64))
    excess_hours: Mapped[float] = mapped_column(Float)
    late_hours: Mapped[float] = mapped_column(Float)


class MetricsCustomerMonth(Base):
    """Each customer's peak and end moment in a month (peak-end rule), kept for the emotion map."""

    __tablename__ = "metrics_customer_months"
    __table_args__ = (Index("ix_metrics_customer_months_month", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(Integer)
    moments: Mapped[int] = mapped_column(Integer)
    peak_score: Mapped[float] = mapped_column(Float)
    peak_at: Mapped[datetime] = mapped_column(DateTime)
    peak_feedback_id: Mapped[int] = mapped_column(Integer)
    end_score: Mapped[float] = mapped_column(Float)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    end_feedback_id: Mapped[int] = mapped_column(Integer)


class MetricsSetting(TimestampMixin, Base):
    """A small setting of the metrics domain (e.g. ``stage_weights``) as JSON."""

    __tablename__ = "metrics_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
