"""The Celery worker's application, the list of modules that define jobs, and the periodic schedule.

This is wiring at the entry point: ``JOB_MODULES`` imports every module that defines jobs
(``@job`` in ``cxloop.jobs`` registers them), so a worker and the in-process scheduler know them all
at start, and a missing module is an ImportError, never a job that silently does not exist.
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cxloop import pipeline
from cxloop.delivery import jobs as delivery_jobs
from cxloop.feedback import jobs as feedback_jobs
from cxloop.imports import jobs as imports_jobs
from cxloop.jobs import celery_client, registered_jobs
from cxloop.journeys import jobs as journeys_jobs
from cxloop.loop import jobs as loop_jobs
from cxloop.messaging import jobs as messaging_jobs
from cxloop.surveys import jobs as surveys_jobs

if TYPE_CHECKING:
    from celery import Celery

#: Every module that defines jobs; importing this module registers them all.
JOB_MODULES: tuple[ModuleType, ...] = (
    delivery_jobs,
    feedback_jobs,
    imports_jobs,
    journeys_jobs,
    loop_jobs,
    messaging_jobs,
    pipeline,
    surveys_jobs,
)

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
    return _with_tasks(celery_client())


@lru_cache(maxsize=4)
def _with_tasks(app: Celery) -> Celery:
    """``app`` with one task per registered job and the beat schedule (once per app)."""
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
