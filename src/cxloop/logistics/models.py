"""Warehouses and carriers."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class Warehouse(TimestampMixin, Base):
    """A warehouse that picks, sorts and hands over orders."""

    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Carrier(TimestampMixin, Base):
    """A delivery company (快递公司)."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
