"""The Celery application: every registered job becomes a task; the periodic schedule lives here."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

from cxloop.config import get_settings
from cxloop.jobs import registered_jobs

#: The whole periodic schedule in one place (job name -> seconds between runs).
SCHEDULE: dict[str, float] = {
    "loop.evaluate": 15 * 60.0,
    "loop.tick": 60.0,
    "pipeline.after_data": 5 * 60.0,
    "messaging.deliver": 30.0,
    "journeys.tick": 10.0,
    "journeys.capture": 60.0,
    "journeys.calendar": 3600.0,
    "journeys.delivery_care": 15 * 60.0,
    "surveys.follow_up": 10.0,
}


def celery_app() -> Celery:
    """The Celery app bound to CXLOOP_BROKER_URL, with one task per registered job."""
    settings = get_settings()
    if not settings.broker_url:
        raise RuntimeError("CXLOOP_BROKER_URL is not set: jobs run in-process, no Celery worker is needed")
    # Keyed by broker and queue, not cached once: a process whose settings change (tests, a reload)
    # must not keep sending to the queue of the settings it started with.
    return _celery_app(settings.broker_url, settings.celery_queue)


@lru_cache(maxsize=4)
def _celery_app(broker_url: str, queue: str) -> Celery:
    app = Celery("cxloop", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_acks_late=True,  # a worker killed mid-job gets the job redelivered; jobs are idempotent
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        task_default_queue=queue,
    )
    jobs = registered_jobs()
    for name, func in jobs.items():
        app.task(name=name)(_task_body(func))
    app.conf.beat_schedule = {
        name: {"task": name, "schedule": every} for name, every in SCHEDULE.items() if name in jobs
    }
    return app


def _task_body(func: Any) -> Any:
    # A fresh wrapper per job: Celery names tasks by the given name, the body just forwards kwargs.
    def body(**kwargs: Any) -> Any:
        return func(**kwargs)

    body.__name__ = func.__name__
    body.__doc__ = func.__doc__
    return body


def __getattr__(name: str) -> Any:
    # `celery -A cxloop.worker worker` looks for a module attribute named `app` / `celery`.
    if name in {"app", "celery"}:
        return celery_app()
    raise AttributeError(name)
