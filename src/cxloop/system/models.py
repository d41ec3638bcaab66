"""Small pieces of state the application keeps about itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin


class AppState(TimestampMixin, Base):
    """A named value (e.g. from when indicators are stale) shared by the web server and workers."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
