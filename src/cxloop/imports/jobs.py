"""The background job behind the upload endpoint: import a saved upload for a queued ImportRun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cxloop.db import session_scope
from cxloop.imports.models import ImportRun
from cxloop.imports.readers import ImportRefused
from cxloop.imports.service import import_file, load_mapping
from cxloop.jobs import job
from cxloop.pipeline import follow_up_import

#: Files the upload endpoint writes next to the uploaded file (the run row has no column for them).
MAPPING_NAME = "mapping.yaml"
OPTIONS_NAME = "options.json"


@job("imports.run")
def run_import(*, run_id: int) -> None:
    """Import the upload of ImportRun ``run_id``; the run row records the outcome (done or failed)."""
    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        if run is None:
            raise LookupError(f"no import run {run_id}")
        if run.status == "done":
            return  # a redelivered task must not import twice (it would only update, but costs time)
        upload = Path(run.source)
        options: dict[str, Any] = {}
        options_path = upload.parent / OPTIONS_NAME
        if options_path.exists():
            options = json.loads(options_path.read_text(encoding="utf-8"))
        mapping_path = upload.parent / MAPPING_NAME
        try:
            mapping = load_mapping(mapping_path) if mapping_path.exists() else None
            summary = import_file(
                db_session=session,
                kind=run.kind,
                path=upload,
                mapping=mapping,
                fmt=options.get("format"),
                run=run,
            )
        except ImportRefused as exc:
            # import_file has marked the run failed with the English message; keep both languages.
            run.status = "failed"
            run.error = f"{exc.message} / {exc.message_zh}"
            return
        follow_up_import(db_session=session, summary=summary)
