"""Surveys: their definitions, the invitations sent to customers, and the answers (CSAT, NPS, CES, open)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin

#: Where an invitation stands. ``skipped`` rows keep why a customer was not asked (fatigue, open case).
INVITATION_STATUSES = ("sent", "opened", "partial", "answered", "skipped")


class Survey(TimestampMixin, Base):
    """A survey definition: its questions, skip logic and texts in zh and en, kept as validated JSON.

    The definition is one document (``cxloop.surveys.schemas.SurveyDefinition``) rather than a table of
    questions: it is written and read whole (YAML file, editor), and answers are checked against it.
    """

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Raised on every change; an answer records the version it was given against.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(128), default="system")


class SurveyInvitation(TimestampMixin, Base):
    """One customer asked once (or one anonymous respondent): the link's nonce, progress and outcome."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        Index("ix_survey_invitations_customer_sent", "customer_id", "sent_at"),
        Index("ix_survey_invitations_survey_sent", "survey_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    #: The random part of the signed link; unique, so one link is one answer.
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), nullable=True)
    #: What caused it: after_delivery, case_closed, after_chat, relationship, manual, anonymous, qr.
    trigger: Mapped[str] = mapped_column(String(32))
    #: Channel the invitation went out on (sms, email, wechat, ...; "link" for anonymous ones).
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: The customer's tier when asked (the non-response check compares respondents with the asked).
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    skip_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: Indexed: the journeys' capture job looks up the answers of the last minutes every minute.
    answered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    #: Answers saved so far while the customer is still answering (question id -> value).
    partial: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The detractor-recovery case an answer opened.
    recovery_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    )
    feedback_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_items.id", ondelete="SET NULL"), nullable=True
    )
    #: The answer's outbox: set in the answer's own transaction, cleared by the ``surveys.follow_up``
    #: job in the transaction that opens the recovery case, so each answer is followed up exactly once
    #: and none is lost when a process dies between the two.
    follow_up_pending: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false"), index=True
    )
