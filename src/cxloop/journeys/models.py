"""Journeys, the events they start on or wait for, each customer's run through one, and its timers.

Timers are rows: a restart of the server or a worker loses no waiting step. A due timer is processed
in the same transaction as every effect of the steps it releases (messages go to the outbox, tasks and
tags are rows), so a worker killed mid-step leaves the timer pending and the step runs again whole,
exactly once, on the next tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.db import Base

RUN_STATUSES = ("active", "waiting", "done", "exited", "control", "error")


class Journey(Base):
    """A journey definition: its YAML source and the checked, compiled form the engine runs."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(64), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    control_share: Mapped[float] = mapped_column(Float, default=0.0)
    #: The checked definition (trigger, steps compiled to instructions, exits, goal).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_yaml: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class JourneyEvent(Base):
    """Something that happened to a customer (order paid, cart added, survey answered, ...)."""

    __tablename__ = "journey_events"
    __table_args__ = (
        Index("ix_journey_events_customer_kind", "customer_id", "kind", "occurred_at"),
        Index("ix_journey_events_ref_kind", "ref", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=True
    )
    ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: kind + ref (or a fresh id when there is no ref): one event is recorded once, however often sent.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime)


class JourneyRun(Base):
    """One customer's way through one journey, from its trigger to done, exit or hold-out."""

    __tablename__ = "journey_runs"
    __table_args__ = (
        UniqueConstraint("journey_key", "entry_key", name="uq_journey_runs_entry"),
        Index("ix_journey_runs_journey_status", "journey_key", "status"),
        Index("ix_journey_runs_customer", "customer_id", "journey_key", "entered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_key: Mapped[str] = mapped_column(String(64))
    #: What made this an entry of its own (the trigger's ref, or customer + day): re-runs never duplicate.
    entry_key: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Index of the next instruction to run.
    position: Mapped[int] = mapped_column(Integer, default=0)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entered_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class JourneyTimer(Base):
    """A waiting step: due at a time, or earlier when the awaited event arrives."""

    __tablename__ = "journey_timers"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_journey_timers_run_position"),
        Index("ix_journey_timers_due", "status", "due_at"),
        Index("ix_journey_timers_wait", "status", "wait_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id", ondelete="CASCADE"))
    #: The instruction the run continues at when the timer fires.
    position: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    wait_event: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wait_match: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fired_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class JourneyStep(Base):
    """What one action step of a run did (the journey page and the exactly-once check read it)."""

    __tablename__ = "journey_steps"
    __table_args__ = (UniqueConstraint("run_id", "position", name="uq_journey_steps_run_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id", ondelete="CASCADE"), index=True)
    journey_key: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)
