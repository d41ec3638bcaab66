"""Departments and the people in them."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class Department(TimestampMixin, Base):
    """A department that owns indicators, aspects and tasks (code from vocab.DEPARTMENTS)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # No foreign key: departments and people point at each other, and a cycle of constraints makes
    # SQLite's batch migrations and bulk loads order-dependent. The service keeps it consistent.
    head_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Person(TimestampMixin, Base):
    """A member of staff: task assignee, case handler, customer-service agent."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: Work shift (e.g. 早班/晚班/night) for customer-service agents; scopes response-time indicators.
    shift: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
