"""Benchmark of the public survey endpoint: answer submissions per second on SQLite, none lost or doubled.

Usage: ``.venv/bin/python bench/surveys.py [--answers 3000] [--concurrency 32] [--workers 2] [--baseline REF]``.

For this tree and for a baseline commit (``--baseline``, default ``main``; ``--baseline none`` skips it)
the same run does: a fresh SQLite database with ``--answers`` invitations of the after-delivery survey
(seeded by that tree's own code, in a subprocess), a real uvicorn server of that tree
(``cxloop.app:create_app``, ``--workers`` processes, one per core as docs/surveys.md says), then concurrent
keep-alive connections post one answer per link through ``POST /s/<token>`` (every tenth link twice at
the same moment, to prove a link answers once) while one more connection opens other links' public
pages (``GET /s/<token>``) to time the page under that load. Afterwards the database is counted:
answered invitations and distinct answered responses must equal the accepted answers. For this tree,
the answers' follow-up job (``surveys.follow_up``: recovery cases) then runs once and must leave no
answer pending and open exactly one case per low score.

The load generator is a small asyncio HTTP/1.1 client (no httpx: on a 2-core machine the client's own
CPU would be the limit); its CPU is reported apart from the server's. The server's CPU is read from
/proc for its worker processes. Goal: >= 300 answers/s. Writes bench/results/surveys.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "surveys.json"
TEXTS = ("快递太慢了，等了一个星期", "包装很好，东西完好无损", "客服态度很好", "质量一般，和描述不太一样")

#: Run in a subprocess with the measured tree on PYTHONPATH, so each tree seeds with its own schema.
SEED = """
import json, sys
from datetime import timedelta
from sqlalchemy import insert, select
from cxloop.clock import now
from cxloop.customers.models import Customer
from cxloop.db import session_scope
from cxloop.migrate import upgrade
from cxloop.surveys import service
from cxloop.surveys.models import SurveyInvitation
count, out = int(sys.argv[1]), sys.argv[2]
upgrade()
at = now()
tiers = ("new", "returning", "vip")
with session_scope() as s:
    service.ensure_default_surveys(db_session=s)
    survey = service.get_survey(db_session=s, key="after_delivery")
    s.execute(insert(Customer), [
        {"external_id": f"bench-{i}", "email": f"b{i}@example.com", "tier": tiers[i % 3]} for i in range(count)
    ])
    ids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
    nonces = [f"bench{i:012d}" for i in range(count)]
    s.execute(insert(SurveyInvitation), [
        {"survey_id": survey.id, "nonce": n, "customer_id": c, "trigger": "after_delivery", "channel": "email",
         "tier": tiers[i % 3], "status": "sent", "sent_at": at, "expires_at": at + timedelta(days=14)}
        for i, (n, c) in enumerate(zip(nonces, ids))
    ])
tokens = [service.make_token(survey_key="after_delivery", nonce=n, days=14) for n in nonces]
open(out, "w").write(json.dumps(tokens))
"""

#: Counts afterwards (same subprocess arrangement); for this tree also runs the follow-up job once.
COUNT = """
import json, sys
from sqlalchemy import func, select
from cxloop.db import session_scope
from cxloop.feedback.models import FeedbackItem
from cxloop.surveys.models import SurveyInvitation
try:
    from cxloop.feedback.models import SurveyResponse
except ImportError:  # a baseline from before answers moved to feedback
    from cxloop.surveys.models import SurveyResponse
follow_up = sys.argv[1] == "1"
out = {}
if follow_up:
    import time
    from cxloop import worker  # the job wiring a serving process imports
    from cxloop.jobs import run_now
    from cxloop.loop.models import Case
    cpu = time.process_time()
    out["follow_up"] = run_now("surveys.follow_up")
    out["follow_up_cpu_s"] = round(time.process_time() - cpu, 2)
