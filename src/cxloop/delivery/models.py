"""Carrier terms for carrier choice: limits, collection times and the price table by weight and region."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class CarrierProfile(TimestampMixin, Base):
    """What a carrier accepts and when it collects (imported from a carriers file)."""

    __tablename__ = "carrier_profiles"

    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"), primary_key=True)
    max_weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Longest side plus girth is not in exports; the largest single side in cm is what carriers quote.
    max_size_cm: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Daily collection times at the warehouse, "HH:MM" strings.
    collection_times: Mapped[Any] = mapped_column(JSON, default=list)


class CarrierRate(Base):
    """One price of the table: a carrier's price to a region for parcels up to a weight.

    The regions a carrier has rates for are its coverage; region "*" covers everywhere else.
    """

    __tablename__ = "carrier_rates"
    __table_args__ = (
        UniqueConstraint(
            "carrier_id", "region", "weight_to_kg", name="uq_carrier_rates_carrier_region_weight"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(64))
    weight_to_kg: Mapped[float] = mapped_column(Float)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
