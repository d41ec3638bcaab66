"""The demo's data work: load the generated files through the import path, run the post-load steps.

Each step completes its own piece of work; the runner commits after each, so an interrupted demo
keeps what was done (the transaction rule of docs/development.md: the service owns it).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from sqlalchemy.orm import Session

from cxloop.demo.generator import LOAD_ORDER, DemoManifest
from cxloop.imports.service import import_file


@dataclasses.dataclass(frozen=True)
class PostLoadStep:
    """One piece of work done after the demo files are loaded, called as ``fn(db_session=session)``."""

    name: str
    label: str
    fn: Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What one post-load step did and how long it took."""

    name: str
    seconds: float
    result: str = ""


def import_demo_files(
    *, db_session: Session, manifest: DemoManifest, progress: bool = True, console: Console | None = None
) -> dict[str, dict[str, Any]]:
    """Import every generated file in load order; returns each kind's ImportSummary as a dict."""
    console = console or Console(quiet=not progress)
    results: dict[str, dict[str, Any]] = {}
    for kind in LOAD_ORDER:
        path = manifest.files[kind]
        summary = import_file(db_session=db_session, kind=kind, path=path, progress=progress)
        results[kind] = summary.as_dict()
        style = "red" if summary.rejected else "green"
        console.print(
            f"[{style}]✓[/{style}] {kind:<17} {summary.rows_total:>7} rows  "
            f"+{summary.inserted} ~{summary.updated} ✗{summary.rejected}  {summary.elapsed_s:.1f}s"
        )
        if summary.rejected:
            console.print(f"  [red]rejected rows are in {summary.rejects_path}[/red]")
    return results


def run_post_load_steps(
    *, db_session: Session, steps: tuple[PostLoadStep, ...], console: Console | None = None
) -> list[StepResult]:
    """Run each post-load step in order, committing after each."""
    console = console or Console(quiet=True)
    out: list[StepResult] = []
    for step in steps:
        started = time.perf_counter()
        with console.status(f"{step.label} …"):
            result = step.fn(db_session=db_session)
        db_session.commit()
        seconds = time.perf_counter() - started
        console.print(f"[green]✓[/green] {step.label}  {seconds:.1f}s")
        out.append(StepResult(step.name, seconds, _short(result)))
    return out


def _short(result: Any) -> str:
    text = repr(result)
    return text if len(text) <= 200 else text[:197] + "..."
