"""What happens after data arrives: analyse new feedback, refresh the indicators, evaluate the loop.

Imports (CLI, upload job), the demo and the periodic schedule all call ``after_data``, so the
dashboard and the alert rules see new data the same way whichever door it came through.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.db import session_scope
from cxloop.jobs import job
from cxloop.system.models import AppState

#: AppState key holding from when indicators are stale ({"since": iso date | None, "everything": bool}).
STALE_KEY = "pipeline.stale"


@dataclass
class AfterDataReport:
    """What ``after_data`` did, step by step."""

    analysed: int = 0
    refreshed_since: datetime | None = None
    refreshed_all: bool = False
    loop: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "analysed": self.analysed,
            "refreshed_since": self.refreshed_since.isoformat() if self.refreshed_since else None,
            "refreshed_all": self.refreshed_all,
            "loop": self.loop,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def after_data(
    *,
    db_session: Session,
    since: datetime | None = None,
    everything: bool = False,
    analyse: bool = True,
    evaluate: bool = True,
    progress: Callable[[int], None] | None = None,
) -> AfterDataReport:
    """Bring analysis, indicators and alerts up to date after new data from ``since`` on.

    ``everything`` recomputes all of history (a dimension such as a product's supplier changed).
    With neither, only feedback analysis runs and the indicators are refreshed from what it analysed.
    """
    report = AfterDataReport()
    started = time.perf_counter()
    if analyse:
        from cxloop.feedback.service import analyse_pending

        run = analyse_pending(db_session=db_session, progress=progress)
        report.analysed = run.analysed
        if run.earliest is not None and (since is None or run.earliest < since):
            since = run.earliest
        report.seconds["analyse"] = time.perf_counter() - started
    from cxloop.loop import service as loop
    from cxloop.metrics import rollup

    if everything or since is not None:
        step = time.perf_counter()
        rollup.refresh(db_session=db_session, since=None if everything else since)
        report.refreshed_all = everything
        report.refreshed_since = None if everything else since
        report.seconds["refresh"] = time.perf_counter() - step
    if evaluate:
        step = time.perf_counter()
        report.loop = loop.after_import(db_session=db_session).as_dict()
        report.seconds["loop"] = time.perf_counter() - step
    db_session.commit()
    return report


class StoredData(Protocol):
    """What an import reports about the rows it stored (``imports.service.ImportSummary``)."""

    @property
    def stored(self) -> int: ...

    earliest: datetime | None
    touches_history: bool


def follow_up_import(
    *,
    db_session: Session,
    summary: StoredData,
    defer: bool = False,
    progress: Callable[[int], None] | None = None,
) -> AfterDataReport | None:
    """What follows every import, whichever door it came through: the pipeline now, or later.

    ``defer`` only marks the indicators stale (JSON events arrive one at a time, too few to
    recompute for); the scheduled ``pipeline.after_data`` job then catches up.
    """
    if not summary.stored:
        return None
    if summary.earliest is None and not summary.touches_history:
        # Only dimensions changed that no indicator history reads (a department's name, a new
        # warehouse): there is nothing to analyse, refresh or re-evaluate. Proportional work.
        return None
    if defer:
        mark_stale(db_session=db_session, since=summary.earliest, everything=summary.touches_history)
        return None
    return after_data(
        db_session=db_session, since=summary.earliest, everything=summary.touches_history, progress=progress
    )


def mark_stale(*, db_session: Session, since: datetime | None, everything: bool = False) -> None:
    """Note that indicators are stale from ``since`` on; the scheduled ``pipeline.after_data`` catches up.

    Used where running the whole pipeline at once would be too slow (one JSON event at a time).
    """
    state = db_session.get(AppState, STALE_KEY)
    old_since = _parse(state.value.get("since")) if state else None
    old_everything = bool(state.value.get("everything")) if state else False
    since = min(since, old_since) if since and old_since else since or old_since
    value = {"since": since.isoformat() if since else None, "everything": everything or old_everything}
    if state is None:
        db_session.add(AppState(key=STALE_KEY, value=value))
    else:
        state.value = value
    db_session.commit()


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@job("pipeline.mark_stale")
def mark_stale_job(*, since: str | None = None, everything: bool = False) -> dict[str, Any]:
    """``mark_stale`` for domains below the pipeline (survey answers), which call it by the job's name."""
    with session_scope() as session:
        mark_stale(db_session=session, since=_parse(since), everything=everything)
    return {"since": since, "everything": everything}


@job("pipeline.after_data")
def after_data_job() -> dict[str, Any]:
    """Scheduled catch-up: analyse pending feedback, refresh from the stale mark, evaluate the rules."""
    with session_scope() as session:
        state = session.get(AppState, STALE_KEY)
        since = _parse(state.value.get("since")) if state else None
        everything = bool(state.value.get("everything")) if state else False
        taken = dict(state.value) if state is not None else None
        report = after_data(db_session=session, since=since, everything=everything)
        # Cleared only after success (a crash leaves the mark for the next run), and only if no newer
        # event moved it meanwhile: that one is left for the next run rather than lost.
        current = session.scalar(
            select(AppState)
            .where(AppState.key == STALE_KEY)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if current is not None and current.value == taken:
            session.delete(current)
        return report.as_dict()
