"""Background jobs of the feedback domain."""

from __future__ import annotations

from cxloop.db import session_scope
from cxloop.feedback.service import analyse_pending
from cxloop.jobs import job


@job("feedback.analyse_pending")
def analyse_pending_job() -> int:
    """Analyse every item without a current analysis; returns how many were analysed."""
    with session_scope() as session:
        return analyse_pending(db_session=session).analysed
