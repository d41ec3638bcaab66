"""The stale mark and the in-process schedule that keep indicators current without Celery."""

from __future__ import annotations

import time
from datetime import datetime
from itertools import pairwise

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
    started = time.monotonic()
    scheduler.start()
    # Wait for runs rather than sleeping a fixed time: a loaded CI machine may start the thread late.
    deadline = started + 10
    while (len(calls) < 3 or scheduler.runs.get("tests.boom", 0) < 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    scheduler.stop()
    elapsed = time.monotonic() - started
    assert len(calls) >= 3, "the job did not run repeatedly"
    assert scheduler.runs["tests.boom"] >= 3  # a failing job neither stops itself nor the others
    # Never faster than its interval: at most one run per 0.1 s since start (first run after 0.1 s).
    assert len(calls) <= elapsed / 0.1 + 1
    gaps = [b - a for a, b in pairwise(calls)]
    assert min(gaps) >= 0.09
