"""What the two outboxes share: the staff notifications (cxloop.loop.notifications) and the messages
to customers (cxloop.messaging) are claimed, sent and retried the same way."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update

from cxloop.db import session_scope

log = logging.getLogger(__name__)


class FailureCounts(Protocol):
    """The part of a delivery report a failed attempt updates."""

    errors: list[str]
    failed: int
    retried: int


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff after ``attempts`` tries, capped, so a channel that is down is not hammered."""
    return float(min(base * 2 ** (attempts - 1), cap))


def record_failure(
    url: str | None,
    table: Any,
    message_id: int,
    token: str,
    exc: Exception,
    *,
    final: bool,
    retry_status: str,
    next_attempt_at: datetime,
    report: FailureCounts,
    what: str,
    attempts: int,
) -> None:
    """Mark one claimed message failed for good or back in the queue, in its own transaction.

    The claim's ``attempt_token`` guards the update: a message another sender claimed since is left alone.
    """
    error = f"{type(exc).__name__}: {exc}"[:2000]
    with session_scope(url) as s:
        s.execute(
            update(table)
            .where(table.id == message_id, table.attempt_token == token)
            .values(
                status="failed" if final else retry_status,
                next_attempt_at=next_attempt_at,
                locked_until=None,
                last_error=error,
            )
        )
    log.warning("%s %s failed (attempt %s): %s", what, message_id, attempts, error)
    report.errors.append(f"#{message_id}: {error}")
    if final:
        report.failed += 1
    else:
        report.retried += 1
