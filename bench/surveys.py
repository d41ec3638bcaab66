"""Benchmark of the public survey endpoint: answer submissions per second on SQLite, none lost or doubled.

Usage: ``.venv/bin/python bench/surveys.py [--answers 3000] [--concurrency 32] [--workers 2]``.

A real uvicorn server (``cxloop.app:create_app``) is started on 127.0.0.1 on a fresh SQLite database
with ``--answers`` invitations of the after-delivery survey. Concurrent httpx clients then post one
answer per link through ``POST /s/<token>`` (every tenth link is posted twice at the same moment, to
prove a link answers once), while another client opens other links' public pages
(``GET /s/<token>``) to measure the page's load time under that load. Afterwards the database is
counted: answered invitations, stored responses and feedback items must equal what was accepted.

Named baseline, same run, same server and clients: ``GET /api/v1/health`` (the HTTP stack without
any survey work), so the figure says what the survey logic itself costs. Goal: >= 300 answers/s.
Writes bench/results/surveys.json.
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

import httpx

RESULTS = Path(__file__).parent / "results" / "surveys.json"
TEXTS = ("快递太慢了，等了一个星期", "包装很好，东西完好无损", "客服态度很好", "质量一般，和描述不太一样")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(parent: int) -> float:
    """CPU seconds (user + system) used so far by the server's worker processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def _seed(count: int) -> list[str]:
    """Customers and invitations written directly (set-up is not what is measured); returns their tokens."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from cxloop.clock import now
    from cxloop.customers.models import Customer
    from cxloop.db import session_scope
    from cxloop.surveys import service
    from cxloop.surveys.models import SurveyInvitation

    at = now()
    with session_scope() as s:
        service.ensure_default_surveys(db_session=s)
        survey = service.get_survey(db_session=s, key="after_delivery")
        assert survey is not None
        s.execute(
            insert(Customer),
            [
                {
                    "external_id": f"bench-{i}",
                    "email": f"b{i}@example.com",
                    "tier": ("new", "returning", "vip")[i % 3],
                }
                for i in range(count)
            ],
        )
        ids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
        nonces = [f"bench{i:012d}" for i in range(count)]
        s.execute(
            insert(SurveyInvitation),
            [
                {
                    "survey_id": survey.id,
                    "nonce": nonce,
                    "customer_id": cid,
                    "trigger": "after_delivery",
                    "channel": "email",
                    "tier": ("new", "returning", "vip")[i % 3],
                    "status": "sent",
                    "sent_at": at,
                    "expires_at": at + timedelta(days=14),
                }
                for i, (nonce, cid) in enumerate(zip(nonces, ids, strict=True))
            ],
        )
        return [service.make_token(survey_key="after_delivery", nonce=n, days=14) for n in nonces]


def _answer(rng: random.Random) -> dict[str, str]:
    csat = rng.choice(["1", "2", "3", "4", "5", "5", "4", "5"])
    form = {"csat": csat}
    if rng.random() < 0.3:
        form["unhappy" if int(csat) <= 3 else "pleased"] = rng.choice(TEXTS)
    return form


async def _submit_all(base: str, tokens: list[str], concurrency: int) -> dict[str, Any]:
    rng = random.Random(3)
    jobs: list[tuple[str, dict[str, str]]] = []
    for i, token in enumerate(tokens):
        form = _answer(rng)
        jobs.append((token, form))
        if i % 10 == 0:
            jobs.append((token, form))  # the same link twice, in flight together
    rng.shuffle(jobs)
    codes: dict[int, int] = {}
    queue: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            token, form = queue.get_nowait()
            response = await client.post(f"/s/{token}", data=form)
            codes[response.status_code] = codes.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"requests": len(jobs), "seconds": seconds, "codes": codes}


async def _page_loads(base: str, tokens: list[str], stop: asyncio.Event) -> list[float]:
    """Open public pages one after another while the submissions run; each load's time in ms."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get(f"/s/{tokens[i % len(tokens)]}")
            if response.status_code == 200:
                times.append((time.perf_counter() - started) * 1000)
            i += 1
            await asyncio.sleep(0.01)
    return times


async def _baseline(base: str, requests: int, concurrency: int) -> float:
    counter = {"left": requests}

    async def worker(client: httpx.AsyncClient) -> None:
        while counter["left"] > 0:
            counter["left"] -= 1
            await client.get("/api/v1/health")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def _run(
    base: str, answer_tokens: list[str], page_tokens: list[str], concurrency: int
) -> dict[str, Any]:
    stop = asyncio.Event()
    loads = asyncio.create_task(_page_loads(base, page_tokens, stop))
    submitted = await _submit_all(base, answer_tokens, concurrency)
    stop.set()
    times = await loads
    baseline = await _baseline(base, len(answer_tokens), concurrency)
    quantiles = statistics.quantiles(times, n=20) if len(times) >= 20 else [max(times or [0.0])] * 19
    return {
        **submitted,
        "page_loads": len(times),
        "page_p50_ms": round(statistics.median(times), 1) if times else None,
        "page_p95_ms": round(quantiles[18], 1),
        "baseline_health_per_s": round(baseline, 1),
    }


