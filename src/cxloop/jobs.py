"""One way to run background work: in-process by default, on Celery workers when a broker is set.

A job is a plain function taking keyword arguments that are ids and simple values; it opens its own
database session. ``submit`` runs it at once in this process, or queues it on Celery (Redis) when
``CXLOOP_BROKER_URL`` is set, so callers never care which.

This is core: domains import ``job`` from here, and this module imports no domain. Which modules
define jobs is wiring, listed at the entry point (``cxloop.worker.JOB_MODULES``): a process knows
the jobs whose modules it imported (the worker and the in-process scheduler import them all; a
handler that submits a job imports the module that defines it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from cxloop.config import get_settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_REGISTRY: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[F], F]:
    """Register ``func`` as the background job ``name``."""

    def register(func: F) -> F:
        _REGISTRY[name] = func
        return func

    return register


def registered_jobs() -> dict[str, Callable[..., Any]]:
    """The jobs registered so far in this process, by name."""
    return dict(_REGISTRY)


def celery_client() -> Celery:
    """The Celery app bound to CXLOOP_BROKER_URL: sends jobs and reads their results.

    ``cxloop.worker.celery_app`` adds one task per job and the beat schedule to this same app.
    """
    settings = get_settings()
    if not settings.broker_url:
        raise RuntimeError("CXLOOP_BROKER_URL is not set: jobs run in-process, no Celery worker is needed")
    # Keyed by broker and queue, not cached once: a process whose settings change (tests, a reload)
    # must not keep sending to the queue of the settings it started with.
    return _celery_client(settings.broker_url, settings.celery_queue)


@lru_cache(maxsize=4)
def _celery_client(broker_url: str, queue: str) -> Celery:
    from celery import Celery  # only processes that queue work pay for importing Celery

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
    return app


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
        return celery_client().AsyncResult(self.task_id).get(timeout=timeout)


def run_now(name: str, **kwargs: Any) -> Any:
    """Run the job ``name`` in this process and return its result."""
    func = _REGISTRY.get(name)
    if func is None:
        raise KeyError(f"unknown job {name!r}; known: {sorted(_REGISTRY)}")
    return func(**kwargs)


def submit(name: str, **kwargs: Any) -> JobHandle:
    """Run job ``name`` in the background backend chosen by the settings."""
    if get_settings().broker_url:
        if name not in _REGISTRY:
            raise KeyError(f"unknown job {name!r}")
        async_result = celery_client().send_task(name, kwargs=kwargs)
        log.info("queued job %s as %s", name, async_result.id)
        return JobHandle(name=name, backend="celery", task_id=async_result.id)
    return JobHandle(name=name, backend="inprocess", result=run_now(name, **kwargs))
