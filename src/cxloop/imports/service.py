"""Importing files and API rows: validate every row, upsert the good ones in batches, keep the rejects.

The pipeline streams rows from a reader, converts each with per-column converters compiled once, and
writes batches of ``settings.import_batch_size`` with Core ``executemany`` (one ``SELECT ... IN`` per
batch splits inserts from updates). Every batch is committed, so a crash keeps what was written and a
re-run finishes the job without duplicates. Rejected rows go to a rejects file in the input's format
and to ``import_rejects``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.imports.importer import _Importer
from cxloop.imports.kinds import KINDS
from cxloop.imports.mapping import Mapping, MappingError, load_mapping
from cxloop.imports.models import ImportRun
from cxloop.imports.plan import _Bad, _Good, compile_plan
from cxloop.imports.readers import ImportRefused, MemoryReader, TableReader, detect_format
from cxloop.imports.runs import (
    _check_kind,
    _fail_run,
    _finish,
    _start_run,
    get_run,
    list_runs,
    mark_stale_runs,
    queue_run,
    run_errors,
    safe_upload_name,
)
from cxloop.imports.summary import ImportSummary, current_locale
from cxloop.pipeline import follow_up_import

# The domain's public face: handlers and other domains import from here; the steps live in
# mapping (mapping files), plan (columns -> fields), importer (convert, check, upsert), runs
# (bookkeeping) and summary (what an import reports).
__all__ = [
    "KINDS",
    "ImportRefused",
    "ImportSummary",
    "Mapping",
    "MappingError",
    "current_locale",
    "get_run",
    "import_file",
    "import_rows",
    "list_runs",
    "load_mapping",
    "mark_stale_runs",
    "queue_run",
    "run_errors",
    "safe_upload_name",
    "store_json",
]


_REJECT_SUFFIX = {"csv": ".csv", "tsv": ".tsv", "xlsx": ".xlsx", "jsonl": ".jsonl"}


_Batch = tuple[list[_Good], list[_Bad], int]


def _batches(importer: _Importer, reader: Iterable[Any], batch_size: int) -> Iterator[_Batch]:
    """Converted rows in batches of about ``batch_size`` (good, bad, rows read)."""
    good: list[_Good] = []
    bad: list[_Bad] = []
    for ok, rejected in importer.convert_rows(reader):
        if ok is not None:
            good.append(ok)
        else:
            assert rejected is not None
            bad.append(rejected)
        if len(good) + len(bad) >= batch_size:
            yield good, bad, len(good) + len(bad)
            good, bad = [], []
    if good or bad:
        yield good, bad, len(good) + len(bad)


@contextmanager
def _bulk_writes(db_session: Session) -> Iterator[None]:
    """On SQLite, checkpoint the WAL rarely during a bulk import, then once at the end.

    SQLite's default checkpoint every 1,000 pages rewrote the same hot index pages again and
    again: a third of a 1M-row import went to commits. 50,000 pages (~200 MB of WAL) halves that.
    """
    if db_session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = db_session.connection()
    conn.exec_driver_sql("PRAGMA wal_autocheckpoint=50000")
    try:
        yield
    finally:
        db_session.commit()
        conn = db_session.connection()
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=1000")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        db_session.commit()


def _run_pipeline(
    db_session: Session,
    kind: str,
    reader: TableReader | MemoryReader,
    mapping: Mapping,
    run: ImportRun,
    summary: ImportSummary,
    rejects_path: Path | None,
    progress: bool,
) -> None:
    plan = compile_plan(kind, reader.headers, mapping)
    importer = _Importer(db_session, plan, run, summary)
    for message, message_zh in getattr(reader, "warnings", ()):
        summary.warnings.append({"message": message, "message_zh": message_zh})
    if rejects_path is not None:
        importer.rejects_spec = (
            rejects_path,
            reader.fmt,
            reader.headers,
            getattr(reader, "delimiter", ","),
            getattr(reader, "preamble", []),
        )
    batches = _batches(importer, reader, get_settings().import_batch_size)
    bar = _progress_bar(reader) if progress else None
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task(f"{kind} ← {Path(summary.source).name}", total=reader.progress_total or None)

    def advance() -> None:
        if bar is not None and task is not None:
            bar.update(task, completed=reader.progress_done())

    try:
        # One thread on purpose: a writer thread was measured slower (15k vs 20k rows/s), since
        # sqlite3 hands the GIL back and forth on every row and the two threads convoy.
        with _bulk_writes(db_session):
            for good, bad, count in batches:
                summary.rows_total += count
                importer.write_batch(good, bad)
                advance()
        if bar is not None and task is not None:
            bar.update(task, completed=reader.progress_total or reader.progress_done())
    finally:
        if bar is not None:
            bar.stop()
        if importer.rejects is not None:
            importer.rejects.close()
            summary.rejects_path = str(importer.rejects.path)
    if summary.rows_total == 0:
        raise ImportRefused("no data rows (the file has only a header)", "没有数据行（文件只有表头）")


def _progress_bar(reader: TableReader | MemoryReader) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns.append(
        DownloadColumn() if reader.fmt in ("csv", "tsv", "jsonl") else TextColumn("{task.completed} rows")
    )
    columns.append(TimeRemainingColumn())
    console = Console(stderr=True)
    if not console.is_terminal:
        return None  # a bar in a log file (cron, CI, a pipe) is only noise and blank lines
    return Progress(*columns, transient=True, console=console)


@contextmanager
def _failing_marks(db_session: Session, run: ImportRun) -> Iterator[None]:
    """Whatever stops the import marks its run failed, with the reason, and goes on up."""
    try:
        yield
    except ImportRefused as exc:
        _fail_run(db_session, run, exc.message)
        raise
    except BaseException as exc:
        _fail_run(db_session, run, f"{type(exc).__name__}: {exc}")
        raise


def import_file(
    *,
    db_session: Session,
    kind: str,
    path: Path,
    mapping: Mapping | None = None,
    fmt: str | None = None,
    progress: bool = False,
    run: ImportRun | None = None,
) -> ImportSummary:
    """Import one file of ``kind``; raises ImportRefused when the whole file cannot be taken."""
    started = time.perf_counter()
    _check_kind(kind)
    path = Path(path)
    mapping = mapping or Mapping()
    # Files only: JSON events arrive one at a time, too often to scan the runs each time.
    mark_stale_runs(db_session=db_session)
    run = _start_run(db_session, kind, str(path), run)
    summary = ImportSummary(run_id=run.id, kind=kind, source=str(path))
    reader: TableReader | None = None
    with _failing_marks(db_session, run):
        try:
            file_format = detect_format(path, fmt or mapping.format)
            reader = TableReader(
                path,
                file_format,
                encoding=mapping.encoding,
                skip_rows=mapping.skip_rows,
                sheet=mapping.sheet,
                delimiter=mapping.delimiter,
            )
            rejects_dir = get_settings().data_dir / "rejects"
            rejects_path = rejects_dir / f"{path.stem}-rejects-{run.id}{_REJECT_SUFFIX[file_format]}"
            _run_pipeline(db_session, kind, reader, mapping, run, summary, rejects_path, progress)
        finally:
            if reader is not None:
                reader.close()
    return _finish(db_session, run, summary, started)


def import_rows(
    *, db_session: Session, kind: str, rows: Iterable[dict[str, Any]], source: str = "api"
) -> ImportSummary:
    """Import rows given as dicts (field name -> value) through the same checks as a file."""
    started = time.perf_counter()
    _check_kind(kind)
    run = _start_run(db_session, kind, source, None)
    summary = ImportSummary(run_id=run.id, kind=kind, source=source)
    with _failing_marks(db_session, run):
        _run_pipeline(db_session, kind, MemoryReader(rows), Mapping(), run, summary, None, False)
    return _finish(db_session, run, summary, started)


def store_json(*, db_session: Session, kind: str, rows: list[dict[str, Any]]) -> ImportSummary:
    """Store rows sent to the API (feedback, events): import them, then mark the indicators stale.

    JSON events arrive one at a time, too often to run the pipeline for each: the scheduled
    ``pipeline.after_data`` job catches up from the stale mark.
    """
    summary = import_rows(db_session=db_session, kind=kind, rows=rows)
    follow_up_import(db_session=db_session, summary=summary, defer=True)
    return summary
