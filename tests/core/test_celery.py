"""Background work on a real Celery worker against the local Redis: an import runs through it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from cxloop import jobs, worker
from cxloop.config import get_settings
from cxloop.db import Base, dispose_engines
from cxloop.feedback.models import FeedbackItem
from cxloop.imports.models import ImportRun
from tests.conftest import REDIS_URL, require_redis

pytestmark = pytest.mark.redis

CSV = "id,channel,text,occurred_at,rating\n" + "".join(
    f"C{i},review,第{i}条评价：物流很快，质量不错,2026-08-0{1 + i % 9} 10:00,5\n" for i in range(40)
)


def test_import_runs_on_a_real_celery_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_redis()
    db_url = f"sqlite:///{tmp_path / 'celery.db'}"
    engine = create_engine(db_url)
    Base.metadata.create_all(engine)
    queue = f"cxloop-test-{uuid.uuid4().hex[:8]}"  # never meets another run's worker on a shared Redis
    env = {
        **os.environ,
        "CXLOOP_DATABASE_URL": db_url,
        "CXLOOP_BROKER_URL": REDIS_URL,
        "CXLOOP_CELERY_QUEUE": queue,
        "CXLOOP_DATA_DIR": str(tmp_path / "data"),
    }
    for key in ("CXLOOP_DATABASE_URL", "CXLOOP_BROKER_URL", "CXLOOP_CELERY_QUEUE"):
        monkeypatch.setenv(key, env[key])
    get_settings.cache_clear()

    source = tmp_path / "feedback.csv"
    source.write_text(CSV, encoding="utf-8")
    with Session(engine) as session:
        run = ImportRun(kind="feedback", source=str(source), status="queued")
        session.add(run)
        session.commit()
        run_id = run.id

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "cxloop.cli", "worker", "--concurrency", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        handle = jobs.submit("imports.run", run_id=run_id)
        assert handle.backend == "celery" and not handle.done
        handle.wait(timeout=120)
        deadline = time.monotonic() + 30
        with Session(engine) as session:
            while time.monotonic() < deadline:
                status = session.scalar(select(ImportRun.status).where(ImportRun.id == run_id))
                if status in {"done", "failed"}:
                    break
                time.sleep(0.2)
                session.expire_all()
            finished = session.get(ImportRun, run_id)
            assert finished is not None and finished.status == "done", (tmp_path / "worker.log").read_text()
            assert finished.inserted == 40
            assert session.scalar(select(func.count()).select_from(FeedbackItem)) == 40
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        engine.dispose()
        dispose_engines()


def test_the_worker_wiring_registers_every_scheduled_job() -> None:
    """Importing cxloop.worker (as the worker and the scheduler do) registers every job it schedules."""
    assert worker.JOB_MODULES
    assert set(worker.SCHEDULE) <= set(jobs.registered_jobs())
    assert "imports.run" in jobs.registered_jobs()


def test_jobs_run_in_process_without_a_broker() -> None:
    @jobs.job("tests.echo")
    def echo(*, value: int) -> int:
        return value * 2

    handle = jobs.submit("tests.echo", value=21)
    assert handle.backend == "inprocess" and handle.done and handle.wait() == 42
    with pytest.raises(KeyError, match="unknown job"):
        jobs.submit("tests.nope")
