"""Kill test: a worker is SIGKILLed while journeys wait and send; after a restart every due step runs
exactly once, and every message reaches the SMS provider (a repeat only for the one in flight, with the
same OutId so the provider can drop it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from cxloop.journeys.models import JourneyRun, JourneyStep, JourneyTimer
from cxloop.messaging.models import CustomerMessage

N = 30

SETUP = textwrap.dedent(
    """
    from datetime import timedelta
    from decimal import Decimal
    from cxloop.customers.models import Customer
    from cxloop.db import session_scope
    from cxloop.journeys import service
    from cxloop.config import business_now as now
    from cxloop.orders.models import Order

    JOURNEY = "key: kill_test\\ntrigger: {event: order.placed}\\nsteps:\\n- wait: 15 minutes\\n- send: unpaid_reminder.new\\n"
    with session_scope() as s:
        service.load_file(db_session=s, path="kill.yaml", text=JOURNEY)
        for i in range(N_CUSTOMERS):
            c = Customer(external_id=f"K{i}", name=f"客户{i}", phone=f"1390000{i:04d}")
            s.add(c)
            s.flush()
            o = Order(external_id=f"KO{i}", customer_id=c.id, placed_at=now(), total_amount=Decimal("50"))
            s.add(o)
            s.flush()
            service.emit_event(s, kind="order.placed", customer_id=c.id, occurred_at=now(), ref=f"order:{o.id}")
    """
).replace("N_CUSTOMERS", str(N))

TICK = textwrap.dedent(
    """
    import sys, time
    from datetime import timedelta
    from pathlib import Path
    from cxloop.journeys import service
    from cxloop.config import business_now as now

    marker = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if marker is not None:
        real = service.messaging.send_to_customer
        calls = []
        def hanging(*args, **kw):
            calls.append(1)
            if len(calls) == 15:  # in the middle of the second batch of 10
                marker.write_text("busy")
                time.sleep(600)
            return real(*args, **kw)
        service.messaging.send_to_customer = hanging
    print(service.process_due(now=now() + timedelta(minutes=20)))
    """
)

# The steps ran 20 minutes ahead of the clock, so the sender looks 25 minutes ahead too.
DELIVER = (
    "from datetime import timedelta\nfrom cxloop.config import business_now as now\n"
    "from cxloop.messaging.service import deliver_pending\n"
    "print(deliver_pending(at=now() + timedelta(minutes=25)).as_dict())\n"
)


def _wait_for(path: Path, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while not path.exists():
        assert child.poll() is None, "the worker ended before the point where it is killed"
        assert time.monotonic() < deadline, "the worker never reached the point where it is killed"
        time.sleep(0.05)


def _kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def test_sigkill_while_waiting_and_sending_then_restart_runs_each_step_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    requests: list[dict[str, str]] = []
    hang = threading.Event()
    in_flight = tmp_path / "in-flight"

    class Provider(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            requests.append(form)
            if len(requests) == 3 and not hang.is_set():
                hang.set()
                in_flight.write_text("x")
                time.sleep(60)  # the worker is killed while it waits for this answer
            body = json.dumps({"Code": "OK", "BizId": form["OutId"]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "CXLOOP_DATABASE_URL": sqlite_url,
        "CXLOOP_DATA_DIR": str(tmp_path / "data"),
        "CXLOOP_JOURNEYS_BATCH_SIZE": "10",
        "CXLOOP_SMS_PROVIDER": "aliyun",
        "CXLOOP_SMS_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}/",
        "CXLOOP_SMS_ACCESS_KEY_ID": "k",
        "CXLOOP_SMS_ACCESS_KEY_SECRET": "s",
        "CXLOOP_MESSAGE_QUIET_START": "00:00",
        "CXLOOP_MESSAGE_QUIET_END": "00:00",
        "CXLOOP_MESSAGE_LEASE_SECONDS": "2",
    }
    env.pop("CXLOOP_BROKER_URL", None)
    try:
        subprocess.run([sys.executable, "-c", SETUP], env=env, check=True, timeout=180)
        engine = create_engine(sqlite_url)
        with Session(engine) as s:
            assert s.scalar(select(func.count(JourneyTimer.id)).where(JourneyTimer.status == "pending")) == N

        # 1. The journey worker is killed in the middle of its second batch of due steps.
        marker = tmp_path / "busy"
        child = subprocess.Popen([sys.executable, "-c", TICK, str(marker)], env=env)
        _wait_for(marker, child)
        _kill(child)
        with Session(engine) as s:
            assert s.scalar(select(func.count(JourneyStep.id))) == 10  # the first batch committed, no more
            assert s.scalar(select(func.count(CustomerMessage.id))) == 10
        # 2. The restart runs every remaining due step, once; a second run finds nothing.
        for _ in range(2):
            subprocess.run([sys.executable, "-c", TICK], env=env, check=True, timeout=180)
        with Session(engine) as s:
            per_run = Counter(s.scalars(select(JourneyStep.run_id)))
            assert len(per_run) == N and set(per_run.values()) == {1}
            assert s.scalar(select(func.count(CustomerMessage.id))) == N
            assert set(s.scalars(select(JourneyRun.status))) == {"done"}

        # 3. The sender is killed while the provider holds the third message.
        child = subprocess.Popen([sys.executable, "-c", DELIVER], env=env)
        _wait_for(in_flight, child)
        _kill(child)
        time.sleep(2.5)  # the killed sender's lease runs out
        for _ in range(2):
            subprocess.run([sys.executable, "-c", DELIVER], env=env, check=True, timeout=180)
        with Session(engine) as s:
            assert Counter(s.scalars(select(CustomerMessage.status))) == {"sent": N}
        out_ids = Counter(r["OutId"] for r in requests)
        assert len(out_ids) == N
        repeated = [k for k, v in out_ids.items() if v > 1]
        assert len(repeated) <= 1 and all(out_ids[k] == 2 for k in repeated)
        engine.dispose()
    finally:
        server.shutdown()
        server.server_close()
