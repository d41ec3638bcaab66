"""The stale mark and the in-process schedule that keep indicators current without Celery."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxloop import jobs, pipeline
from cxloop.db import get_engine
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
    now = [0.0]
    calls: list[float] = []

    @jobs.job("tests.tick")
    def tick() -> None:
        calls.append(now[0])

    @jobs.job("tests.boom")
    def boom() -> None:
        raise RuntimeError("a failing job must not stop the others")

    # A fake clock: the intervals are checked exactly, with no waiting and no timing assertion.
    scheduler = InProcessScheduler({"tests.tick": 2.0, "tests.boom": 5.0}, clock=lambda: now[0])
    due = scheduler.first_due()
    for second in range(1, 11):
        now[0] = float(second)
        scheduler.run_due(due)
    assert calls == [2.0, 4.0, 6.0, 8.0, 10.0]  # never before its interval, none skipped
    assert scheduler.runs["tests.boom"] == 2  # at 5 and 10: a failing job keeps its schedule


def test_scheduler_thread_runs_jobs_until_stopped() -> None:
    calls: list[int] = []

    @jobs.job("tests.thread_tick")
    def tick() -> None:
        calls.append(1)

    scheduler = InProcessScheduler({"tests.thread_tick": 0.01}, tick_s=0.01)
    scheduler.start()
    # Wait for runs rather than sleeping a fixed time: a loaded CI machine may start the thread late.
    deadline = time.monotonic() + 30
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    scheduler.stop()
    assert len(calls) >= 3, "the job did not run repeatedly on the thread"
    stopped_at = len(calls)
    time.sleep(0.05)
    assert len(calls) == stopped_at  # stop() ends the schedule


def test_a_mark_made_during_the_catch_up_is_kept(
    db_url: str, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.mark_stale(db_session=db_session, since=datetime(2026, 8, 5))
    real = pipeline.after_data

    def after_data_while_an_event_arrives(**kwargs: Any) -> pipeline.AfterDataReport:
        report = real(**kwargs)
        with Session(get_engine(db_url)) as other:  # a JSON event lands while the job runs
            pipeline.mark_stale(db_session=other, since=datetime(2026, 7, 1))
        return report

    monkeypatch.setattr(pipeline, "after_data", after_data_while_an_event_arrives)
    pipeline.after_data_job()
    db_session.expire_all()
    state = db_session.get(AppState, pipeline.STALE_KEY)
    assert state is not None and state.value["since"] == "2026-07-01T00:00:00"

    monkeypatch.setattr(pipeline, "after_data", real)
    pipeline.after_data_job()
    db_session.expire_all()
    assert db_session.get(AppState, pipeline.STALE_KEY) is None


def test_follow_up_import_runs_now_or_marks_stale(db_session: Session) -> None:
    @dataclass
    class Summary:
        stored: int
        earliest: datetime | None
        touches_history: bool = False

    assert pipeline.follow_up_import(db_session=db_session, summary=Summary(0, None)) is None
    pipeline.follow_up_import(db_session=db_session, summary=Summary(3, datetime(2026, 9, 2)), defer=True)
    state = db_session.get(AppState, pipeline.STALE_KEY)
    assert state is not None and state.value["since"] == "2026-09-02T00:00:00"
    report = pipeline.follow_up_import(db_session=db_session, summary=Summary(3, datetime(2026, 9, 2)))
    assert report is not None and report.refreshed_since == datetime(2026, 9, 2)
