"""Background jobs of the delivery domain."""

from __future__ import annotations

from typing import Any

from cxloop.db import session_scope
from cxloop.delivery import service
from cxloop.jobs import job


@job("delivery.train_warning")
def train_warning_job(holdout_days: int = 30) -> dict[str, Any]:
    """Retrain the early-warning model on the latest history (weekly, or after a large import)."""
    with session_scope() as session:
        result = service.train_warning(db_session=session, holdout_days=holdout_days)
    return result.model_dump(mode="json")
