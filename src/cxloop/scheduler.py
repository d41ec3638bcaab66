"""The periodic schedule run inside the web server when no Celery broker is configured.

A single self-hosted process (the default) then still evaluates alert rules, escalates tasks,
sends notifications and catches up on analysis, with the same jobs and intervals Celery beat
would use (``worker.SCHEDULE``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cxloop.jobs import registered_jobs, run_now
from cxloop.worker import SCHEDULE

log = logging.getLogger(__name__)


class InProcessScheduler:
    """Runs each scheduled job at its interval on one background thread, one job at a time."""

    def __init__(
        self,
        schedule: dict[str, float] | None = None,
        tick_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.schedule = dict(SCHEDULE if schedule is None else schedule)
        self.tick_s = tick_s
        self.clock = clock  # seconds; tests pass a fake one to check intervals without waiting
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: dict[str, int] = {}

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cxloop-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop after the job in hand and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def first_due(self) -> dict[str, float]:
        """When each known job first runs: one interval after start, so a restart sends no burst."""
        jobs = registered_jobs()
        return {name: self.clock() + every for name, every in self.schedule.items() if name in jobs}

    def run_due(self, due: dict[str, float]) -> None:
        """Run every job whose time has come, earliest first, and set its next time in ``due``."""
        now = self.clock()
        for name, at in sorted(due.items(), key=lambda item: item[1]):
            if at > now or self._stop.is_set():
                continue
            try:
                run_now(name)
            except Exception:  # one failing job must not stop the schedule; the log says why
                log.exception("scheduled job %s failed", name)
            self.runs[name] = self.runs.get(name, 0) + 1
            # Counted from the end of the run: a slow job never runs back to back.
            due[name] = self.clock() + self.schedule[name]

    def _loop(self) -> None:
        due = self.first_due()
        while not self._stop.is_set():
            self.run_due(due)
            self._stop.wait(self.tick_s)
