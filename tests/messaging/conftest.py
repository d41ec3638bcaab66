"""Fixtures of the messaging tests: local provider servers that check what they receive."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Recorder:
    """A local HTTP server that records requests and answers with ``reply(request) -> (status, json)``."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    reply: Any = None


@pytest.fixture
def http_server() -> Iterator[Recorder]:
    """A fresh local HTTP server on a free port."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
            recorder.requests.append(request)
            status, payload = recorder.reply(request) if recorder.reply else (200, {"ok": True})
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
