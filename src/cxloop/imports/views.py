"""JSON API of imports: file uploads, runs and their rejects, and JSON feedback and events.

The router has no prefix and no auth of its own: the application mounts it under /api/v1 with the
router-level auth dependency.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from cxloop.auth.policy import allow
from cxloop.config import get_settings
from cxloop.deps import SessionDep
from cxloop.imports import service
from cxloop.imports.jobs import MAPPING_NAME, OPTIONS_NAME
from cxloop.imports.kinds import KINDS
from cxloop.imports.readers import ImportRefused
from cxloop.imports.schemas import (
    CustomerEventIn,
    FeedbackIn,
    ImportRunOut,
    ImportSummaryOut,
    OrderEventIn,
)
from cxloop.imports.service import ImportSummary, load_mapping, safe_upload_name
from cxloop.jobs import submit

#: Imports change the shop's data and their rejects hold customers' rows: see cxloop.auth.policy.
router = APIRouter(tags=["imports"])
ImportReader = allow("imports", "read")
ImportWriter = allow("imports", "write")

#: The rejects file comes in the upload's own format, with an ``error`` column.
REJECTS_CONTENT: dict[str, Any] = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in (
        "text/csv",
        "text/tab-separated-values",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/jsonl",
    )
}

_CHUNK = 1 << 20
_MAX_ERRORS = 100


def _rejects_url(run_id: int | None, rejects_path: str | None) -> str | None:
    return f"/api/v1/import/runs/{run_id}/rejects" if run_id is not None and rejects_path else None


def _summary_out(summary: ImportSummary) -> dict[str, Any]:
    data = summary.as_dict()
    data["errors"] = data["errors"][:_MAX_ERRORS]
    data["rejects_url"] = _rejects_url(summary.run_id, summary.rejects_path)
    data["status"] = "done"
    data.pop("rejects_path", None)  # a server path means nothing to the client; the URL serves it
    return data


def _refused(exc: ImportRefused) -> HTTPException:
    return HTTPException(422, detail={"message": exc.message, "message_zh": exc.message_zh})


async def _save(upload: UploadFile, target: Path) -> None:
    with target.open("wb") as handle:
        while chunk := await upload.read(_CHUNK):
            handle.write(chunk)


@router.post(
    "/import/{kind}",
    dependencies=[ImportWriter],
    response_model=ImportSummaryOut,
    responses={202: {"model": ImportSummaryOut, "description": "Queued on the workers"}, 404: {}, 422: {}},
)
async def upload_import(
    kind: str,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV, TSV, XLSX or JSONL file")],
    mapping: Annotated[UploadFile | None, File(description="optional YAML mapping")] = None,
    format: Annotated[str | None, Form(description="csv, tsv, xlsx or jsonl (default: by extension)")] = None,
) -> Any:
    """Import an uploaded file of ``kind``; returns the summary, or 202 with the run id when queued."""
    if kind not in KINDS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"unknown import kind {kind!r}; known: {', '.join(KINDS)}"
        )
    folder = get_settings().data_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_upload_name(file.filename)
    target = folder / name
    await _save(file, target)
    if mapping is not None and mapping.filename:
        await _save(mapping, folder / MAPPING_NAME)
        try:
            load_mapping(folder / MAPPING_NAME)  # refuse a broken mapping now, not in the worker
        except ImportRefused as exc:
            raise _refused(exc) from exc
    if format:
        (folder / OPTIONS_NAME).write_text(json.dumps({"format": format}), encoding="utf-8")
    run_id = service.queue_run(db_session=session, kind=kind, source=str(target))

    # Without a broker the import runs in this process: on a worker thread, so that a large
    # upload does not hold up every other request on the event loop while it runs.
    handle = await run_in_threadpool(submit, "imports.run", run_id=run_id)
    if not handle.done:
        return JSONResponse(
            status_code=status.HTTP_202_ACCEPTED,
            content={"run_id": run_id, "kind": kind, "source": name, "status": "queued"},
        )
    return _run_summary(session, run_id, refresh=True)


def _run_summary(session: SessionDep, run_id: int, refresh: bool = False) -> Any:
    run = service.get_run(db_session=session, run_id=run_id, refresh=refresh)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no import run {run_id}")
    if run.status == "failed":
        raise HTTPException(422, detail={"run_id": run.id, "message": run.error or "failed"})
    errors = service.run_errors(db_session=session, run_id=run_id, limit=_MAX_ERRORS)
    return {
        "run_id": run.id,
        "kind": run.kind,
        "source": Path(run.source).name,
        "status": run.status,
        "rows_total": run.rows_total,
        "inserted": run.inserted,
        "updated": run.updated,
        "rejected": run.rejected,
        "errors": errors,
        "rejects_url": _rejects_url(run.id, run.rejects_path),
        "warnings": run.warnings or [],
        "elapsed_s": (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at
        else None,
    }


@router.get("/import/runs", response_model=list[ImportRunOut], dependencies=[ImportReader])
def list_runs(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    kind: str | None = None,
) -> Any:
    """The latest import runs, newest first."""
    service.mark_stale_runs(db_session=session)
    runs = service.list_runs(db_session=session, limit=limit, kind=kind)
    out = []
    for run in runs:
        item = ImportRunOut.model_validate(run)
        item.rejects_url = _rejects_url(run.id, run.rejects_path)
        item.source = Path(run.source).name if run.source != "api" else run.source
        out.append(item)
    return out


@router.get("/import/runs/{run_id}", response_model=ImportSummaryOut, dependencies=[ImportReader])
def get_run(run_id: int, session: SessionDep) -> Any:
    """One run with its counts and its first errors."""
    service.mark_stale_runs(db_session=session)
    run = service.get_run(db_session=session, run_id=run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no import run {run_id}")
    if run.status in ("queued", "running"):
        return {"run_id": run.id, "kind": run.kind, "source": Path(run.source).name, "status": run.status}
    if run.status in ("failed", "stale"):
        return {
            "run_id": run.id,
            "kind": run.kind,
            "source": Path(run.source).name,
            "status": run.status,
            "errors": [],
            "message": run.error,
        }
    return _run_summary(session, run_id)


@router.get(
    "/import/runs/{run_id}/rejects",
    response_class=FileResponse,
    dependencies=[ImportReader],
    responses={200: {"description": "The rejects file", "content": REJECTS_CONTENT}},
)
def download_rejects(run_id: int, session: SessionDep) -> FileResponse:
    """The rejects file of a run (same format as the upload, with an ``error`` column)."""
    run = service.get_run(db_session=session, run_id=run_id)
    if run is None or not run.rejects_path or not Path(run.rejects_path).exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"run {run_id} has no rejects file")
    path = Path(run.rejects_path)
    return FileResponse(path, filename=path.name)


def import_json(session: SessionDep, kind: str, items: list[Any]) -> Any:
    """Store JSON rows sent to the API and answer the summary (422 when nothing was stored)."""
    try:
        summary = service.store_json(db_session=session, kind=kind, rows=[item.as_row() for item in items])
    except ImportRefused as exc:
        raise _refused(exc) from exc
    data = _summary_out(summary)
    if summary.rejected and not (summary.inserted or summary.updated):
        # Nothing was stored: the request as a whole failed, like a type error would.
        return JSONResponse(status_code=422, content={"detail": data["errors"], **data})
    return data


@router.post("/feedback", response_model=ImportSummaryOut, dependencies=[ImportWriter], tags=["feedback"])
def post_feedback(session: SessionDep, body: Annotated[FeedbackIn | list[FeedbackIn], Body()]) -> Any:
    """Store one feedback item or a list; re-sending an id updates it instead of adding one."""
    return import_json(session, "feedback", body if isinstance(body, list) else [body])


@router.post("/events/order", response_model=ImportSummaryOut, dependencies=[ImportWriter])
def post_order_events(session: SessionDep, body: Annotated[OrderEventIn | list[OrderEventIn], Body()]) -> Any:
    """Store order timeline events (idempotent on order + kind + time) and update their orders."""
    return import_json(session, "order_events", body if isinstance(body, list) else [body])


@router.post("/events/customer", response_model=ImportSummaryOut, dependencies=[ImportWriter])
def post_customer_events(
    session: SessionDep, body: Annotated[CustomerEventIn | list[CustomerEventIn], Body()]
) -> Any:
    """Store browse and cart events (idempotent on id)."""
    return import_json(session, "customer_events", body if isinstance(body, list) else [body])
