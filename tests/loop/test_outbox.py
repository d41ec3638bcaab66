"""Kill the sending worker (SIGKILL) between queueing and sending: after a restart every message
reaches a real local SMTP server exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from cxloop import clock
from cxloop.loop.models import Notification

N_MESSAGES = 6


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        text = envelope.content.decode("utf-8", "replace")
        headers = dict(
            line.split(": ", 1) for line in text.split("\r\n\r\n", 1)[0].split("\r\n") if ": " in line
        )
        self.messages.append({"to": envelope.rcpt_tos, "message_id": headers.get("Message-ID")})
        return "250 OK"


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from cxloop.db import session_scope
    from cxloop.loop.notifications import service as notify

    marker = Path(sys.argv[1])
    with session_scope() as s:
        for i in range({n}):
            notify.enqueue(db_session=s, channel="email", event="test", subject=f"msg {{i}}", body="body",
                           recipient=f"user{{i}}@example.com", dedupe_key=f"kill-test:{{i}}")
    # queued and committed; now deliver, but hang (as if the process froze) on the third message
    real = notify.send_email
    sent = []
    def send(message):
        if len(sent) == 2:
            marker.write_text("claimed")
            time.sleep(600)
        real(message)
        sent.append(message.id)
    notify.send_email = send
    notify.deliver_pending()
    """
).format(n=N_MESSAGES)


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` (no fixed sleep: a loaded machine is slower, a fast one need not wait)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_killed_worker_then_restart_delivers_each_message_exactly_once(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        data_dir = tmp_path / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        # a short lease so the restarted worker may take over the claimed message quickly
        (data_dir / "loop.yaml").write_text("outbox:\n  lease_seconds: 2\n", encoding="utf-8")
        env = {
            **os.environ,
            "CXLOOP_DATA_DIR": str(data_dir),
            "CXLOOP_DATABASE_URL": sqlite_url,
            "CXLOOP_SMTP_HOST": "127.0.0.1",
            "CXLOOP_SMTP_PORT": str(port),
        }
        env.pop("CXLOOP_BROKER_URL", None)
        marker = tmp_path / "claimed"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(marker)], env=env)
        try:
            deadline = time.monotonic() + 120
            while not marker.exists():
                assert child.poll() is None, "the worker ended before reaching the third message"
                assert time.monotonic() < deadline, "the worker never reached the third message"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        assert len(inbox.messages) == 2
        engine = create_engine(sqlite_url)
        with Session(engine) as s:
            states = Counter(s.scalars(select(Notification.status)))
        assert states == {"sent": 2, "sending": 1, "pending": N_MESSAGES - 3}
        with Session(engine) as s:
            lease_end = s.scalar(select(Notification.locked_until).where(Notification.status == "sending"))
        assert lease_end is not None
        _wait_until(lambda: clock.now(microseconds=True) > lease_end, "the killed worker's lease ran out")
        cxloop = Path(sys.executable).with_name("cxloop")
        for _ in range(2):  # the restart, then one more run that must find nothing to send
            done = subprocess.run(
                [str(cxloop), "loop", "send"], env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stdout + done.stderr
        # The SMTP server hands the last DATA to its handler on its own thread: wait for it.
        _wait_until(lambda: len(inbox.messages) >= N_MESSAGES, "the SMTP server received every message")
        with Session(engine) as s:
            rows = list(s.scalars(select(Notification).order_by(Notification.id)))
        engine.dispose()
        assert [r.status for r in rows] == ["sent"] * N_MESSAGES
        ids = Counter(m["message_id"] for m in inbox.messages)
        assert len(inbox.messages) == N_MESSAGES, inbox.messages
        assert all(count == 1 for count in ids.values()), ids
        assert sorted(m["to"][0] for m in inbox.messages) == sorted(
            f"user{i}@example.com" for i in range(N_MESSAGES)
        )
        assert rows[2].attempts == 2  # the message the killed worker held was claimed twice, sent once
    finally:
        controller.stop()
