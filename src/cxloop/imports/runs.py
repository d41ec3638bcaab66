"""Import runs: queued, running, done, failed or stale, their bookkeeping and their listing."""

from __future__ import annotations

import os
import re
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.imports.kinds import (
    KINDS,
)
from cxloop.imports.mapping import MappingError
from cxloop.imports.models import ImportReject, ImportRun
from cxloop.imports.summary import ImportSummary, _now


def _start_run(db_session: Session, kind: str, source: str, run: ImportRun | None) -> ImportRun:
    if run is None:
        run = ImportRun(kind=kind, source=source, status="queued")
        db_session.add(run)
    run.status = "running"
    run.started_at = run.heartbeat_at = _now()
    run.worker = _WORKER
    run.error = None
    db_session.commit()
    return run


#: This process, as recorded on the runs it works on.
_WORKER: Final = f"{socket.gethostname()}:{os.getpid()}"


def _process_gone(worker: str | None) -> bool:
    """Whether ``worker`` ("host:pid") was a process on this host that no longer exists."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def mark_stale_runs(*, db_session: Session, now: datetime | None = None) -> list[int]:
    """Mark as "stale" the running imports whose process is gone or silent too long; their ids.

    A process killed with SIGKILL (or a machine losing power) cannot say it stopped; its run would
    read "running" for ever. Its committed batches stay (see docs/imports.md): re-running the file
    finishes the job.
    """
    now = now or _now()
    limit = now - timedelta(seconds=get_settings().import_stale_after_s)
    stale: list[int] = []
    for run in db_session.scalars(select(ImportRun).where(ImportRun.status == "running")):
        silent_since = run.heartbeat_at or run.started_at
        if run.worker == _WORKER:
            continue  # this very process: alive by definition
        if _process_gone(run.worker) or (silent_since is not None and silent_since < limit):
            run.status = "stale"
            run.finished_at = now
            run.error = (
                f"the import stopped without finishing (process {run.worker or '?'} gone or silent since "
                f"{silent_since}); rows of committed batches are stored, import the file again to finish / "
                f"导入进程已中止（进程 {run.worker or '?'} 不存在或自 {silent_since} 起无响应）；"
                f"已提交批次的数据保留，重新导入该文件即可完成"
            )
            stale.append(run.id)
    if stale:
        db_session.commit()
    return stale


def _fail_run(db_session: Session, run: ImportRun, message: str) -> None:
    db_session.rollback()
    run.status = "failed"
    run.error = message
    run.finished_at = _now()
    db_session.commit()


_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\-]+", re.UNICODE)
#: Longest stored upload name: file systems allow 255 bytes, and Chinese takes 3 bytes a character.
_UPLOAD_NAME_CHARS: Final = 80


def safe_upload_name(filename: str | None) -> str:
    """An uploaded file's name made safe to store: no path, no odd characters, short enough for any disk."""
    name = _UNSAFE_NAME_CHARS.sub("_", Path(filename or "upload").name).strip("._") or "upload"
    if len(name) > _UPLOAD_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        name = (stem if ext else name)[: _UPLOAD_NAME_CHARS - len(ext) - 1].rstrip("._") + (
            f".{ext}" if ext else ""
        )
    return name


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MappingError(
            f"unknown import kind {kind!r} (expected one of {', '.join(KINDS)})",
            f"未知的导入类型 {kind!r}（应为 {'、'.join(KINDS)} 之一）",
        )


def _finish(db_session: Session, run: ImportRun, summary: ImportSummary, started: float) -> ImportSummary:
    run.status = "done"
    run.finished_at = _now()
    run.rows_total = summary.rows_total
    run.inserted = summary.inserted
    run.updated = summary.updated
    run.rejected = summary.rejected
    run.rejects_path = summary.rejects_path
    run.warnings = summary.warnings or None
    db_session.commit()
    summary.elapsed_s = time.perf_counter() - started
    return summary


# ------------------------------------------------------------------------------------- import runs


def list_runs(*, db_session: Session, limit: int = 50, kind: str | None = None) -> list[ImportRun]:
    """The latest import runs, newest first (only of ``kind`` when given)."""
    query = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if kind:
        query = query.where(ImportRun.kind == kind)
    return list(db_session.scalars(query))


def run_errors(*, db_session: Session, run_id: int, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` row errors of import run ``run_id``, in file order."""
    errors: list[dict[str, Any]] = []
    query = select(ImportReject.errors).where(ImportReject.run_id == run_id).order_by(ImportReject.row_number)
    for (row_errors,) in db_session.execute(query):
        errors.extend(row_errors)
        if len(errors) >= limit:
            break
    return errors[:limit]


def queue_run(*, db_session: Session, kind: str, source: str) -> int:
    """Record an uploaded file as a queued import run (committed, so a worker can pick it up); its id."""
    run = ImportRun(kind=kind, source=source, status="queued")
    db_session.add(run)
    db_session.commit()
    return run.id


def get_run(*, db_session: Session, run_id: int, refresh: bool = False) -> ImportRun | None:
    """Import run ``run_id`` (re-read from the database when ``refresh``: a job changed it)."""
    if refresh:
        db_session.expire_all()
    return db_session.get(ImportRun, run_id)
