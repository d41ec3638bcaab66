"""API shapes of accounts: users and API tokens, in and out (never a password hash or a token's hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cxloop.auth import service
from cxloop.auth.models import ROLES, TOKEN_SCOPES


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None = None
    email: str | None = None
    role: str
    department: str | None = Field(None, description="Department code for department members.")
    locale: str | None = None
    active: bool
    last_login_at: datetime | None = None
    person: str | None = Field(None, description="External id of the linked staff record (notifications).")


class TokenOut(BaseModel):
    """An API token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool
    scopes: list[str] = Field(description="'read' (safe methods only) and/or 'write'.")
    expires_at: datetime | None = None

    @field_validator("scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        # Stored as one space-separated string (ApiToken.scopes).
        return (value or "").split() if value is None or isinstance(value, str) else value


class NewTokenOut(TokenOut):
    """A token just created: ``token`` is shown this once and cannot be retrieved later."""

    token: str


class TokenCreate(BaseModel):
    """A new token of the calling user: a label, what it may do and how long it lives."""

    name: str = Field(
        "api", max_length=200, description="A label for the token, e.g. the script that uses it."
    )
    scopes: list[str] = Field(default_factory=lambda: list(TOKEN_SCOPES), description="read and/or write")
    expires_days: int = Field(
        service.TOKEN_DEFAULT_DAYS, ge=1, le=service.TOKEN_MAX_DAYS, description="Days until it expires."
    )


class TokenRequest(TokenCreate):
    """Username and password exchanged for a new API token."""

    username: str
    password: str


class UserCreate(BaseModel):
    """A new user."""

    username: str
    password: str = Field(min_length=service.MIN_PASSWORD_LEN)
    role: str = Field("analyst", description=f"One of {', '.join(ROLES)}.")
    department: str | None = None
    display_name: str | None = None
    email: str | None = None
    locale: str | None = None
    person: str | None = Field(None, description="External id of a staff record to link (default: by email).")


class UserUpdate(BaseModel):
    """Changes to a user; fields left out stay as they are."""

    role: str | None = None
    department: str | None = Field(None, description="Department code; an empty string clears it.")
    display_name: str | None = None
    email: str | None = None
    active: bool | None = None
    locale: str | None = None
    person: str | None = Field(None, description="External id of a staff record; an empty string unlinks.")
    password: str | None = Field(None, min_length=service.MIN_PASSWORD_LEN)
