"""The demo's truth file (``demo-truth.json``): what the generator and the demo's later steps planted."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cxloop.demo.files import LOAD_ORDER, file_name
from cxloop.demo.shop import Plan

#: The truth file's name in the demo's data folder.
TRUTH_FILE = "demo-truth.json"


def sorted_counts(counter: Mapping[str, int]) -> dict[str, int]:
    """Counts by aspect, most first (ties by name): the order a Pareto lists them in."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def build_truth(
    *,
    seed: int,
    scale: float,
    months: list[str],
    plan: Plan,
    counts: dict[str, int],
    neg_mentions: Mapping[str, Counter[str]],
) -> dict[str, Any]:
    """The truth of one generation: its planted problems, where the Pareto must peak, and the complaints
    written into the texts by month and aspect (what an aspect analyser's monthly Pareto approximates)."""
    return {
        "seed": seed,
        "scale": scale,
        "period": {"start": months[0], "end": months[-1]},
        "problems": [
            {
                "id": "warehouse_picking_slow",
                "warehouse": plan.slow_warehouse,
                "month": plan.slow_month,
                "stage": "picking",
                "aspect": "dispatch_speed",
                "department": "warehouse",
                "indicator": "picking_hours",
            },
            {
                "id": "supplier_quality_defect",
                "supplier": plan.defect_supplier,
                "products": plan.defect_products,
                "from_month": plan.defect_from,
                "aspect": "product_quality",
                "department": "quality",
                "indicator": "negative_share",
            },
            {
                "id": "carrier_damage",
                "carrier": plan.damage_carrier,
                "aspect": "damage_loss",
                "department": "logistics",
                "indicator": "damage_rate",
            },
            {
                "id": "cs_shift_slow",
                "shift": plan.slow_shift,
                "department": "customer_service",
                "aspect": "cs_response",
                "indicator": "cs_first_response_minutes",
            },
        ],
        "pareto": {"month": plan.slow_month, "top_aspect": "dispatch_speed"},
        "counts": counts,
        # What the generator wrote into the texts (own brand, every channel incl. survey comments):
        # the ground truth an aspect analyser's monthly Pareto should approximate.
        "negative_mentions": {month: sorted_counts(counter) for month, counter in neg_mentions.items()},
        "files": {kind: file_name(kind) for kind in LOAD_ORDER},
    }


def write_truth(path: Path, truth: dict[str, Any]) -> None:
    """Write the truth as indented UTF-8 JSON."""
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def add_negative_mentions(data_dir: Path, planted: Mapping[str, Counter[str]]) -> None:
    """Add complaints a later demo step wrote (by month and aspect) to the truth's ``negative_mentions``.

    The truth is what the demo wrote into its texts; texts written after the generator (the survey
    step's answers) are texts too, so the Pareto is held to them as well. Months outside the
    generated period are left out, as the generator leaves them out.
    """
    path = Path(data_dir) / TRUTH_FILE
    if not path.is_file():
        return
    truth = json.loads(path.read_text(encoding="utf-8"))
    mentions: dict[str, dict[str, int]] = truth.setdefault("negative_mentions", {})
    for month, counter in planted.items():
        if month in mentions:
            mentions[month] = sorted_counts(Counter(mentions[month]) + counter)
    write_truth(path, truth)
