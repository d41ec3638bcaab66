"""Generates the demo shop as import files (no database): master data, orders, events, feedback, surveys.

The steps live in their own modules and share one :class:`~cxloop.demo.world.World`: master data and
customers (:mod:`~cxloop.demo.master`), orders and their timelines (:mod:`~cxloop.demo.orders`),
feedback (:mod:`~cxloop.demo.voices`, with :mod:`~cxloop.demo.contacts` and :mod:`~cxloop.demo.reviews`),
survey answers (:mod:`~cxloop.demo.answers`) and browse events (:mod:`~cxloop.demo.events`); the files
and the truth are written by :mod:`~cxloop.demo.files` and :mod:`~cxloop.demo.truth`.

Determinism: every random draw comes from ``random.Random`` instances seeded from ``seed`` and a part
name, and the period is given by parameters, so the same arguments write byte-identical files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxloop.demo.answers import survey_rows
from cxloop.demo.events import browse_events
from cxloop.demo.files import COLUMNS, LOAD_ORDER, file_name, write_csv, write_jsonl
from cxloop.demo.master import build_customers, build_master, customer_rows
from cxloop.demo.orders import order_rows, simulate_orders
from cxloop.demo.seasons import month_range
from cxloop.demo.truth import TRUTH_FILE, build_truth, write_truth
from cxloop.demo.voices import write_feedback
from cxloop.demo.world import World

__all__ = ["COLUMNS", "LOAD_ORDER", "DemoManifest", "file_digest", "file_name", "generate", "month_range"]


@dataclass(frozen=True)
class DemoManifest:
    """What a generation wrote: the folder, one file per import kind (load order), truth and row counts."""

    data_dir: Path
    demo_dir: Path
    truth_path: Path
    files: dict[str, Path]
    counts: dict[str, int]
    seed: int
    period: tuple[str, str]
    truth: dict[str, Any] = field(repr=False, default_factory=dict)


def generate(
    *, data_dir: Path, seed: int = 42, end_month: str = "2026-10", months: int = 6, scale: float = 1.0
) -> DemoManifest:
    """Write the demo shop's import files to ``data_dir/demo`` and its truth to ``data_dir/demo-truth.json``."""
    if not scale > 0:
        raise ValueError("scale must be positive")
    month_list = month_range(end_month, months)
    world = World(seed=seed, months=month_list, scale=scale)
    # In this order: each step draws from its own stream but reads what the steps before it built.
    build_master(world)
    build_customers(world)
    simulate_orders(world)
    write_feedback(world)
    survey_rows(world)
    browse_events(world)
    order_rows(world)
    customer_rows(world)

    data_dir = Path(data_dir)
    demo_dir = data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    counts: dict[str, int] = {}
    for kind in LOAD_ORDER:
        path = demo_dir / file_name(kind)
        write = write_jsonl if kind == "feedback" else write_csv
        write(path, COLUMNS[kind], world.rows[kind])
        files[kind] = path
        counts[kind] = len(world.rows[kind])

    truth = build_truth(
        seed=seed,
        scale=scale,
        months=month_list,
        plan=world.plan,
        counts=counts,
        neg_mentions=world.neg_mentions,
    )
    truth_path = data_dir / TRUTH_FILE
    write_truth(truth_path, truth)
    return DemoManifest(
        data_dir=data_dir,
        demo_dir=demo_dir,
        truth_path=truth_path,
        files=files,
        counts=counts,
        seed=seed,
        period=(month_list[0], month_list[-1]),
        truth=truth,
    )


def file_digest(paths: Iterable[Path]) -> str:
    """One SHA-256 over the files' names and bytes (the determinism check)."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
