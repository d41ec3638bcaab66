"""Building the demo: generate the files, load them through the users' import path, then analyse.

The demo deliberately uses :func:`cxloop.imports.service.import_file`, the same function behind
``cxloop import`` and the upload page, so the demo exercises exactly what a shop's own data goes through.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy.orm import Session

# The text stack (scikit-learn, numba) is imported by analyse_pending when it runs, not here.
from cxloop.auth.service import create_demo_users
from cxloop.db import session_factory
from cxloop.delivery.service import train_demo_warning
from cxloop.demo import service
from cxloop.demo.cases import work_demo_cases
from cxloop.demo.chats import record_demo_chat_events
from cxloop.demo.generator import DemoManifest, generate
from cxloop.demo.service import PostLoadStep, StepResult, import_demo_files
from cxloop.demo.surveys import answer_journey_invitations, simulate_survey_answers
from cxloop.feedback.service import analyse_pending
from cxloop.journeys.jobs import run_demo_journeys
from cxloop.loop.jobs import run_loop
from cxloop.metrics.rollup import refresh

__all__ = [
    "POST_LOAD_STEPS",
    "DemoBuild",
    "PostLoadStep",
    "StepResult",
    "build_demo",
    "has_demo",
    "import_demo_files",
    "run_post_load_steps",
]


#: Work done after the files are loaded, in order; each step's work is committed when it is done.
POST_LOAD_STEPS: tuple[PostLoadStep, ...] = (
    PostLoadStep("auth.create_demo_users", "demo accounts / 演示账号", create_demo_users),
    # Before the analysis: survey answers with text are feedback items the next steps analyse and count.
    PostLoadStep("surveys.simulate_answers", "survey answers / 问卷回答", simulate_survey_answers),
    PostLoadStep("feedback.analyse_pending", "text analysis / 文本分析", analyse_pending),
    PostLoadStep("metrics.refresh", "metric rollups / 指标汇总", refresh),
    PostLoadStep("loop.run_loop", "alerts and tasks / 预警与任务", run_loop),
    # After the rules opened their cases and before the journeys (which survey the cases closed in their days).
    PostLoadStep("loop.work_cases", "cases worked and surveyed / 工单处理与回访", work_demo_cases),
    # After the rollups (the late orders' blamed stages) and before the journeys (their delay care).
    PostLoadStep("delivery.train_warning", "late-order early warning / 延误预警模型", train_demo_warning),
    # The chat tool's questions and replies in the replay window (the chat re-ask journey's events).
    PostLoadStep("journeys.demo_chats", "chat questions and replies / 对话追问事件", record_demo_chat_events),
    PostLoadStep("journeys.replay", "customer journeys / 客户旅程", run_demo_journeys),
    # After the replay: its survey journeys invited for the last days; customers answer those too.
    PostLoadStep(
        "surveys.answer_journeys",
        "answers to the journeys' surveys / 旅程问卷回答",
        answer_journey_invitations,
    ),
)


def run_post_load_steps(
    *,
    db_session: Session,
    steps: tuple[PostLoadStep, ...] | None = None,
    console: Console | None = None,
) -> list[StepResult]:
    """Run each post-load step (default: :data:`POST_LOAD_STEPS`) in order, committing after each."""
    steps = POST_LOAD_STEPS if steps is None else steps
    return service.run_post_load_steps(db_session=db_session, steps=steps, console=console)


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
