"""The stale mark and the in-process schedule that keep indicators current without Celery."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy.orm import Session

from cxloop import jobs, pipeline
from cxloop.scheduler import InProcessScheduler
from cxloop.system.models import AppState


def test_mark_stale_keeps_the_earliest_date(db_session: Session) -> None:
    pipeline.mark_stale(db_session=db_session, since=datetime(2026, 8, 5))
    pipeline.mark_stale(db_session=db_session, since=datetime(2026, 7, 9))
    pipeline.mark_stale(db_session=db_session, since=datetime(2026, 9, 1))
    state = db_session.get(AppState, pipeline.STALE_KEY)
    assert state is not None
    assert state.value == {"since": "2026-07-09T00:00:00", "everything": False}
    pipeline.mark_stale(db_session=db_session, since=None, everything=True)
    db_session.refresh(state)
    assert state.value["everything"] is True and state.value["since"] == "2026-07-09T00:00:00"


def test_scheduler_runs_each_job_at_its_interval() -> None:
    calls: list[float] = []

    @jobs.job("tests.tick")
    def tick() -> None:
        calls.append(time.monotonic())

    @jobs.job("tests.boom")
    def boom() -> None:
        raise RuntimeError("a failing job must not stop the others")

    scheduler = InProcessScheduler({"tests.tick": 0.1, "tests.boom": 0.1}, tick_s=0.02)
    scheduler.start()
    time.sleep(0.6)
    scheduler.stop()
    assert 3 <= len(calls) <= 7
    assert scheduler.runs["tests.boom"] >= 3
