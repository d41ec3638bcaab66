"""Pydantic shapes of the messaging API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MessageOut(BaseModel):
    """One customer message as the API shows it (sent, queued, skipped with reason, failed)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    template: str
    purpose: str
    source: str
    channel: str | None
    locale: str
    status: str
    reason: str | None
    subject: str
    body: str
    attempts: int
    last_error: str | None
    case_id: int | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


class SendIn(BaseModel):
    """A message staff send to one customer by hand (same rules as automatic ones)."""

    customer: str = Field(description="The customer's external id.")
    template: str
    context: dict[str, Any] = Field(default_factory=dict)
    purpose: Literal["service", "marketing"] = "service"
    channel: Literal["sms", "email", "webhook"] | None = None
    case_id: int | None = None
    dedupe_key: str | None = Field(None, description="Repeat-safe key; default: a fresh one per call.")


class PreviewIn(BaseModel):
    """Render a template on sample data, optionally overriding some variables."""

    template: str
    locale: Literal["zh", "en"] = "zh"
    context: dict[str, Any] = Field(default_factory=dict)


class TemplateOut(BaseModel):
    """A registered template and where it is defined."""

    key: str
    purpose: str
    variables: list[str]
    file: str
    line: int


class InboundSmsIn(BaseModel):
    """A customer's SMS reply forwarded by the provider or the shop (「T」 unsubscribes)."""

    phone: str
    text: str


class InboundSmsOut(BaseModel):
    """What a forwarded SMS reply did."""

    unsubscribed: int = Field(description="Customers with that number unsubscribed from marketing.")


class DeliveryOut(BaseModel):
    """What one delivery run did."""

    sent: int
    failed: int
    retried: int
    errors: list[str] = Field(description="The first errors, '#<message id>: <error>'.")
