"""What the two outboxes share: the staff notifications (cxloop.loop.notifications) and the messages
to customers (cxloop.messaging) are claimed, sent and retried the same way."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.sql.elements import ColumnElement

from cxloop.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What one ``deliver_pending`` run of either outbox did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data."""
        return {"sent": self.sent, "failed": self.failed, "retried": self.retried, "errors": self.errors[:20]}


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff after ``attempts`` tries, capped, so a channel that is down is not hammered."""
    return float(min(base * 2 ** (attempts - 1), cap))


def claim(
    url: str | None, table: Any, message_id: int, claimable: ColumnElement[bool], locked_until: datetime
) -> str | None:
    """Claim one due message for sending, in its own transaction; its attempt token, or None when taken.

    The update re-checks ``claimable``, so of two workers that listed the same message only one wins;
    the token then guards every later mark of this attempt.
    """
    token = uuid.uuid4().hex
    with session_scope(url) as s:
        claimed = cast(
            CursorResult[Any],
            s.execute(
                update(table)
                .where(table.id == message_id, claimable)
                .values(
                    status="sending",
                    attempt_token=token,
                    locked_until=locked_until,
                    attempts=table.attempts + 1,
                )
            ),
        ).rowcount
    return token if claimed == 1 else None


def mark_sent(
    url: str | None, table: Any, message_id: int, token: str, sent_at: datetime, **values: Any
) -> None:
    """Mark a claimed message sent (with any extra columns), unless another attempt has claimed it since."""
    with session_scope(url) as s:
        s.execute(
            update(table)
            .where(table.id == message_id, table.attempt_token == token)
            .values(status="sent", sent_at=sent_at, locked_until=None, last_error=None, **values)
        )


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
    report: DeliveryReport,
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
