"""Background jobs of the loop (names match worker.SCHEDULE); each is idempotent."""

from __future__ import annotations

from typing import Any

from cxloop.db import session_scope
from cxloop.jobs import job


@job("loop.evaluate")
def evaluate_job() -> dict[str, Any]:
    """Evaluate the alert rules over the periods not yet seen (every 15 minutes)."""
    from cxloop.loop.service import evaluate_rules

    with session_scope() as session:
        return evaluate_rules(db_session=session).as_dict()


@job("loop.tick")
def tick_job() -> dict[str, Any]:
    """Escalations, SLA clocks, follow-up reminders and outbox delivery (every minute)."""
    from cxloop.loop.service import tick

    with session_scope() as session:
        return tick(db_session=session)


@job("loop.send")
def send_job() -> dict[str, Any]:
    """Deliver the outbox now."""
    from cxloop.loop.notifications.service import deliver_pending

    report = deliver_pending()
    return {"sent": report.sent, "failed": report.failed, "retried": report.retried}


def run_loop(*, db_session: Any) -> dict[str, Any]:
    """Evaluate the rules in the caller's session (the demo's post-load step); returns counts."""
    from cxloop.loop.service import evaluate_rules

    report = evaluate_rules(db_session=db_session)
    return {
        "alerts_opened": len(report.opened),
        "alerts_resolved": len(report.resolved),
        "tasks_created": len(report.tasks),
        "errors": report.errors,
    }
