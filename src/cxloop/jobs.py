"""One way to run background work: in-process by default, on Celery workers when a broker is set.

A job is a plain function taking keyword arguments that are ids and simple values; it opens its own
database session. ``submit`` runs it at once in this process, or queues it on Celery (Redis) when
``CXLOOP_BROKER_URL`` is set, so callers never care which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cxloop.config import get_settings

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_REGISTRY: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[F], F]:
    """Register ``func`` as the background job ``name``."""

    def register(func: F) -> F:
        _REGISTRY[name] = func
        return func

    return register


def load_job_modules() -> None:
    """Import every module that defines jobs, so that workers know them all at start."""
    # Imported here, not at the top: these modules import ``job`` from this one.
    import cxloop.delivery.jobs
    import cxloop.feedback.jobs
    import cxloop.imports.jobs
    import cxloop.journeys.jobs
    import cxloop.loop.jobs
    import cxloop.messaging.jobs
    import cxloop.pipeline
    import cxloop.surveys.jobs  # noqa: F401


def registered_jobs() -> dict[str, Callable[..., Any]]:
    """The registered jobs by name."""
    load_job_modules()
    return dict(_REGISTRY)


@dataclass
class JobHandle:
    """What ``submit`` returns: the job's result when it ran in-process, a task id when queued."""

    name: str
    backend: str
    result: Any = None
    task_id: str | None = None

    @property
    def done(self) -> bool:
        """Whether the job has already finished (always true in-process)."""
        return self.backend == "inprocess"

    def wait(self, timeout: float = 600.0) -> Any:
        """Block until the job finished and return its result."""
        if self.backend == "inprocess":
            return self.result
        from cxloop.worker import celery_app

        return celery_app().AsyncResult(self.task_id).get(timeout=timeout)


def run_now(name: str, **kwargs: Any) -> Any:
    """Run the job ``name`` in this process and return its result."""
    func = registered_jobs().get(name)
    if func is None:
        raise KeyError(f"unknown job {name!r}; known: {sorted(_REGISTRY)}")
    return func(**kwargs)


def submit(name: str, **kwargs: Any) -> JobHandle:
    """Run job ``name`` in the background backend chosen by the settings."""
    if get_settings().broker_url:
        from cxloop.worker import celery_app

        if name not in registered_jobs():
            raise KeyError(f"unknown job {name!r}")
        async_result = celery_app().send_task(name, kwargs=kwargs)
        log.info("queued job %s as %s", name, async_result.id)
        return JobHandle(name=name, backend="celery", task_id=async_result.id)
    return JobHandle(name=name, backend="inprocess", result=run_now(name, **kwargs))