def _count(expected: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from cxloop.db import session_scope
    from cxloop.feedback.models import FeedbackItem
    from cxloop.surveys.models import SurveyInvitation, SurveyResponse

    with session_scope() as s:
        return {
            "answered": int(s.scalar(select(func.count()).where(SurveyInvitation.status == "answered")) or 0),
            "responses": int(
                s.scalar(select(func.count()).where(SurveyResponse.invitation_id.is_not(None))) or 0
            ),
            "distinct_answered_responses": int(
                s.scalar(select(func.count(func.distinct(SurveyResponse.invitation_id)))) or 0
            ),
            "feedback_items": int(
                s.scalar(select(func.count()).where(FeedbackItem.external_id.like("survey:cx:%"))) or 0
            ),
            "invitations": expected,
        }


def main() -> None:
    """Run the benchmark and write bench/results/surveys.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--answers", type=int, default=3000, help="links answered (each once; 10%% posted twice)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxloop-bench-surveys-") as tmp:
        env = {
            **os.environ,
            "CXLOOP_DATA_DIR": tmp,
            "CXLOOP_SCHEDULER": "false",
            # One client address sends everything here; the limits are for real customers.
            "CXLOOP_SURVEY_RATE_PER_ADDRESS": "10000000/minute",
            "CXLOOP_SURVEY_RATE_PER_LINK": "10000/minute",
        }
        env.pop("CXLOOP_DATABASE_URL", None)
        env.pop("CXLOOP_BROKER_URL", None)
        os.environ.update({k: env[k] for k in ("CXLOOP_DATA_DIR", "CXLOOP_SCHEDULER")})
        from cxloop.config import get_settings

        get_settings.cache_clear()
        from cxloop.migrate import upgrade

        upgrade()
        pages = max(200, args.answers // 10)
        tokens = _seed(args.answers + pages)
        answer_tokens, page_tokens = tokens[: args.answers], tokens[args.answers :]
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
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            # warm every worker (imports, template compilation) before measuring
            for token in page_tokens[:20]:
                httpx.get(f"{base}/s/{token}", timeout=30)
            cpu_before = _cpu_seconds(server.pid)
            figures = asyncio.run(_run(base, answer_tokens, page_tokens, args.concurrency))
            # Includes the page loads and the baseline run: an upper bound of the CPU one answer costs.
            figures["server_cpu_s"] = round(_cpu_seconds(server.pid) - cpu_before, 1)
        finally:
            server.terminate()
            server.wait(timeout=30)
        counts = _count(args.answers)
    accepted = figures["codes"].get(200, 0)
    per_s = accepted / figures["seconds"]
    lost_or_doubled = not (
        accepted == args.answers == counts["answered"] == counts["distinct_answered_responses"]
        and figures["codes"].get(409, 0) == figures["requests"] - args.answers
    )
    result = {
        "answers": args.answers,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "answers_per_s": round(per_s, 1),
        "goal_answers_per_s": 300,
        **{k: v for k, v in figures.items() if k != "codes"},
        "status_codes": {str(k): v for k, v in sorted(figures["codes"].items())},
        "counts": counts,
        "lost_or_doubled": lost_or_doubled,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(f"{accepted} answers accepted in {figures['seconds']:.1f} s: {per_s:,.0f} answers/s (goal 300/s)")
    print(f"status codes: {result['status_codes']} (409 = the second post of a link, refused)")
    print(f"counted afterwards: {counts}  -> lost or doubled: {'YES' if lost_or_doubled else 'none'}")
    print(
        f"public page under that load: p50 {figures['page_p50_ms']} ms, p95 {figures['page_p95_ms']} ms "
        f"over {figures['page_loads']} loads"
    )
    print(
        f"baseline GET /api/v1/health, same server and clients: {figures['baseline_health_per_s']:,.0f} req/s"
    )
    served = figures["requests"] + figures["page_loads"] + args.answers  # + the baseline's requests
    cpu_ms = 1000 * figures["server_cpu_s"] / max(1, served)
    result["server_cpu_ms_per_request"] = round(cpu_ms, 2)
    print(
        f"server CPU: {figures['server_cpu_s']} s over {served} requests, {cpu_ms:.1f} ms each on average "
        f"(the machine had {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if lost_or_doubled:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