with session_scope() as s:
    inv, resp = SurveyInvitation, SurveyResponse
    out["answered"] = s.scalar(select(func.count()).where(inv.status == "answered"))
    out["responses"] = s.scalar(select(func.count()).where(resp.invitation_id.is_not(None)))
    out["distinct_answered_responses"] = s.scalar(select(func.count(func.distinct(resp.invitation_id))))
    out["feedback_items"] = s.scalar(select(func.count()).where(FeedbackItem.external_id.like("survey:cx:%")))
    if follow_up:
        out["pending_follow_ups"] = s.scalar(select(func.count()).where(inv.follow_up_pending.is_(True)))
        out["low_scores"] = s.scalar(select(func.count()).where(resp.kind == "csat", resp.score <= 2))
        out["recovery_cases"] = s.scalar(select(func.count()).where(Case.source == "survey"))
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(parent: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent or stat.parent.name == str(parent):  # the worker or the server itself
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough client for this benchmark (and cheap in CPU)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        """Send one request and read the whole response; returns its status code."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: zh-CN\r\n"
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        if b"connection: close" in header.lower():
            self.writer.close()
            self.writer = None
        return status

    def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()


def _answer(rng: random.Random) -> dict[str, str]:
    csat = rng.choice(["1", "2", "3", "4", "5", "5", "4", "5"])
    form = {"csat": csat}
    if rng.random() < 0.3:
        form["unhappy" if int(csat) <= 3 else "pleased"] = rng.choice(TEXTS)
    return form


async def _load(port: int, tokens: list[str], pages: list[str], concurrency: int) -> dict[str, Any]:
    rng = random.Random(3)
    jobs: list[tuple[str, bytes]] = []
    for i, token in enumerate(tokens):
        body = urlencode(_answer(rng)).encode()
        jobs.append((token, body))
        if i % 10 == 0:
            jobs.append((token, body))  # the same link twice, in flight together
    rng.shuffle(jobs)
    codes: dict[int, int] = {}
    stop = asyncio.Event()
    times: list[float] = []

    async def poster() -> None:
        conn = Connection(port)
        while jobs:
            token, body = jobs.pop()
            status = await conn.request("POST", f"/s/{token}", body)
            codes[status] = codes.get(status, 0) + 1
        conn.close()

    async def reader() -> None:
        conn = Connection(port)
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            status = await conn.request("GET", f"/s/{pages[i % len(pages)]}")
            if status == 200:
                times.append((time.perf_counter() - started) * 1000)
            i += 1
            await asyncio.sleep(0.01)
        conn.close()

    requests = len(jobs)
    loads = asyncio.create_task(reader())
    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(poster() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - cpu
    stop.set()
    await loads
    quantiles = statistics.quantiles(times, n=20) if len(times) >= 20 else [max(times or [0.0])] * 19
    return {
        "requests": requests,
        "seconds": seconds,
        "codes": codes,
        "client_cpu_s": round(client_cpu, 2),
        "page_loads": len(times),
        "page_p50_ms": round(statistics.median(times), 1) if times else None,
        "page_p95_ms": round(quantiles[18], 1),
    }


def _measure(src: Path, args: argparse.Namespace, *, follow_up: bool) -> dict[str, Any]:
    """Seed, serve and load the tree whose package is under ``src``; counts afterwards."""
    with tempfile.TemporaryDirectory(prefix="cxloop-bench-surveys-") as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "CXLOOP_DATA_DIR": tmp,
            "CXLOOP_SCHEDULER": "false",  # the follow-up job runs afterwards, counted on its own
            # One client address sends everything here; the limits are for real customers.
            "CXLOOP_SURVEY_RATE_PER_ADDRESS": "10000000/minute",
            "CXLOOP_SURVEY_RATE_PER_LINK": "10000/minute",
        }
        for name in ("CXLOOP_DATABASE_URL", "CXLOOP_BROKER_URL"):
            env.pop(name, None)
        pages = max(200, args.answers // 10)
        tokens_file = Path(tmp) / "tokens.json"
        subprocess.run(
            [sys.executable, "-c", SEED, str(args.answers + pages), str(tokens_file)], env=env, check=True
        )
        tokens = json.loads(tokens_file.read_text())
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "cxloop.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        try:
            deadline = time.monotonic() + 240
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)

            async def warm() -> None:  # every worker: imports, templates compiled
                conns = [Connection(port) for _ in range(args.workers * 4)]
                for i, conn in enumerate(conns):
                    await conn.request("GET", f"/s/{tokens[-1 - i]}")
                    conn.close()

            asyncio.run(warm())
            cpu_before = _cpu_seconds(server.pid)
            load_before = os.getloadavg()[0]
            figures = asyncio.run(
                _load(port, tokens[: args.answers], tokens[args.answers :], args.concurrency)
            )
            figures["server_cpu_s"] = round(_cpu_seconds(server.pid) - cpu_before, 2)
            figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        finally:
            server.terminate()
            server.wait(timeout=30)
        counted = subprocess.run(
            [sys.executable, "-c", COUNT, "1" if follow_up else "0"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        figures["counts"] = json.loads(counted.stdout.strip().splitlines()[-1])
    accepted = figures["codes"].get(200, 0)
    counts = figures["counts"]
    figures["answers_per_s"] = round(accepted / figures["seconds"], 1)
    served = figures["requests"] + figures["page_loads"]
    figures["server_cpu_ms_per_request"] = round(1000 * figures["server_cpu_s"] / max(1, served), 2)
    figures["client_cpu_ms_per_request"] = round(
        1000 * figures["client_cpu_s"] / max(1, figures["requests"]), 2
    )
    figures["lost_or_doubled"] = not (
        accepted == args.answers == counts["answered"] == counts["distinct_answered_responses"]
        and figures["codes"].get(409, 0) == figures["requests"] - args.answers
        and counts.get("pending_follow_ups", 0) == 0
        and counts.get("recovery_cases", 0) == counts.get("low_scores", 0)
    )
    return figures


def _baseline_tree(ref: str, where: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref],
        check=True,
        capture_output=True,
    )
    return where / "src"


def _print(name: str, f: dict[str, Any]) -> None:
    print(
        f"{name}: {f['codes'].get(200, 0)} answers in {f['seconds']:.1f} s = {f['answers_per_s']:,.0f} answers/s"
        f" (goal 300/s); status codes {dict(sorted(f['codes'].items()))}"
    )
    print(
        f"  public page under that load: p50 {f['page_p50_ms']} ms, p95 {f['page_p95_ms']} ms"
        f" over {f['page_loads']} loads"
    )
    print(
        f"  server CPU {f['server_cpu_s']} s = {f['server_cpu_ms_per_request']} ms per request;"
        f" load generator CPU {f['client_cpu_s']} s = {f['client_cpu_ms_per_request']} ms per request;"
        f" load average {f['load_average'][0]} -> {f['load_average'][1]}"
    )
    print(
        f"  counted afterwards: {f['counts']} -> lost or doubled: {'YES' if f['lost_or_doubled'] else 'none'}"
    )
    if "follow_up_cpu_s" in f["counts"]:
        answers = max(1, f["codes"].get(200, 0))
        print(
            f"  follow-up job afterwards (recovery cases, stale mark): {f['counts']['follow_up_cpu_s']} s CPU ="
            f" {1000 * f['counts']['follow_up_cpu_s'] / answers:.2f} ms per answer (in the baseline it ran"
            " inside each request)"
        )


def main() -> None:
    """Run the benchmark for this tree and the baseline, print both and write bench/results/surveys.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--answers", type=int, default=3000, help="links answered (each once; 10%% posted twice)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--baseline", default="main", help="git ref to compare with in the same run, or 'none'"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {
        "answers": args.answers,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "goal_answers_per_s": 300,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    result["this_tree"] = mine = _measure(ROOT / "src", args, follow_up=True)
    _print("this tree", mine)
    if args.baseline != "none":
        with tempfile.TemporaryDirectory(prefix="cxloop-bench-baseline-") as tmp:
            where = Path(tmp) / "tree"
            try:
                src = _baseline_tree(args.baseline, where)
                result["baseline"] = base = _measure(src, args, follow_up=False)
                result["baseline_ref"] = args.baseline
            finally:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], capture_output=True
                )
        _print(f"baseline {args.baseline}", base)
        print(
            f"this tree vs baseline: {mine['answers_per_s'] / max(base['answers_per_s'], 0.1):.1f}x answers/s, "
            f"server CPU per request {mine['server_cpu_ms_per_request']} vs {base['server_cpu_ms_per_request']} ms"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if mine["lost_or_doubled"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
