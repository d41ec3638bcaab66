"""Feedback items from every channel, survey answers, and the text analysis stored for each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class FeedbackItem(TimestampMixin, Base):
    """One piece of the customer's voice: a review, chat, ticket, call note, app feedback, post or answer."""

    __tablename__ = "feedback_items"
    # Indexes are few on purpose: each one costs every import (measured: 10 indexes halve SQLite's
    # insert rate). Time-range filters use the composite; the rest serve joins and order linking.
    __table_args__ = (Index("ix_feedback_items_occurred_channel", "occurred_at", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: The source system's order id as given; ``order_id`` is filled once that order is known.
    order_ref: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), nullable=True, index=True
    )
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"), nullable=True)
    #: Journey stage the customer was at (vocab.STAGES), when the source knows it.
    touchpoint: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: For chats, tickets and calls: the agent who handled it and when they first answered.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    shift: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # Result of the latest analysis, kept on the item because every dashboard query filters on it.
    sentiment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: "<model version>|<taxonomy version>" of that analysis; items whose key differs are re-analysed.
    analysis_key: Mapped[str | None] = mapped_column(String(160), nullable=True)
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class FeedbackAspect(Base):
    """An aspect a feedback item mentions, with its own sentiment and evidence span in the original text."""

    __tablename__ = "feedback_aspects"
    __table_args__ = (
        Index("ix_feedback_aspects_occurred_aspect", "occurred_at", "aspect", "sentiment"),
        Index("ix_feedback_aspects_feedback", "feedback_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback_items.id", ondelete="CASCADE"))
    aspect: Mapped[str] = mapped_column(String(64))
    sentiment: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    # Copied from the item so the monthly Pareto is one indexed range scan.
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    brand_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))


class SurveyResponse(TimestampMixin, Base):
    """One answer to one survey question, imported or given on cxloop's survey page.

    The customer's voice, like a feedback item (an open answer is stored as one too): it lives with
    feedback, below every domain that counts answers (metrics, delivery) and the surveys that ask.
    """

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_kind_time", "kind", "responded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    survey: Mapped[str] = mapped_column(String(128), default="default")
    #: csat (1..5), nps (0..10), ces (1..7, 7 = very easy) or open (text only); answers given in cxloop
    #: also have single, multiple (choice values in ``comment``) and aspect (1..5 on one taxonomy aspect).
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
    #: Set for answers given on cxloop's own survey page (imported answers have none).
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    question: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: For aspect questions: the taxonomy aspect asked about.
    aspect: Mapped[str | None] = mapped_column(String(64), nullable=True)
