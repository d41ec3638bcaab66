"""Users who log in, their roles, and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base, TimestampMixin

#: admin; cx_manager; department_member (sees own department only); analyst (read-only).
ROLES = ("admin", "cx_manager", "department_member", "analyst")
#: What an API token may be allowed to do.
TOKEN_SCOPES = ("read", "write")


class User(TimestampMixin, Base):
    """A person who logs in to the web app or calls the API."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(32), default="analyst")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), nullable=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ApiToken(TimestampMixin, Base):
    """A bearer token for the REST API; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Space-separated: "read" allows safe methods only, "write" allows changes too.
    scopes: Mapped[str] = mapped_column(String(64), default="read write")
    #: After this moment the token is refused (None: never; only tokens made before expiry existed).
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AuthSession(TimestampMixin, Base):
    """A browser login kept on the server, so logging out (or an admin) can end it for good.

    The cookie holds only a random id; the row holds its hash. Revoking the row ends the session even
    for someone who saved the cookie.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
