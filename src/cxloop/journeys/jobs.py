"""Background jobs of journeys (names match worker.SCHEDULE); each is idempotent and restart-safe."""

from __future__ import annotations

from typing import Any

from cxloop.jobs import job


@job("journeys.tick")
def tick_job() -> dict[str, Any]:
    """Fire every due timer, one batch per transaction (every 10 seconds)."""
    from cxloop.journeys.service import process_due

    return {"steps": process_due()}


@job("journeys.capture")
def capture_job() -> dict[str, Any]:
    """Turn newly imported orders, cart events, feedback and cases into journey events (every minute)."""
    from cxloop.journeys.service import capture_recent

    return {"events": capture_recent()}


@job("journeys.calendar")
def calendar_job() -> dict[str, Any]:
    """Start today's calendar journeys (festival greetings, quarterly NPS); re-runs start nothing twice."""
    from cxloop.clock import now
    from cxloop.db import session_scope
    from cxloop.journeys.service import calendar_events

    with session_scope() as s:
        return {"runs": calendar_events(s, day=now().date())}


@job("journeys.delivery_care")
def delivery_care_job() -> dict[str, Any]:
    """Warn customers whose open order will probably miss its promise (every 15 minutes)."""
    from cxloop.db import session_scope
    from cxloop.journeys.service import scan_late_risk

    with session_scope() as s:
        return {"warned": scan_late_risk(s)}


def run_demo_journeys(*, db_session: Any) -> dict[str, int]:
    """The demo's post-load step: the default journeys over the demo's last 30 days."""
    from cxloop.journeys.service import run_demo_history

    return run_demo_history(db_session=db_session)
