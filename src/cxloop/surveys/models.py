"""Survey responses (CSAT, NPS, CES, open questions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class SurveyResponse(TimestampMixin, Base):
    """One answer to one survey question; an open answer is also stored as a feedback item."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_kind_time", "kind", "responded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    survey: Mapped[str] = mapped_column(String(128), default="default")
    #: csat (1..5), nps (0..10), ces (1..7) or open (text only).
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    responded_at: Mapped[datetime] = mapped_column(DateTime)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    order_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True
    )
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"), nullable=True)
    touchpoint: Mapped[str | None] = mapped_column(String(32), nullable=True)
    feedback_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_items.id", ondelete="SET NULL"), nullable=True
    )
