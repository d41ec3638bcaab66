"""Benchmark of command start-up: how long each ``cxloop`` command takes from exec to exit.

Usage: ``.venv/bin/python bench/startup.py [--runs 5] [--baseline a317a34] [--only help]``.

Every command runs in a fresh subprocess (as cron and scripts run it), ``--runs`` times, alternating
with the same command of the **baseline** commit, which is checked out into a temporary
``git worktree`` and run with the same interpreter (its ``src/`` first on ``PYTHONPATH``). The
figure is the median wall time; the child's CPU time (user + system) is printed beside it because
it depends less on what else the machine is doing. Commands that open the database run against a
fresh data folder per version, migrated once before timing, so they measure a steady-state start.

The default baseline ``a317a34`` is main before the start-up work of issue 10 (every command
imported scikit-learn, scipy and numba). Goal: under 1 s for every command that does not analyse
text. Writes bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "startup.json"
GOAL_S = 1.0

#: (arguments, opens the database). None of them analyses text; ``text``/``demo``/``import`` are
#: measured through ``--help`` only, since running them analyses text by design.
COMMANDS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("--help",), False),
    (("--version",), False),
    (("db", "--help"), False),
    (("text", "--help"), False),
    (("worker", "--help"), False),
    (("serve", "--help"), True),
    (("import", "--help"), True),
    (("demo", "--help"), True),
    (("feedback", "--help"), True),
    (("report", "--help"), True),
    (("loop", "--help"), True),
    (("users", "--help"), True),
    (("db", "status"), False),
    (("users", "list"), True),
    (("rules", "list"), True),
    (("tasks", "list"), True),
    (("cases", "list"), True),
    (("loop", "alerts"), True),
    (("messages", "--help"), True),
    (("messages", "list"), True),
    (("journeys", "--help"), True),
    (("journeys", "list"), True),
    (("surveys", "--help"), True),
    (("surveys", "list"), True),
    (("delivery", "--help"), True),
    (("delivery", "carriers"), True),
)


def _run_once(src: Path, args: tuple[str, ...], data_dir: Path) -> tuple[float, float, int]:
    """Wall seconds, child CPU seconds and the exit status of one ``cxloop`` run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    env["CXLOOP_DATA_DIR"] = str(data_dir)
    for key in ("CXLOOP_DATABASE_URL", "CXLOOP_BROKER_URL"):
        env.pop(key, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cxloop.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
    return wall, cpu, proc.returncode


def _baseline_tree(ref: str, tmp: Path) -> Path:
    """Check ``ref`` out into a temporary worktree (removed at exit) and return its ``src`` folder."""
    where = tmp / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(where), ref],
        check=True,
    )
    return where / "src"


def main() -> None:
    """Measure every command for this tree and the baseline, print a table and write the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per command and version (median)")
    parser.add_argument("--baseline", default="a317a34", help="git ref to compare with ('' to skip)")
    parser.add_argument("--only", default="", help="measure only commands whose words contain this")
    opts = parser.parse_args()

    commands = [(args, db) for args, db in COMMANDS if not opts.only or opts.only in " ".join(args)]
    with tempfile.TemporaryDirectory(prefix="cxloop-startup-") as tmp_name:
        tmp = Path(tmp_name)
        versions: dict[str, Path] = {"current": ROOT / "src"}
        if opts.baseline:
            versions["baseline"] = _baseline_tree(opts.baseline, tmp)
        try:
            data = {name: tmp / f"data-{name}" for name in versions}
            for name, src in versions.items():
                # Create and migrate each version's store once, so timed runs only check the revision.
                _run_once(src, ("db", "upgrade"), data[name])
            rows: list[dict[str, Any]] = []
            print(f"{'command':<22}" + "".join(f"{name + ' s (cpu)':>22}" for name in versions))
            for args, _db in commands:
                samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in versions}
                for _ in range(opts.runs):
                    for name, src in versions.items():  # alternate, so load changes hit both alike
                        samples[name].append(_run_once(src, args, data[name]))
                row: dict[str, Any] = {"command": "cxloop " + " ".join(args)}
                for name, runs in samples.items():
                    row[name] = {
                        "median_s": round(statistics.median(w for w, _, _ in runs), 3),
                        "median_cpu_s": round(statistics.median(c for _, c, _ in runs), 3),
                        "ok": all(rc == 0 for _, _, rc in runs),
                    }
                row["met"] = row["current"]["median_s"] < GOAL_S
                rows.append(row)
                print(
                    f"{row['command'][7:]:<22}"
                    + "".join(
                        f"{row[name]['median_s']:>13.2f} ({row[name]['median_cpu_s']:.2f})"
                        + ("" if row[name]["ok"] else " FAILED")
                        for name in versions
                    )
                )
        finally:
            if "baseline" in versions:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "baseline")],
                    check=False,
                )
    result = {
        "benchmark": "cxloop command start-up (median wall time of a fresh process)",
        "runs": opts.runs,
        "baseline": opts.baseline or None,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "goal_s": GOAL_S,
        "commands": rows,
        "met": all(row["met"] for row in rows),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"load average {result['load_average']}; goal < {GOAL_S} s met: {result['met']}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
