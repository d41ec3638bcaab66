"""API shapes of stored feedback and its analysis."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class FeedbackAspectRead(BaseModel):
    """An aspect mention with its sentiment and evidence span (offsets into ``text``)."""

    model_config = ConfigDict(from_attributes=True)

    aspect: str
    sentiment: str
    score: float
    start: int
    end: int


class FeedbackRead(BaseModel):
    """A stored feedback item with its latest analysis."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    channel: str
    text: str
    title: str | None
    rating: int | None
    language: str | None
    occurred_at: datetime
    order_ref: str | None
    touchpoint: str | None
    shift: str | None
    sentiment: str | None
    sentiment_score: float | None
    analysis_key: str | None
    aspects: list[FeedbackAspectRead] = []


class FeedbackPage(BaseModel):
    """One page of a feedback listing."""

    total: int
    items: list[FeedbackRead]
