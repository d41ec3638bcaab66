"""The demo's truth file (``demo-truth.json``): what the generator and the demo's later steps planted."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The truth file's name in the demo's data folder.
TRUTH_FILE = "demo-truth.json"


def sorted_counts(counter: Mapping[str, int]) -> dict[str, int]:
    """Counts by aspect, most first (ties by name): the order a Pareto lists them in."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


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
