"""Customers, and what they do on the shop before an order (browse and cart events)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class Customer(TimestampMixin, Base):
    """A customer profile (客户档案): contacts, tier, preferred channel, consent, region."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    wechat: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tier: Mapped[str] = mapped_column(String(16), default="new", index=True)
    preferred_channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    city: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_seen_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: Language of messages to this customer (zh/en); empty means the shop's default locale.
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    #: When the customer unsubscribed from marketing (link or 回T reply); service messages still go.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: The staff member who owns the relationship (follow-up calls for high-value customers).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)


class CustomerTag(Base):
    """A label on a customer (set by staff or by a journey's ``tag`` action)."""

    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag", name="uq_customer_tags_customer_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(128), default="staff")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CustomerEvent(Base):
    """A browse or cart event (view, search, add_to_cart, remove_from_cart, checkout)."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_kind_occurred", "kind", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=True, index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    page: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: Page load time in milliseconds (the IT department's page-speed KPI).
    load_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
