"""Brands (own and competitors), suppliers and products."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class Brand(TimestampMixin, Base):
    """A brand; ``is_own`` is false for competitors whose feedback is imported for comparison."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_own: Mapped[bool] = mapped_column(Boolean, default=True)


class Supplier(TimestampMixin, Base):
    """A supplier of products (scope for quality indicators)."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Product(TimestampMixin, Base):
    """A product (SKU) with its category, supplier and brand."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    brand_id: Mapped[int | None] = mapped_column(
        ForeignKey("brands.id", ondelete="SET NULL"), nullable=True, index=True
    )
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
