"""Pydantic shapes of the journeys API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JourneyOut(BaseModel):
    """A journey with its live figures."""

    key: str
    name_zh: str
    name_en: str
    trigger: str
    enabled: bool
    control_share: float
    version: int
    figures: dict[str, int] = Field(default_factory=dict)


class JourneyDetail(JourneyOut):
    """A journey with its YAML, compiled steps, per-step outcomes and control-group result."""

    yaml: str
    definition: dict[str, Any]
    steps: dict[int, dict[str, int]]
    control: dict[str, Any] | None


class JourneyYaml(BaseModel):
    """The YAML text of one journey (the editor's content)."""

    yaml: str


class EventIn(BaseModel):
    """An event from the shop's systems (chat, app, order system) for the journeys."""

    kind: str = Field(description="e.g. chat.awaiting_reply, chat.replied, order.paid, survey.answered")
    customer: str = Field(description="The customer's external id.")
    ref: str | None = Field(None, description="What it is about, e.g. chat:981 or order:DD123 (repeat-safe).")
    occurred_at: datetime | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class SimulateIn(BaseModel):
    """The period of a dry run."""

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class EventAccepted(BaseModel):
    """The event was recorded (or had been already: an event is stored once)."""

    accepted: bool
