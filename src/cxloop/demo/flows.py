"""Building the demo: generate the files, load them through the users' import path, then analyse.

The demo deliberately uses :func:`cxloop.imports.service.import_file`, the same function behind
``cxloop import`` and the upload page, so the demo exercises exactly what a shop's own data goes through.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy.orm import Session

from cxloop.db import session_factory
from cxloop.demo.generator import LOAD_ORDER, DemoManifest, generate


def _create_demo_users(*, db_session: Session) -> Any:
    from cxloop.auth.service import create_demo_users

    return create_demo_users(db_session=db_session)


def _survey_answers(*, db_session: Session) -> Any:
    from cxloop.demo.surveys import simulate_survey_answers

    return simulate_survey_answers(db_session=db_session)


def _journey_survey_answers(*, db_session: Session) -> Any:
    from cxloop.demo.surveys import answer_journey_invitations

    return answer_journey_invitations(db_session=db_session)


def _analyse(*, db_session: Session) -> Any:
    # Imported when the step runs: the text stack (scikit-learn, numba) is slow to import.
    from cxloop.feedback.service import analyse_pending

    return analyse_pending(db_session=db_session)


def _refresh_rollups(*, db_session: Session) -> Any:
    from cxloop.metrics.rollup import refresh

    return refresh(db_session=db_session)


def _run_loop(*, db_session: Session) -> Any:
    from cxloop.loop.jobs import run_loop

    return run_loop(db_session=db_session)


def _train_warning(*, db_session: Session) -> Any:
    from cxloop.delivery.service import train_demo_warning

    return train_demo_warning(db_session=db_session)


def _run_journeys(*, db_session: Session) -> Any:
    from cxloop.journeys.jobs import run_demo_journeys

    return run_demo_journeys(db_session=db_session)


@dataclasses.dataclass(frozen=True)
class PostLoadStep:
    """One piece of work done after the demo files are loaded, called as ``fn(db_session=session)``."""

    name: str
    label: str
    fn: Callable[..., Any]


#: Work done after the files are loaded, in order; each step commits when it is done.
POST_LOAD_STEPS: tuple[PostLoadStep, ...] = (
    PostLoadStep("auth.create_demo_users", "demo accounts / 演示账号", _create_demo_users),
    # Before the analysis: survey answers with text are feedback items the next steps analyse and count.
    PostLoadStep("surveys.simulate_answers", "survey answers / 问卷回答", _survey_answers),
    PostLoadStep("feedback.analyse_pending", "text analysis / 文本分析", _analyse),
    PostLoadStep("metrics.refresh", "metric rollups / 指标汇总", _refresh_rollups),
    PostLoadStep("loop.run_loop", "alerts and tasks / 预警与任务", _run_loop),
    # After the rollups (the late orders' blamed stages) and before the journeys (their delay care).
    PostLoadStep("delivery.train_warning", "late-order early warning / 延误预警模型", _train_warning),
    PostLoadStep("journeys.replay", "customer journeys / 客户旅程", _run_journeys),
    # After the replay: its survey journeys invited for the last days; customers answer those too.
    PostLoadStep(
        "surveys.answer_journeys", "answers to the journeys' surveys / 旅程问卷回答", _journey_survey_answers
    ),
)


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
    from cxloop.imports.service import import_file

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
    *,
    db_session: Session,
    steps: tuple[PostLoadStep, ...] | None = None,
    console: Console | None = None,
) -> list[StepResult]:
    """Run each post-load step in order, committing after each."""
    console = console or Console(quiet=True)
    steps = POST_LOAD_STEPS if steps is None else steps
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


@dataclasses.dataclass(frozen=True)
class DemoBuild(DemoManifest):
    """A manifest plus what loading it did: import summaries, post-load steps and timings."""

    imports: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    steps: list[StepResult] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


def build_demo(
    *,
    data_dir: Path,
    seed: int = 42,
    scale: float = 1.0,
    end_month: str = "2026-10",
    months: int = 6,
    progress: bool = True,
    console: Console | None = None,
    steps: tuple[PostLoadStep, ...] | None = None,
) -> DemoBuild:
    """Generate the demo shop into ``data_dir``, import it into the configured database and analyse it.

    The database is the one the settings name (``CXLOOP_DATABASE_URL``, else ``cxloop.db`` in
    ``CXLOOP_DATA_DIR``); callers choose it before calling. ``steps`` replaces :data:`POST_LOAD_STEPS`.
    """
    from cxloop.migrate import upgrade

    console = console or Console(quiet=not progress)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with console.status("generating the demo shop / 生成演示数据 …"):
        manifest = generate(
            data_dir=Path(data_dir), seed=seed, end_month=end_month, months=months, scale=scale
        )
    timings["generate"] = time.perf_counter() - started
    console.print(
        f"[green]✓[/green] generated {manifest.counts['orders']} orders, {manifest.counts['feedback']} feedback "
        f"items in {timings['generate']:.1f}s → {manifest.demo_dir}"
    )

    started = time.perf_counter()
    upgrade()  # an empty database gets its schema; an existing one is brought up to date
    timings["migrate"] = time.perf_counter() - started

    session = session_factory()()
    try:
        started = time.perf_counter()
        imports = import_demo_files(db_session=session, manifest=manifest, progress=progress, console=console)
        timings["import"] = time.perf_counter() - started
        started = time.perf_counter()
        steps_done = run_post_load_steps(db_session=session, steps=steps, console=console)
        timings["post_load"] = time.perf_counter() - started
    finally:
        session.close()
    fields = {f.name: getattr(manifest, f.name) for f in dataclasses.fields(manifest)}
    return DemoBuild(**fields, imports=imports, steps=steps_done, timings=timings)


def has_demo(data_dir: Path) -> bool:
    """Whether ``data_dir`` already holds a generated demo (its truth file is written last)."""
    return (Path(data_dir) / "demo-truth.json").is_file()
