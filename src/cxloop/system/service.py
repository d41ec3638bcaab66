"""The application's own state: from when the indicators are stale.

Data sources (imports, survey answers) mark the indicators stale here; the pipeline
(``cxloop.pipeline.after_data_job``) reads the mark and catches up. The mark lives below both, so a
source never needs to import the pipeline that reads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cxloop.system.models import AppState

#: AppState key holding from when indicators are stale ({"since": iso date | None, "everything": bool}).
STALE_KEY = "pipeline.stale"


def parse_since(value: str | None) -> datetime | None:
    """The ``since`` of a stale mark as a datetime (None for none)."""
    return datetime.fromisoformat(value) if value else None


def mark_stale(*, db_session: Session, since: datetime | None, everything: bool = False) -> None:
    """Note that indicators are stale from ``since`` on; the scheduled ``pipeline.after_data`` catches up.

    Used where running the whole pipeline at once would be too slow (one JSON event at a time).
    """
    state = db_session.get(AppState, STALE_KEY)
    old_since = parse_since(state.value.get("since")) if state else None
    old_everything = bool(state.value.get("everything")) if state else False
    since = min(since, old_since) if since and old_since else since or old_since
    value = {"since": since.isoformat() if since else None, "everything": everything or old_everything}
    if state is None:
        db_session.add(AppState(key=STALE_KEY, value=value))
    else:
        state.value = value
    db_session.commit()
