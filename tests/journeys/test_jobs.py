"""Due timers are processed by the in-process scheduler by default and by a Celery worker when a broker
is set: both run the same job, ``journeys.tick``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from cxloop import jobs
from cxloop.clock import now
from cxloop.config import get_settings
from cxloop.customers.models import Customer
from cxloop.db import Base
from cxloop.journeys import service
from cxloop.journeys.models import JourneyStep
from cxloop.orders.models import Order
from cxloop.scheduler import InProcessScheduler
from tests.conftest import REDIS_URL, require_redis


@pytest.fixture(autouse=True)
def _messaging_env() -> None:
    """These tests run on the real clock (the package conftest's fixed clock is replaced)."""


JOURNEY = "key: soon\ntrigger: {event: order.placed}\nsteps:\n- wait: 1 seconds\n- tag: reminded\n"


def _world(url: str, n: int = 5) -> None:
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        service.load_file(db_session=s, path="soon.yaml", text=JOURNEY)
        for i in range(n):
            c = Customer(external_id=f"J{i}")
            s.add(c)
            s.flush()
            o = Order(external_id=f"JO{i}", customer_id=c.id, placed_at=now(), total_amount=Decimal(1))
            s.add(o)
            s.flush()
            service.emit_event(
                s, kind="order.placed", customer_id=c.id, occurred_at=now(), ref=f"order:{o.id}"
            )
        s.commit()
    engine.dispose()


def _steps(url: str) -> int:
    engine = create_engine(url)
    with Session(engine) as s:
        count = int(s.scalar(select(func.count(JourneyStep.id))) or 0)
    engine.dispose()
    return count


def test_in_process_scheduler_fires_due_timers(sqlite_url: str) -> None:
    _world(sqlite_url)
    import time

    scheduler = InProcessScheduler(schedule={"journeys.tick": 0.5}, tick_s=0.1)
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while _steps(sqlite_url) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.stop()
    assert _steps(sqlite_url) == 5


@pytest.mark.redis
def test_celery_worker_fires_due_timers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_redis()
    url = f"sqlite:///{tmp_path / 'celery.db'}"
    _world(url)
    queue = f"cxloop-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "CXLOOP_DATABASE_URL": url,
        "CXLOOP_BROKER_URL": REDIS_URL,
        "CXLOOP_CELERY_QUEUE": queue,
        "CXLOOP_DATA_DIR": str(tmp_path / "data"),
    }
    for key in ("CXLOOP_DATABASE_URL", "CXLOOP_BROKER_URL", "CXLOOP_CELERY_QUEUE"):
        monkeypatch.setenv(key, env[key])
    get_settings.cache_clear()
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "cxloop.cli", "worker", "--concurrency", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import time

        time.sleep(1.2)  # the one-second waits are due
        handle = jobs.submit("journeys.tick")
        assert handle.backend == "celery"
        assert handle.wait(timeout=120) == {"steps": 5}, (tmp_path / "worker.log").read_text()
        assert _steps(url) == 5
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def test_due_step_timing_is_kept_across_a_restart(sqlite_url: str) -> None:
    """A timer is a row: a process that stops before it is due leaves it for the next one."""
    _world(sqlite_url, n=2)
    assert service.process_due(now=now() - timedelta(minutes=1)) == 0
    assert service.process_due(now=now() + timedelta(seconds=5)) == 2
    assert service.process_due(now=now() + timedelta(seconds=5)) == 0
