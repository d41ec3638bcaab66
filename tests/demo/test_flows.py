"""Loading the demo through the import path, the post-load steps and the ``cxloop demo`` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cxloop.db import get_engine
from cxloop.demo import flows
from cxloop.demo.flows import PostLoadStep, build_demo, import_demo_files, run_post_load_steps
from cxloop.demo.generator import generate
from cxloop.feedback.models import FeedbackItem
from cxloop.orders.models import Order
from cxloop.org.models import Department, Person


def test_generated_files_import_with_no_rejected_rows(sqlite_url: str, tmp_path: Path) -> None:
    manifest = generate(data_dir=tmp_path / "gen", seed=11, scale=0.1)
    with Session(get_engine(sqlite_url)) as session:
        results = import_demo_files(db_session=session, manifest=manifest, progress=False)
        assert list(results) == list(manifest.files)
        for kind, summary in results.items():
            assert summary["rejected"] == 0, (kind, summary["errors"][:3])
            assert summary["rows_total"] == manifest.counts[kind], kind
        assert session.scalar(select(func.count()).select_from(Order)) == manifest.counts["orders"]
        assert (session.scalar(select(func.count()).select_from(FeedbackItem)) or 0) >= manifest.counts[
            "feedback"
        ]
        # Heads named before the people file was loaded end up as the real people.
        head = session.scalar(
            select(Person)
            .join(Department, Department.head_id == Person.id)
            .where(Department.code == "warehouse")
        )
        assert head is not None and head.is_head and head.name != head.external_id
        linked = session.scalar(
            select(func.count()).select_from(FeedbackItem).where(FeedbackItem.order_ref.is_not(None))
        )
        unlinked = session.scalar(
            select(func.count())
            .select_from(FeedbackItem)
            .where(FeedbackItem.order_ref.is_not(None), FeedbackItem.order_id.is_(None))
        )
        assert linked and unlinked == 0


def test_post_load_steps_run_in_order(sqlite_url: str) -> None:
    calls: list[Session] = []

    def step(*, db_session: Session) -> int:
        calls.append(db_session)
        return 3

    with Session(get_engine(sqlite_url)) as session:
        results = run_post_load_steps(db_session=session, steps=(PostLoadStep("test.step", "t", step),))
    assert calls and results[0].name == "test.step" and results[0].result == "3"


def test_build_demo_creates_the_schema_and_loads_everything(tmp_path: Path) -> None:
    # conftest points CXLOOP_DATA_DIR at tmp_path/data, so the database is a fresh SQLite file there.
    data_dir = tmp_path / "data"
    result = build_demo(data_dir=data_dir, seed=5, scale=0.03, progress=False, steps=())
    assert (data_dir / "cxloop.db").is_file()
    assert (data_dir / "demo-truth.json").is_file()
    assert all(summary["rejected"] == 0 for summary in result.imports.values())
    assert set(result.timings) == {"generate", "migrate", "import", "post_load"}
    assert flows.has_demo(data_dir)


def test_demo_command_builds_without_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from cxloop.demo.cli import demo_command

    monkeypatch.setattr(flows, "POST_LOAD_STEPS", ())  # the command's own logic is under test here
    app = typer.Typer()
    app.command("demo")(demo_command)
    app.command("noop")(lambda: None)  # two commands keep "demo" a sub-command, as in cxloop's CLI
    runner = CliRunner()
    target = tmp_path / "cli-demo"
    args = ["demo", "--no-serve", "--scale", "0.02", "--seed", "9", "--data-dir", str(target)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (target / "cxloop.db").is_file() and (target / "demo" / "orders.csv").is_file()
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "--force" in again.output
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "demo ready" in forced.output
