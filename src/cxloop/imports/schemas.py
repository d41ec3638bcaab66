"""Pydantic models of the import API: JSON feedback and events in, summaries and runs out.

The models only check shapes and types (a wrong type is a 422 naming the field); the values then go
through the same converters, reference handling and upsert as an imported file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_ID = Field(min_length=1, max_length=128)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    def as_row(self) -> dict[str, Any]:
        """The fields the client sent, as an import row (unsent fields leave stored values alone)."""
        return self.model_dump(exclude_unset=True)


class FeedbackIn(_In):
    """One feedback item; ``channel`` accepts the codes and their Chinese names (评价, 在线客服, ...)."""

    id: str = _ID
    channel: str = Field(min_length=1, max_length=16)
    text: str | None = None
    title: str | None = Field(default=None, max_length=500)
    rating: int | None = Field(default=None, ge=1, le=5)
    language: str | None = Field(default=None, max_length=8)
    occurred_at: datetime
    customer: str | None = Field(default=None, max_length=128)
    order: str | None = Field(default=None, max_length=128)
    product: str | None = Field(default=None, max_length=128)
    brand: str | None = Field(default=None, max_length=128)
    touchpoint: str | None = Field(default=None, max_length=32)
    agent: str | None = Field(default=None, max_length=128)
    shift: str | None = Field(default=None, max_length=64)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    author: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=1000)


class OrderEventIn(_In):
    """One event on an order's timeline; the order must have been imported."""

    order: str = _ID
    kind: str = Field(min_length=1, max_length=32)
    occurred_at: datetime
    id: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)


class CustomerEventIn(_In):
    """One browse or cart event."""

    id: str = _ID
    kind: str = Field(min_length=1, max_length=32)
    occurred_at: datetime
    customer: str | None = Field(default=None, max_length=128)
    product: str | None = Field(default=None, max_length=128)
    quantity: int | None = Field(default=None, ge=0)
    page: str | None = Field(default=None, max_length=300)
    load_ms: int | None = Field(default=None, ge=0)
    session_id: str | None = Field(default=None, max_length=128)


class RowError(BaseModel):
    """One problem with one row."""

    row: int
    column: str | None = None
    field: str | None = None
    value: Any = None
    expected: str | None = None
    message: str
    message_zh: str


class Message(BaseModel):
    """A note in English and Chinese."""

    message: str
    message_zh: str


class ImportSummaryOut(BaseModel):
    """The result of an import (or of a queued one: status queued and no counts yet)."""

    run_id: int | None
    kind: str
    source: str
    status: str = "done"
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = Field(default_factory=list)
    rejects_url: str | None = None
    elapsed_s: float | None = None
    #: Doubts that did not stop the import (a guessed text encoding).
    warnings: list[Message] = Field(default_factory=list)
    #: Why a failed or stale run stopped.
    message: str | None = None


class ImportRunOut(BaseModel):
    """An import run as listed in the UI."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    source: str
    status: str
    rows_total: int
    inserted: int
    updated: int
    rejected: int
    error: str | None = None
    rejects_url: str | None = None
    warnings: list[Message] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_at: datetime | None = None
