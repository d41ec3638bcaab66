"""The customer outbox: every message decided for a customer, sent, skipped or failed, is one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base

#: Life of a message: queued -> sending -> sent | failed; skipped never leaves the building;
#: ``unknown`` is a lease that ran out while a provider may have accepted it (a person decides).
MESSAGE_STATUSES = ("queued", "sending", "sent", "failed", "skipped", "unknown")
CHANNELS = ("sms", "email", "webhook")
PURPOSES = ("service", "marketing")


class CustomerMessage(Base):
    """One message to one customer, written in the transaction of the decision that caused it."""

    __tablename__ = "customer_messages"
    __table_args__ = (
        Index("ix_customer_messages_due", "status", "next_attempt_at"),
        Index("ix_customer_messages_customer_created", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    #: One decision, one row: a second call with the same key returns this row and sends nothing.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    template: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    #: The template variables, for SMS providers whose registered template takes them one by one.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    #: Why it was skipped (no_consent, unsubscribed, frequency_cap, open_case, no_contact, ...) or
    #: deferred (quiet_hours); the history shows it.
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempt_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
